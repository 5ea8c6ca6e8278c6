// Client-secret expiry and rotation in the real window: a secret 14 days from its end shows the
// dashboard banner, one desktop notification (not repeated) and the app's badge; the rotation
// wizard lists the app's secrets from Graph, refuses a wrong new secret without changing
// anything, then verifies and swaps the right one, re-verifies the connection, and sees the old
// secret gone after it is deleted. A secret refused during a refresh marks the connection and
// leads from it into the wizard. Screenshots in artifacts/secrets-*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { startApp, byTestId, textOf, track, waitForText } from './harness.mjs';
import { startIdp, cli, cliConnect, fixtures } from './idp.mjs';
import { startGraph } from './graph.mjs';

const web = fixtures.clients.web;
const second = web.secrets[1];

/** Summaries of the desktop notifications the app sends on the session bus. */
function watchNotifications() {
  const monitor = track(spawn('dbus-monitor', ['--session',
    "type='method_call',interface='org.freedesktop.Notifications',member='Notify'"], { stdio: ['ignore', 'pipe', 'ignore'] }));
  let out = '';
  monitor.stdout.on('data', (d) => { out += String(d); });
  return {
    titles: () => out.split(/^method call/m).slice(1).map((call) => [...call.matchAll(/^\s+string "(.*)"$/gm)][2]?.[1]),
    stop: () => monitor.kill('SIGTERM'),
  };
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function daysFromNow(days) {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

test('a secret 14 days from expiry is reminded, and rotated in the wizard', async (t) => {
  const idp = await startIdp();
  t.after(() => idp.stop());
  const graph = await startGraph(idp.base);
  t.after(() => graph.stop());
  // The app may read its own registration, so the wizard can list its secrets.
  await fetch(`${idp.base}/_control/clients/${web.client_id}/roles`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tenant: 'contoso.test', roles: ['Application.Read.All'] }),
  });
  // The secret in use ends in 14 days (in Entra too: the wizard reads the date through Graph).
  const expires = daysFromNow(14);
  const current = await (await fetch(`${idp.base}/_control/clients/${web.client_id}/secrets`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ displayName: 'ends soon', end: `${expires}T00:00:00Z` }),
  })).json();
  const dataDir = join(mkdtempSync(join(tmpdir(), 'mailconn-e2e-')), 'data');
  cli(dataDir, ['app', 'add', '--name', 'Contoso web', '--client-id', web.client_id, '--tenant', 'contoso.test',
    '--authority-url', idp.base, '--graph-url', graph.base, '--audience', 'any-org', '--preset', 'read',
    '--secret-stdin', '--secret-expires', expires], current.value);
  const connection = await cliConnect(dataDir, 'Contoso web', 'alice@contoso.test');
  assert.equal(connection.state, 'active');

  const notifications = watchNotifications();
  t.after(() => notifications.stop());
  await new Promise((r) => setTimeout(r, 500));
  const app = await startApp({ name: 'secrets', dataDir });
  const { browser } = app;
  try {
    // The banner at 14 days, with the secret's hint and the connections at stake.
    const reminder = await byTestId(browser, 'reminder', 20000);
    assert.equal(await reminder.getAttribute('data-days'), '14');
    assert.equal(await reminder.getAttribute('data-kind'), 'expiring');
    await waitForText(reminder, new RegExp(`The client secret \\(starts “${escape(current.hint)}”\\) of “Contoso web” expires in 14 days`));
    await browser.waitUntil(() => notifications.titles().length >= 1, {
      timeout: 15000, timeoutMsg: `no notification: ${notifications.titles()}`,
    });
    assert.deepEqual(notifications.titles(), ['The client secret of "Contoso web" expires in 14 days']);
    await waitForState(browser, 'active');
    await app.screenshot('banner-14-days');

    // The app's badge on the Apps page.
    await (await byTestId(browser, 'nav-apps')).click();
    const badge = await byTestId(browser, 'reg-reminder');
    assert.match(await textOf(badge), /Secret expires in 14 days/);
    await app.screenshot('apps-badge');

    // The app's secrets as Entra lists them, from the row's Secrets panel.
    await (await byTestId(browser, 'reg-secrets')).click();
    await byTestId(browser, 'secrets-panel');
    await browser.waitUntil(async () => (await browser.$$('[data-testid="secret-row"]')).length === 3, {
      timeout: 15000, timeoutMsg: 'the Secrets panel listed nothing',
    });
    await app.screenshot('apps-secrets');
    await (await byTestId(browser, 'reg-panel-close')).click();

    // Into the wizard from the app's row: the portal link and the app's secrets from Graph.
    await (await byTestId(browser, 'reg-rotate')).click();
    await byTestId(browser, 'rotate-explain');
    await byTestId(browser, 'rotate-portal');
    await browser.waitUntil(async () => (await browser.$$('[data-testid="secret-row"]')).length === 3, {
      timeout: 15000, timeoutMsg: 'Graph’s secrets were not listed',
    });
    const stored = await browser.$('[data-testid="secret-row"][data-stored="true"]');
    assert.equal(await stored.getAttribute('data-hint'), current.hint);
    assert.match(await textOf(await byTestId(browser, 'rotate-current')), new RegExp(`ends on ${expires}`));
    await app.screenshot('rotate-explain');

    // A wrong value: Microsoft refuses it, nothing changes.
    await (await byTestId(browser, 'rotate-next')).click();
    await (await byTestId(browser, 'rotate-secret')).setValue('Zz99Q~not.a.secret.of.this.app.at.all00');
    await (await byTestId(browser, 'rotate-expiry-12')).click();
    await (await byTestId(browser, 'rotate-verify')).click();
    const error = await byTestId(browser, 'rotate-error', 20000);
    await waitForText(error, /nothing was changed/);
    assert.match(await textOf(error), /AADSTS7000215/);
    await app.screenshot('rotate-wrong-secret');
    assert.ok(cli(dataDir, ['app', 'show', 'Contoso web']).includes(`${current.hint}...`));

    // The right value: verified, swapped, the connection re-verified.
    const before = (await idp.log()).length;
    const field = await byTestId(browser, 'rotate-secret');
    await field.clearValue();
    await field.setValue(second.value);
    await (await byTestId(browser, 'rotate-verify')).click();
    const done = await byTestId(browser, 'rotate-done', 30000);
    assert.equal(await done.getAttribute('data-ok'), 'true');
    const check = await byTestId(browser, 'rotate-connection');
    assert.equal(await check.getAttribute('data-state'), 'active');
    assert.match(await textOf(check), /alice@contoso\.test/);
    assert.ok((await textOf(await byTestId(browser, 'rotate-old'))).includes(current.hint));
    await app.screenshot('rotate-done');
    const since = (await idp.log()).slice(before).filter((e) => e.endpoint === 'token' && e.client_id === web.client_id);
    assert.ok(since.length >= 2, 'verification and a refresh');
    assert.deepEqual([...new Set(since.map((e) => e.secret_hint))], ['Rt2'], 'only the new secret was sent');

    // The admin deletes the old secret in the portal; the wizard sees it gone.
    await fetch(`${idp.base}/_control/clients/${web.client_id}/secrets/${current.keyId}`, { method: 'DELETE' });
    await (await byTestId(browser, 'rotate-check-old')).click();
    await byTestId(browser, 'rotate-old-gone', 15000);
    await app.screenshot('rotate-old-gone');
    await (await byTestId(browser, 'rotate-finish')).click();

    // Nothing left to remind of; the app shows the new secret.
    await (await byTestId(browser, 'nav-connections')).click();
    await waitForState(browser, 'active');
    await browser.waitUntil(async () => !(await (await browser.$('[data-testid="reminder-banner"]')).isExisting()), {
      timeout: 10000, timeoutMsg: 'the banner stayed after the rotation',
    });
    assert.match(cli(dataDir, ['app', 'show', 'Contoso web']), /Rt2/);
    await app.screenshot('after-rotation');
    assert.equal(notifications.titles().length, 1, 'the reminder was not repeated');
  } catch (e) {
    await app.screenshot('failure');
    console.error(app.logs().split('\n').slice(-60).join('\n'));
    throw e;
  } finally {
    await app.stop();
  }
});

test('a secret refused during a refresh marks the connection and leads into the rotation', async (t) => {
  const idp = await startIdp();
  t.after(() => idp.stop());
  const dataDir = join(mkdtempSync(join(tmpdir(), 'mailconn-e2e-')), 'data');
  const [current] = web.secrets;
  cli(dataDir, ['app', 'add', '--name', 'Contoso web', '--client-id', web.client_id, '--tenant', 'contoso.test',
    '--authority-url', idp.base, '--graph-url', 'http://127.0.0.1:9', '--audience', 'any-org', '--preset', 'read',
    '--secret-stdin', '--secret-expires', daysFromNow(200)], current.value);
  await cliConnect(dataDir, 'Contoso web', 'alice@contoso.test');

  const app = await startApp({ name: 'secrets-refused', dataDir });
  const { browser } = app;
  try {
    await waitForState(browser, 'active');
    assert.equal(await (await browser.$('[data-testid="reminder-banner"]')).isExisting(), false, 'nothing due');

    // Someone expired the secret in the portal: the next refresh finds out (AADSTS7000222).
    await fetch(`${idp.base}/_control/clients/${web.client_id}/secrets/${current.keyId}/expire`, { method: 'POST' });
    await (await byTestId(browser, 'refresh-all')).click();
    await waitForState(browser, 'secret_expired');
    const reminder = await byTestId(browser, 'reminder', 15000);
    assert.equal(await reminder.getAttribute('data-kind'), 'rejected');
    await waitForText(reminder, /Microsoft refuses the client secret/);
    await app.screenshot('banner');

    // From the failing connection into the wizard.
    await (await byTestId(browser, 'connection-open')).click();
    await (await byTestId(browser, 'detail-rotate')).click();
    await byTestId(browser, 'rotate-explain');
    assert.equal(await (await byTestId(browser, 'rotate-current')).getAttribute('data-refused'), 'true');
    await app.screenshot('rotate');
    await (await byTestId(browser, 'rotate-next')).click();
    await (await byTestId(browser, 'rotate-secret')).setValue(web.secrets[1].value);
    await (await byTestId(browser, 'rotate-verify')).click();
    const done = await byTestId(browser, 'rotate-done', 30000);
    assert.equal(await done.getAttribute('data-ok'), 'true');
    assert.equal(await (await byTestId(browser, 'rotate-connection')).getAttribute('data-state'), 'active');
    await (await byTestId(browser, 'rotate-finish')).click();
    await (await byTestId(browser, 'detail-back')).click();
    await waitForState(browser, 'active');
    await browser.waitUntil(async () => !(await (await browser.$('[data-testid="reminder-banner"]')).isExisting()), {
      timeout: 10000, timeoutMsg: 'the banner stayed after the rotation',
    });
    await app.screenshot('recovered');
  } catch (e) {
    await app.screenshot('failure');
    console.error(app.logs().split('\n').slice(-60).join('\n'));
    throw e;
  } finally {
    await app.stop();
  }
});

async function waitForState(browser, state, timeout = 30000) {
  await browser.waitUntil(async () => (await (await byTestId(browser, 'connection-row')).getAttribute('data-state')) === state, {
    timeout, interval: 250, timeoutMsg: `the row never became ${state}`,
  });
}
