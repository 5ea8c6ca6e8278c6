// Connections at work in the real window: "Verify" logs in to a real Dovecot over IMAP, POP and
// SMTP with XOAUTH2 (tokens introspected at the identity provider) and shows each step; against
// the Exchange Online stand-in with SMTP AUTH turned off for the mailbox, the failed step says
// what an administrator changes; "Use in a mail program" shows core's settings with the
// `mailconn token` command line, which works once programs are allowed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, startApp, byTestId, textOf } from './harness.mjs';
import { startIdp, cliConnect } from './idp.mjs';
import { addMailApp, startMailServers } from './mail-servers.mjs';

async function openDetail(browser, address) {
  const row = await browser.$(`[data-testid="connection-row"][data-address="${address}"]`);
  await row.waitForExist({ timeout: 10000 });
  await (await row.$('[data-testid="connection-open"]')).click();
  await byTestId(browser, 'connection-detail');
}

/** Waits until the element with this test id (looked up afresh each time: the page re-renders
 * it as answers arrive) has text matching `pattern`; returns the text. */
async function waitForTestIdText(browser, id, pattern, timeout = 30000) {
  let last = '';
  await browser.waitUntil(async () => {
    last = await browser.execute((tid) => document.querySelector(`[data-testid="${tid}"]`)?.textContent ?? '', id);
    return pattern.test(last.replace(/\s+/g, ' '));
  }, { timeout, interval: 200, timeoutMsg: `${id} never matched ${pattern}; last: ${JSON.stringify(last)}` });
  return last;
}

async function steps(browser) {
  await byTestId(browser, 'verify-steps', 30000);
  return browser.execute(() => [...document.querySelectorAll('[data-testid="verify-step"]')]
    .map((li) => ({ name: li.dataset.name, outcome: li.dataset.outcome, text: li.textContent })));
}

test('verify logs in over IMAP, POP and SMTP, explains SMTP AUTH turned off, and hands programs their settings', async (t) => {
  const idp = await startIdp();
  t.after(() => idp.stop());
  const mail = await startMailServers(idp.base);
  t.after(() => mail.stop());
  const dataDir = join(mkdtempSync(join(tmpdir(), 'mailconn-e2e-')), 'data');
  const plain = (port) => `plain://127.0.0.1:${port}`;
  addMailApp(dataDir, idp.base, 'Dovecot mail', {
    imap: plain(mail.dovecot.imap), pop: plain(mail.dovecot.pop), smtp: plain(mail.dovecot.submission),
  });
  addMailApp(dataDir, idp.base, 'Exchange mail', {
    imap: plain(mail.exchange.imap), pop: plain(mail.exchange.pop), smtp: plain(mail.exchange.smtp),
  });
  await cliConnect(dataDir, 'Dovecot mail', 'alice@contoso.test');
  await cliConnect(dataDir, 'Exchange mail', 'bob@contoso.test');

  const app = await startApp({ name: 'mail', dataDir });
  const { browser } = app;
  try {
    await (await byTestId(browser, 'nav-connections')).click();

    // Dovecot: every mail step passes; Graph is skipped with the reason.
    await openDetail(browser, 'alice@contoso.test');
    await (await byTestId(browser, 'detail-verify')).click();
    await waitForTestIdText(browser, 'detail-verify-result', /mail servers accepted/);
    const ok = await steps(browser);
    for (const name of ['imap_login', 'imap_select', 'pop_login', 'pop_stat', 'smtp_login']) {
      assert.equal(ok.find((s) => s.name === name)?.outcome, 'passed', `${name}: ${JSON.stringify(ok)}`);
    }
    assert.match(ok.find((s) => s.name === 'graph_profile').text, /Skipped/);
    await app.screenshot('verify-passed');

    // Use in a mail program: core's msmtp settings, closed to programs until the switch is on.
    const panel = await byTestId(browser, 'mail-programs');
    await browser.execute((el) => el.scrollIntoView({ block: 'start' }), panel);
    await (await byTestId(browser, 'mail-programs-choose')).selectByAttribute('value', 'msmtp');
    await waitForTestIdText(browser, 'mail-programs-text', /passwordeval "mailconn --data-dir .* token alice@contoso\.test --resource smtp"/);
    const allowed = await byTestId(browser, 'programs-allowed');
    assert.equal(await allowed.isSelected(), true, 'the mail-programs preset is open to programs');
    await (await byTestId(browser, 'programs-alias')).setValue('work');
    await (await byTestId(browser, 'programs-alias-save')).click();
    await waitForTestIdText(browser, 'mail-programs-text', /token work --resource smtp/);
    await app.screenshot('use-in-mail-program');
    // The command the panel shows hands out a token.
    const token = execFileSync(CLI, ['--data-dir', dataDir, 'token', 'work', '--resource', 'smtp'], { encoding: 'utf8' });
    assert.ok(token.trim().length > 20, 'a token');

    // Closed to programs: the panel says so first, and the command is refused.
    await allowed.click();
    await waitForTestIdText(browser, 'mail-programs-note', /Programs may not fetch/);
    assert.throws(() => execFileSync(CLI, ['--data-dir', dataDir, 'token', 'work'], { stdio: 'pipe' }),
      (e) => e.status === 9 && /not allowed|may not/.test(String(e.stderr)));

    // Exchange with SMTP AUTH turned off for the mailbox: IMAP works, SMTP is explained.
    await (await byTestId(browser, 'detail-back')).click();
    await openDetail(browser, 'bob@contoso.test');
    await (await byTestId(browser, 'detail-verify')).click();
    const failed = await steps(browser);
    assert.equal(failed.find((s) => s.name === 'imap_login')?.outcome, 'passed', JSON.stringify(failed));
    const smtp = failed.find((s) => s.name === 'smtp_login');
    assert.equal(smtp?.outcome, 'failed', JSON.stringify(failed));
    assert.match(smtp.text, /5\.7\.139/);
    assert.match(smtp.text, /Set-CASMailbox/);
    assert.match(await textOf(await byTestId(browser, 'error-notice')), /SMTP/);
    await browser.execute(() => document.querySelector('[data-name="smtp_login"]')?.scrollIntoView({ block: 'center' }));
    await app.screenshot('verify-smtp-auth-off');
  } finally {
    await app.stop();
  }
});
