// Organisation mailboxes in the real app: the admin consent link while consent is missing and the
// recheck after it, then five addresses added at once (two shared mailboxes, a user, one mailbox
// an Exchange policy keeps the app out of, one unknown address) with a throttled lookup on the
// way, the per-address results, and the mailboxes on the Connections page as application access.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp, byTestId, waitForText, textOf } from './harness.mjs';
import { startIdp, cli, fixtures } from './idp.mjs';
import { startGraph } from './graph.mjs';

const WEB = fixtures.clients.web;

async function consent(idp, consented) {
  const r = await fetch(`${idp.base}/_control/clients/${WEB.client_id}/consent`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tenant: 'contoso.test', consented }),
  });
  assert.equal(r.status, 200);
}

/** [address, status] of every result row, in list order (one WebDriver call). */
function results(browser) {
  return browser.execute(() =>
    [...document.querySelectorAll('[data-testid="mailbox-result"]')].map((r) => [
      r.getAttribute('data-address'),
      r.getAttribute('data-status'),
    ]));
}

test('add five organisation mailboxes from the Apps page, after admin consent', async (t) => {
  const idp = await startIdp();
  const graph = await startGraph(idp.base);
  t.after(() => {
    graph.stop();
    idp.stop();
  });
  await graph.accessDenied(['user02@contoso.test']);
  await graph.fault({ status: 429, retry_after: 1, count: 1, path: '^/v1\\.0/users/[^/]+$' });
  await consent(idp, false);

  const dataDir = join(mkdtempSync(join(tmpdir(), 'mailconn-e2e-')), 'data');
  cli(dataDir, ['app', 'add', '--name', 'Contoso organisation', '--client-id', WEB.client_id,
    '--tenant', 'contoso.test', '--authority-url', idp.base, '--graph-url', graph.base,
    '--usage', 'application', '--secret-stdin', '--secret-expires', '2099-01-01'], WEB.secrets[0].value);
  const app = await startApp({ name: 'mailboxes', dataDir });
  const { browser } = app;
  try {
    await (await byTestId(browser, 'nav-apps')).click();
    await (await byTestId(browser, 'reg-mailboxes')).click();
    await byTestId(browser, 'mailboxes-panel');

    // Consent is missing: the link for this tenant, and a recheck once the admin accepted.
    const consentUrl = await byTestId(browser, 'mailboxes-consent-url', 15000);
    const link = await browser.execute((e) => e.value, consentUrl);
    assert.match(link, /\/contoso\.test\/v2\.0\/adminconsent\?client_id=/);
    assert.match(await textOf(await byTestId(browser, 'error-notice')), /AADSTS65001/);
    await app.screenshot('consent');
    await consent(idp, true);
    await (await byTestId(browser, 'mailboxes-recheck')).click();
    const permissions = await byTestId(browser, 'mailboxes-permissions', 15000);
    assert.equal(await permissions.getAttribute('data-ok'), 'true');
    assert.match(await textOf(permissions), /User\.Read\.All/);

    // Five addresses as a list.
    await (await byTestId(browser, 'mailboxes-mode-list')).click();
    const list = await byTestId(browser, 'mailboxes-list');
    // As pasted: the whole text at once (WebKitWebDriver will not type into a scrolled textarea).
    await browser.execute((el, text) => {
      el.scrollIntoView({ block: 'center' });
      el.value = text;
      el.dispatchEvent(new Event('input', { bubbles: true }));
    }, list, ['info@contoso.test', 'sales@contoso.test', 'user01@contoso.test',
      'user02@contoso.test', 'nobody@contoso.test'].join('\n'));
    await waitForText(await byTestId(browser, 'mailboxes-preview'), /5 addresses/);
    await (await byTestId(browser, 'mailboxes-add')).click();

    const done = await byTestId(browser, 'mailboxes-done', 30000);
    assert.equal(await done.getAttribute('data-problems'), '2');
    assert.equal(await textOf(await byTestId(browser, 'mailboxes-summary')),
      '3 mailboxes connected, 2 need attention.');
    assert.deepEqual(await results(browser), [
      ['info@contoso.test', 'connected'],
      ['sales@contoso.test', 'connected'],
      ['user01@contoso.test', 'connected'],
      ['user02@contoso.test', 'no_access'],
      ['nobody@contoso.test', 'no_access'],
    ]);
    const table = await textOf(await byTestId(browser, 'mailboxes-results'));
    assert.match(table, /Contoso Info/);
    assert.match(table, /Exchange keeps the app out of this mailbox/);
    assert.match(table, /No user or shared mailbox with this address/);
    assert.match(table, /request-id [0-9a-f-]{36}/);
    // Bring the results into view for the screenshot.
    const top = await browser.execute(() => {
      const done = document.querySelector('[data-testid="mailboxes-done"]');
      done.scrollIntoView({ block: 'start' });
      return done.getBoundingClientRect().top;
    });
    assert.ok(top < 250, `the results are in view (top ${top})`);
    await app.screenshot('results');

    // The throttled lookup waited as told; never more than four lookups at once.
    const log = await graph.log();
    const throttled = log.filter((e) => e.status === 429);
    assert.equal(throttled.length, 1);
    const retry = log.find((e) => e.mailbox === throttled[0].mailbox && e.path === throttled[0].path && e.t_start > throttled[0].t_start);
    assert.ok(retry && retry.t_start - throttled[0].t_sent >= 995, 'Retry-After: 1 honoured');
    assert.ok(log.every((e) => e.in_flight <= 4));

    // Among the connections, marked as application access, with the app's permissions.
    await (await byTestId(browser, 'mailboxes-show')).click();
    await byTestId(browser, 'connections-list', 15000);
    const rows = await browser.execute(() =>
      [...document.querySelectorAll('[data-testid="connection-row"]')].map((r) => ({
        address: r.getAttribute('data-address'),
        state: r.getAttribute('data-state'),
        application: !!r.querySelector('[data-testid="row-application"]'),
        text: r.textContent,
      })));
    assert.equal(rows.length, 5);
    assert.ok(rows.every((r) => r.application), 'every row is marked application access');
    assert.deepEqual(rows.filter((r) => r.state === 'no_access').map((r) => r.address).sort(),
      ['nobody@contoso.test', 'user02@contoso.test']);
    assert.match(rows.find((r) => r.address === 'info@contoso.test').text, /Mail\.ReadWrite/);
    await app.screenshot('connections');

    const stored = JSON.parse(cli(dataDir, ['--json', 'list']));
    assert.ok(stored.every((c) => c.kind === 'application' && c.has_refresh_token === false));
    assert.doesNotMatch(app.logs(), new RegExp(WEB.secrets[0].value.replace(/[.~]/g, '\\$&')), 'no secret in the log');
  } finally {
    await app.stop();
  }
});
