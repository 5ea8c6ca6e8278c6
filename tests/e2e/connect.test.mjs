// Connecting mailboxes in the real app: the waiting panel with the sign-in link, the browser leg
// completed by an HTTP client, the connected result, and a declined consent explained.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp, byTestId, waitForText, textOf } from './harness.mjs';
import { startIdp, browse, cli, fixtures } from './idp.mjs';

async function signIn(app, loginHint) {
  const { browser } = app;
  await (await byTestId(browser, 'connect-open')).click();
  await byTestId(browser, 'connect-dialog');
  const hint = await byTestId(browser, 'connect-login-hint');
  await hint.clearValue();
  await hint.setValue(loginHint);
  await (await byTestId(browser, 'connect-signin')).click();
  await byTestId(browser, 'signin-waiting', 15000);
  const field = await byTestId(browser, 'signin-url');
  const url = await browser.execute((e) => e.value ?? e.querySelector('input')?.value, field);
  assert.match(url, /\/oauth2\/v2\.0\/authorize\?/);
  return url;
}

test('connect a mailbox by signing in, and see a declined consent explained', async (t) => {
  const idp = await startIdp();
  t.after(() => idp.stop());
  const dataDir = join(mkdtempSync(join(tmpdir(), 'mailconn-e2e-')), 'data');
  cli(dataDir, ['app', 'add', '--name', 'Desktop app', '--client-id', fixtures.clients.public.client_id,
    '--tenant', 'common', '--authority-url', idp.base, '--graph-url', 'http://127.0.0.1:9', '--public', '--preset', 'read']);
  const app = await startApp({ name: 'connect', dataDir });
  const { browser } = app;
  try {
    await (await byTestId(browser, 'nav-connections')).click();

    const url = await signIn(app, 'alice@contoso.test');
    assert.match(url, /code_challenge_method=S256/);
    await app.screenshot('waiting');
    const page = await browse(url);
    assert.equal(page.status, 200, page.body);
    assert.match(page.body, /You can close this tab/);

    const result = await byTestId(browser, 'connect-result', 20000);
    const text = await waitForText(result, /alice@contoso\.test/);
    assert.match(text, /Work/i);
    assert.equal(await result.getAttribute('data-created'), 'true');
    await app.screenshot('connected');
    await (await byTestId(browser, 'result-done')).click();

    const declined = await signIn(app, 'decline@contoso.test');
    await browse(declined);
    const error = await byTestId(browser, 'connect-error', 20000);
    assert.equal(await error.getAttribute('data-aadsts'), '65004');
    assert.match(await textOf(error), /declined/);
    assert.match(await textOf(error), /Trace ID[\s\S]*Correlation ID/i, 'support IDs are shown');
    await app.screenshot('declined');
    const tokenRequests = (await idp.log()).filter((e) => e.endpoint === 'token');
    assert.equal(tokenRequests.length, 1, 'the declined sign-in made no token request');

    const list = JSON.parse(cli(dataDir, ['--json', 'list']));
    assert.equal(list.length, 1);
    assert.equal(list[0].address, 'alice@contoso.test');
    assert.doesNotMatch(app.logs(), /refresh_token=|"refresh_token":"[^[]/, 'no refresh token in the log');
  } finally {
    await app.stop();
  }
});

test('a confidential app, the same account twice, and a device-code sign-in', async (t) => {
  const idp = await startIdp({ IDP_DEVICE_INTERVAL: '1' });
  t.after(() => idp.stop());
  const dataDir = join(mkdtempSync(join(tmpdir(), 'mailconn-e2e-')), 'data');
  cli(dataDir, ['app', 'add', '--name', 'Web app', '--client-id', fixtures.clients.web.client_id,
    '--tenant', 'common', '--authority-url', idp.base, '--graph-url', 'http://127.0.0.1:9',
    '--secret-stdin', '--secret-expires', '2099-01-01', '--preset', 'full'], fixtures.clients.web.secrets[0].value);
  cli(dataDir, ['app', 'add', '--name', 'Desktop app', '--client-id', fixtures.clients.public.client_id,
    '--tenant', 'common', '--authority-url', idp.base, '--graph-url', 'http://127.0.0.1:9', '--public']);
  const app = await startApp({ name: 'connect-more', dataDir });
  const { browser } = app;
  const chooseApp = async (name) => (await byTestId(browser, 'connect-registration')).selectByVisibleText(name);
  try {
    await (await byTestId(browser, 'nav-connections')).click();
    for (const expectCreated of ['true', 'false']) {
      await (await byTestId(browser, 'connect-open')).click();
      await chooseApp('Web app');
      const url = await signInFromDialog(browser, 'bob@contoso.test');
      assert.equal((await browse(url)).status, 200);
      const result = await byTestId(browser, 'connect-result', 20000);
      await waitForText(result, /bob@contoso\.test/);
      assert.equal(await result.getAttribute('data-created'), expectCreated);
      if (expectCreated === 'false') await byTestId(browser, 'result-updated');
      await (await byTestId(browser, 'result-done')).click();
    }
    const secretSent = (await idp.log()).filter((e) => e.endpoint === 'token' && e.grant_type === 'authorization_code');
    assert.ok(secretSent.length === 2 && secretSent.every((e) => e.secret_hint === 'Wq1'), 'the confidential app sent its secret');

    await (await byTestId(browser, 'connect-open')).click();
    await chooseApp('Desktop app');
    await (await byTestId(browser, 'connect-device')).click();
    const code = await waitForText(await byTestId(browser, 'device-user-code', 15000), /\S/);
    await app.screenshot('device-code');
    const approve = await fetch(`${idp.base}/devicelogin?user_code=${encodeURIComponent(code)}&login_hint=erin%40fabrikam.test`);
    assert.equal(approve.status, 200);
    const result = await byTestId(browser, 'connect-result', 30000);
    await waitForText(result, /erin@fabrikam\.test/);
    await (await byTestId(browser, 'result-done')).click();

    // One request at a time: tauri-driver serves a single connection.
    const addresses = await browser.execute(() =>
      [...document.querySelectorAll('[data-testid="connection-row"]')].map((r) => r.getAttribute('data-address')));
    assert.deepEqual(addresses.sort(), ['bob@contoso.test', 'erin@fabrikam.test']);
    await app.screenshot('list');
  } finally {
    await app.stop();
  }
});

async function signInFromDialog(browser, loginHint) {
  const hint = await byTestId(browser, 'connect-login-hint');
  await hint.clearValue();
  await hint.setValue(loginHint);
  await (await byTestId(browser, 'connect-signin')).click();
  await byTestId(browser, 'signin-waiting', 15000);
  return browser.execute((e) => e.value, await byTestId(browser, 'signin-url'));
}
