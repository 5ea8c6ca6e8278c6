// The Settings page in the real window: a new refresh margin is saved and applies (the CLI, a
// separate process over the same data directory, reads it back; an out-of-range one is refused
// with its range), a notification kind is turned off, registrations are exported to a file and
// imported from it after a preview, and a mailconn://import link delivered by the desktop (a
// second launch) is shown in full and added only when confirmed. Screenshots in
// docs/screenshots/settings-page.png and import-link-confirm.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { APP, startApp, byTestId, textOf, waitForText } from './harness.mjs';
import { cli } from './idp.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const CLIENT = '0d3b2f3a-1c2b-4c5d-9e8f-123456789abc';
const OTHER_CLIENT = '11111111-2222-4333-8444-555555555555';

function keep(shot, name) {
  mkdirSync(join(ROOT, 'docs/screenshots'), { recursive: true });
  copyFileSync(shot, join(ROOT, 'docs/screenshots', name));
}

/** Types into an input and fires `change` as leaving the field does. */
async function typeAndLeave(browser, el, value) {
  await browser.execute((e, v) => {
    e.value = v;
    e.dispatchEvent(new Event('input', { bubbles: true }));
    e.dispatchEvent(new Event('change', { bubbles: true }));
  }, el, value);
}

test('settings apply at once, registrations travel without secrets, an import link asks first', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'mailconn-e2e-'));
  const dataDir = join(work, 'data');
  const settingGet = (key) => cli(dataDir, ['settings', 'get', key]).trim();
  cli(dataDir, ['app', 'add', '--name', 'Team desktop', '--client-id', CLIENT, '--tenant', 'common',
    '--public', '--preset', 'mail-programs']);
  // The admin's installation, where the link comes from.
  const adminDir = join(work, 'admin');
  cli(adminDir, ['app', 'add', '--name', 'Contoso shared', '--client-id', OTHER_CLIENT, '--tenant',
    '72f988bf-86f1-41af-91ab-2d7cd011db47', '--public', '--audience', 'my-org', '--preset', 'read']);
  const link = cli(adminDir, ['app', 'import-link', 'Contoso shared']).trim();
  assert.match(link, /^mailconn:\/\/import\?v=1&name=Contoso\+shared&/);

  const app = await startApp({ name: 'settings', dataDir });
  const { browser } = app;
  t.after(() => app.stop());
  const open = (url) => {
    const r = spawnSync(APP, [url], {
      env: { ...process.env, DISPLAY: app.display, HOME: app.home, MAILCONN_DATA_DIR: dataDir },
      timeout: 20000,
    });
    assert.equal(r.status, 0, `second launch failed: ${r.stderr}`);
  };

  await (await byTestId(browser, 'nav-settings')).click();
  const margin = await byTestId(browser, 'setting-refresh-margin-input');
  assert.equal(await margin.getValue(), '5');
  // MAILCONN_LOG is set for the tests: the log level shows who sets it, read-only.
  await waitForText(await byTestId(browser, 'setting-log-level-env'), /Set by MAILCONN_LOG/);

  // Out of range: refused with the range, nothing saved.
  await typeAndLeave(browser, margin, '45');
  await waitForText(await byTestId(browser, 'setting-refresh-margin-error'),
    /Refresh margin of 45 minutes is too long: the longest is 30 minutes\..*from 1 minute to 30 minutes/);
  assert.equal(settingGet('refresh-margin'), '5m');

  // A good value is saved and is what the other process reads.
  await typeAndLeave(browser, margin, '10');
  await byTestId(browser, 'setting-refresh-margin-saved');
  assert.equal(settingGet('refresh-margin'), '10m');
  assert.equal(await (await byTestId(browser, 'setting-refresh-margin')).getAttribute('data-source'), 'saved');
  await byTestId(browser, 'setting-refresh-margin-reset');

  // A notification kind turned off.
  const secrets = await byTestId(browser, 'setting-notify-secrets-input');
  assert.equal(await secrets.isSelected(), true);
  await secrets.click();
  await byTestId(browser, 'setting-notify-secrets-saved');
  assert.equal(settingGet('notify-secrets'), 'off');
  await browser.waitUntil(async () => /setting saved.*notify-secrets/.test(app.logs()), {
    timeout: 5000, timeoutMsg: 'the app did not log the saved setting',
  });

  await (await byTestId(browser, 'page-settings')).scrollIntoView();
  const page = await app.screenshot('settings-page');
  keep(page, 'settings-page.png');

  // Export to a file, remove the app, import it back after the preview.
  const file = join(work, 'apps.json');
  await (await byTestId(browser, 'export-path')).setValue(file);
  await (await byTestId(browser, 'export-save')).click();
  await waitForText(await byTestId(browser, 'export-saved'), /Saved 1 app to /);
  const exported = readFileSync(file, 'utf8');
  assert.match(exported, /"format": "mailconn-registrations"/);
  assert.doesNotMatch(exported, /secret/i);
  await (await byTestId(browser, 'export-save')).click();
  await waitForText(await byTestId(browser, 'error-notice'), /exists already\..*Choose another file name, or replace the file\./);

  cli(dataDir, ['app', 'remove', 'Team desktop']);
  await (await byTestId(browser, 'import-path')).setValue(file);
  await (await byTestId(browser, 'import-check-file')).click();
  const entry = await byTestId(browser, 'import-entry');
  assert.equal(await entry.getAttribute('data-status'), 'new');
  await waitForText(entry, /Team desktop.*Will be added.*0d3b2f3a-1c2b-4c5d-9e8f-123456789abc/);
  assert.equal(JSON.parse(cli(dataDir, ['--json', 'app', 'list'])).length, 0, 'a preview saves nothing');
  await (await byTestId(browser, 'import-confirm')).click();
  await waitForText(await byTestId(browser, 'import-done'), /Added “Team desktop”\./);
  assert.deepEqual(JSON.parse(cli(dataDir, ['--json', 'app', 'list'])).map((a) => a.name), ['Team desktop']);

  // A forged link: shown with its reason, nothing to confirm.
  open(`${link}&client_secret=Abc8Q~abcdefghijklmnopqrstuvwxyz0123456`);
  const dialog = await byTestId(browser, 'import-link-dialog', 15000);
  await waitForText(dialog, /This import link was refused: it carries a "client_secret", and a client secret is never shared this way/);
  assert.equal(await (await browser.$('[data-testid="import-link-confirm"]')).isExisting(), false);
  const forged = await textOf(await byTestId(browser, 'import-link-text'));
  assert.ok(forged.startsWith(link) && !forged.includes('Abc8Q~'), `the secret-shaped part is blanked: ${forged}`);
  await (await byTestId(browser, 'import-link-dismiss')).click();
  await browser.waitUntil(async () => !(await (await browser.$('[data-testid="import-link-dialog"]')).isExisting()), {
    timeout: 5000, timeoutMsg: 'the dialog stayed',
  });

  // The admin's link: shown in full, added only after yes.
  open(link);
  const shown = await byTestId(browser, 'import-link-text', 15000);
  assert.equal(await textOf(shown), link);
  await waitForText(await byTestId(browser, 'import-link-dialog'), /Contoso shared.*Will be added.*11111111-2222-4333-8444-555555555555/);
  assert.equal(JSON.parse(cli(dataDir, ['--json', 'app', 'list'])).length, 1, 'nothing saved before the yes');
  const confirm = await app.screenshot('import-link-confirm');
  keep(confirm, 'import-link-confirm.png');
  await (await byTestId(browser, 'import-link-confirm')).click();
  await waitForText(await byTestId(browser, 'import-link-done'), /Added “Contoso shared”/);
  await (await byTestId(browser, 'import-link-close')).click();
  const names = JSON.parse(cli(dataDir, ['--json', 'app', 'list'])).map((a) => a.name).sort();
  assert.deepEqual(names, ['Contoso shared', 'Team desktop']);
  assert.match(app.logs(), /an import link arrived through mailconn:\/\//);
  assert.ok(existsSync(join(dataDir, 'logs')));
});
