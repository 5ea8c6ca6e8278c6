// The deep-link redirect: a public app registered with mailconn://auth. The browser hands the
// redirect to a second launch of the app, which forwards it to the running one (single instance).
// Forged links are ignored; the real one completes the sign-in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APP, startApp, byTestId, waitForText } from './harness.mjs';
import { startIdp, browseToScheme, cli, fixtures } from './idp.mjs';

test('a mailconn:// redirect reaches the running app; forged ones are ignored', async (t) => {
  const idp = await startIdp();
  t.after(() => idp.stop());
  const dataDir = join(mkdtempSync(join(tmpdir(), 'mailconn-e2e-')), 'data');
  cli(dataDir, ['app', 'add', '--name', 'Deep link app', '--client-id', fixtures.clients.public.client_id,
    '--tenant', 'common', '--authority-url', idp.base, '--graph-url', 'http://127.0.0.1:9', '--public',
    '--redirect-uri', 'mailconn://auth', '--preset', 'read']);
  const app = await startApp({ name: 'deeplink', dataDir });
  const { browser } = app;
  // A second launch with the same session forwards its argument to the running app and exits.
  const open = (link) => {
    const r = spawnSync(APP, [link], {
      env: { ...process.env, DISPLAY: app.display, HOME: app.home, MAILCONN_DATA_DIR: dataDir },
      timeout: 20000,
    });
    assert.equal(r.status, 0, `second launch failed: ${r.stderr}`);
  };
  try {
    await (await byTestId(browser, 'nav-connections')).click();
    await (await byTestId(browser, 'connect-open')).click();
    const hint = await byTestId(browser, 'connect-login-hint');
    await hint.setValue('carol@outlook.test');
    await (await byTestId(browser, 'connect-signin')).click();
    await byTestId(browser, 'signin-waiting', 15000);
    const field = await byTestId(browser, 'signin-url');
    const url = await browser.execute((e) => e.value, field);
    assert.equal(new URL(url).searchParams.get('redirect_uri'), 'mailconn://auth');

    const redirect = await browseToScheme(url);
    assert.match(redirect, /^mailconn:\/\/auth\?code=/);

    open('mailconn://auth?code=forged&state=not-the-state');
    open('mailconn://evil?code=forged');
    await browser.pause(1500);
    await byTestId(browser, 'signin-waiting');
    assert.match(app.logs(), /ignored a mailconn:\/\/ link/);

    open(redirect);
    const result = await byTestId(browser, 'connect-result', 20000);
    await waitForText(result, /carol@outlook\.test/);
    await app.screenshot('connected-by-deep-link');
    const tokens = (await idp.log()).filter((e) => e.endpoint === 'token');
    assert.equal(tokens.length, 1, 'only the real redirect was redeemed');
  } finally {
    await app.stop();
  }
});
