// The app starts, shows the empty dashboard, and the status bar tells the truth about the data
// directory and the keychain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, byTestId, waitForText, textOf } from './harness.mjs';

test('empty dashboard with a healthy keychain', async () => {
  const app = await startApp({ name: 'foundation' });
  try {
    const { browser } = app;
    const setup = await byTestId(browser, 'setup-app');
    assert.match(await textOf(setup), /Set up a Microsoft app/);

    const keychain = await byTestId(browser, 'status-keychain');
    await waitForText(keychain, /Keychain: ready/);
    assert.equal(await keychain.getAttribute('data-status'), 'ok');
    const dataDir = await byTestId(browser, 'status-data-dir');
    assert.equal(await waitForText(dataDir, /\S/), app.dataDir);

    await app.screenshot('dashboard');

    for (const [nav, marker] of [['nav-apps', 'apps-empty'], ['nav-settings', 'doctor-checks'], ['nav-connections', 'setup-app']]) {
      await (await byTestId(browser, nav)).click();
      await byTestId(browser, marker);
      if (nav === 'nav-settings') {
        await waitForText(await byTestId(browser, 'check-keychain'), /stored and read/);
        await app.screenshot('settings');
      }
    }
    await (await byTestId(browser, 'setup-app')).click();
    await byTestId(browser, 'apps-empty');
  } finally {
    await app.stop();
  }
});

test('no Secret Service: the status bar says the keychain is not available', async () => {
  const app = await startApp({
    name: 'no-keychain',
    env: { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' },
  });
  try {
    const keychain = await byTestId(app.browser, 'status-keychain');
    await waitForText(keychain, /Keychain: not available/);
    assert.equal(await keychain.getAttribute('data-status'), 'failed');
    await app.screenshot('keychain-missing');
  } finally {
    await app.stop();
  }
});
