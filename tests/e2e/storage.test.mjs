// Where refresh tokens are kept, in the real window: Settings explains both modes, the switch to
// the sealed store asks first, moves the connection's tokens out of the keychain (secret-tool
// finds none) and shows what moved; the connection still refreshes; and back. Screenshot in
// docs/screenshots/settings-storage.png (and artifacts/storage-*.png).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startApp, byTestId, waitForText } from './harness.mjs';
import { startIdp, cli, cliConnect, fixtures } from './idp.mjs';

const ROOT = resolve(import.meta.dirname, '../..');

function inKeychain(account) {
  try {
    return execFileSync('secret-tool', ['lookup', 'service', 'mailconn', 'username', account]).toString().trim() !== '';
  } catch {
    return false;
  }
}

test('switching to the sealed store in Settings keeps the connection refreshing', async (t) => {
  const idp = await startIdp();
  t.after(() => idp.stop());
  const dataDir = join(mkdtempSync(join(tmpdir(), 'mailconn-e2e-')), 'data');
  cli(dataDir, ['app', 'add', '--name', 'Contoso desktop', '--client-id', fixtures.clients.public.client_id,
    '--tenant', 'common', '--authority-url', idp.base, '--graph-url', 'http://127.0.0.1:9', '--public',
    '--preset', 'read']);
  const connection = await cliConnect(dataDir, 'Contoso desktop', 'alice@contoso.test');
  assert.equal(connection.state, 'active');
  assert.ok(inKeychain(`refresh-token/${connection.id}`));

  const app = await startApp({ name: 'storage', dataDir });
  const { browser } = app;
  try {
    await (await byTestId(browser, 'nav-settings')).click();
    const card = await byTestId(browser, 'storage-card');
    await waitForText(card, /One keychain item per token.*Sealed in the database.*Chrome and VS Code/);
    assert.equal(await (await byTestId(browser, 'storage-mode')).getAttribute('data-mode'), 'keychain');

    await (await byTestId(browser, 'storage-switch')).click();
    await waitForText(await byTestId(browser, 'storage-confirm'), /Move every refresh and access token/);
    await (await byTestId(browser, 'storage-confirm-yes')).click();
    await waitForText(await byTestId(browser, 'storage-result', 30000), /now sealed in the database; moved 1 refresh token/);
    await browser.waitUntil(async () => (await (await byTestId(browser, 'storage-mode')).getAttribute('data-mode')) === 'sealed', {
      timeout: 10000, timeoutMsg: 'the mode never showed sealed',
    });
    assert.ok(!inKeychain(`refresh-token/${connection.id}`), 'the token left the keychain');
    await card.scrollIntoView();
    const shot = await app.screenshot('settings-storage');
    mkdirSync(join(ROOT, 'docs/screenshots'), { recursive: true });
    copyFileSync(shot, join(ROOT, 'docs/screenshots/settings-storage.png'));

    // The connection still refreshes, from the sealed store.
    const before = (await idp.log()).filter((e) => e.endpoint === 'token' && e.grant_type === 'refresh_token').length;
    await (await byTestId(browser, 'nav-connections')).click();
    await (await byTestId(browser, 'refresh-all')).click();
    await waitForText(await byTestId(browser, 'refresh-all-result'), /Refreshed 1 connection\./);
    const row = await byTestId(browser, 'connection-row');
    assert.equal(await row.getAttribute('data-state'), 'active');
    const after = (await idp.log()).filter((e) => e.endpoint === 'token' && e.grant_type === 'refresh_token').length;
    assert.ok(after > before, 'a refresh reached the identity provider');
    assert.ok(!inKeychain(`refresh-token/${connection.id}`), 'the rotated token is sealed too');

    // And back to one keychain item per token.
    await (await byTestId(browser, 'nav-settings')).click();
    await (await byTestId(browser, 'storage-switch')).click();
    await (await byTestId(browser, 'storage-confirm-yes')).click();
    await waitForText(await byTestId(browser, 'storage-result', 30000), /now kept as keychain items; moved 1 refresh token/);
    assert.ok(inKeychain(`refresh-token/${connection.id}`));
  } finally {
    await app.stop();
  }
});
