// Keeping a connection alive in the real window: the identity provider goes away and comes back;
// the dashboard shows Active -> Retrying ("offline, retrying at HH:MM") -> Active by itself,
// without a sign-in and without reloading the page. Also: start at login from Settings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { startApp, byTestId, textOf, track, waitForText } from './harness.mjs';
import { startIdp, cli, cliConnect, fixtures } from './idp.mjs';
import { startGraph } from './graph.mjs';

/** Watches the session bus for desktop notifications (org.freedesktop.Notifications.Notify)
 * the app sends; returns { titles() } with the summary of each one seen so far. */
function watchNotifications() {
  const monitor = track(spawn('dbus-monitor', ['--session',
    "type='method_call',interface='org.freedesktop.Notifications',member='Notify'"], { stdio: ['ignore', 'pipe', 'ignore'] }));
  let out = '';
  monitor.stdout.on('data', (d) => { out += String(d); });
  return {
    // Notify(app_name, replaces_id, app_icon, summary, body, ...): the summary is the third string.
    titles: () => out.split(/^method call/m).slice(1).map((call) => [...call.matchAll(/^\s+string "(.*)"$/gm)][2]?.[1]),
    stop: () => monitor.kill('SIGTERM'),
  };
}

async function rowState(browser) {
  const row = await byTestId(browser, 'connection-row');
  return row.getAttribute('data-state');
}

async function waitForState(browser, state, timeout = 30000) {
  await browser.waitUntil(async () => (await rowState(browser)) === state, {
    timeout,
    interval: 250,
    timeoutMsg: `the row never became ${state}`,
  });
}

test('the dashboard follows a connection from active to retrying and back', async (t) => {
  const stateDir = mkdtempSync(join(tmpdir(), 'mailconn-idp-state-'));
  const idpEnv = { IDP_STATE_FILE: join(stateDir, 'state.json') };
  let idp = await startIdp(idpEnv);
  t.after(() => idp.stop());
  const graph = await startGraph(idp.base);
  t.after(() => graph.stop());
  const dataDir = join(mkdtempSync(join(tmpdir(), 'mailconn-e2e-')), 'data');
  cli(dataDir, ['app', 'add', '--name', 'Contoso desktop', '--client-id', fixtures.clients.public.client_id,
    '--tenant', 'common', '--authority-url', idp.base, '--graph-url', graph.base, '--public',
    '--preset', 'read']);
  const connection = await cliConnect(dataDir, 'Contoso desktop', 'alice@contoso.test');
  assert.equal(connection.state, 'active');

  const app = await startApp({ name: 'lifecycle', dataDir, env: { MAILCONN_RETRY_BASE_SECS: '3' } });
  const { browser } = app;
  try {
    await (await byTestId(browser, 'nav-connections')).click();
    await waitForState(browser, 'active');
    const row = await byTestId(browser, 'connection-row');
    await waitForText(await byTestId(browser, 'row-inactivity'), /in (89|90) days/);
    await waitForText(await byTestId(browser, 'row-next'), /in (6|7) days/);
    await app.screenshot('active');

    // The identity provider goes away: a refresh fails, and the row says it will retry.
    const port = idp.port;
    await idp.stop();
    await (await byTestId(browser, 'refresh-all')).click();
    await waitForState(browser, 'retrying');
    const retry = await byTestId(browser, 'row-retry');
    assert.match(await textOf(retry), /Offline, retrying at .+ \(attempt \d+\)/);
    assert.match(await textOf(row), /could not be reached/);
    await waitForText(await byTestId(browser, 'refresh-all-result'), /1 of 1 could not be refreshed/);
    await app.screenshot('retrying');

    // Back on the same port: the engine's next retry succeeds by itself; nobody signs in.
    idp = await startIdp(idpEnv, { port });
    await waitForState(browser, 'active', 40000);
    assert.equal(await (await browser.$('[data-testid="row-retry"]')).isExisting(), false);
    await app.screenshot('recovered');

    // The detail page tells the story in its history.
    await (await byTestId(browser, 'connection-open')).click();
    const history = await byTestId(browser, 'detail-history');
    await waitForText(history, /Recovered/);
    assert.match(await textOf(history), /Refresh failed \(temporary\)/);
    await app.screenshot('history');

    // Verify: a Graph call with the connection's token, reported and kept in the history.
    await (await byTestId(browser, 'detail-verify')).click();
    await waitForText(await byTestId(browser, 'detail-verify-result'), /Microsoft Graph accepted/);
    await waitForText(history, /Microsoft Graph answered for alice@contoso\.test/);
    const me = (await graph.log()).filter((e) => e.path === '/v1.0/me');
    assert.equal(me.length, 1);
    assert.equal(me[0].status, 200);
    const tokens = (await idp.log()).filter((e) => e.endpoint === 'token' && e.grant_type === 'refresh_token');
    assert.ok(tokens.length >= 1, 'the recovery was a refresh, not a sign-in');
    assert.equal((await idp.log()).filter((e) => e.endpoint === 'authorize').length, 0, 'no sign-in');

    // A permanent failure (the grant was revoked): "needs sign-in", one notification, and no
    // second one while the problem stays the same.
    const notifications = watchNotifications();
    t.after(() => notifications.stop());
    await browser.pause(500);
    await (await byTestId(browser, 'detail-back')).click();
    await fetch(`${idp.base}/_control/users/alice@contoso.test/revoke`, { method: 'POST' });
    await (await byTestId(browser, 'refresh-all')).click();
    await waitForState(browser, 'needs_sign_in');
    await waitForText(await byTestId(browser, 'row-reason'), /Sign in again/);
    await browser.waitUntil(() => notifications.titles().length === 1, {
      timeout: 10000, timeoutMsg: `no notification: ${notifications.titles()}`,
    });
    assert.equal(notifications.titles()[0], 'alice@contoso.test needs you to sign in again');
    await app.screenshot('needs-sign-in');
    await (await byTestId(browser, 'refresh-all')).click();
    await waitForText(await byTestId(browser, 'refresh-all-result'), /1 of 1 could not be refreshed/);
    await browser.pause(1500);
    assert.equal(notifications.titles().length, 1, 'the same problem is not notified twice');

    // Start at login, from Settings: the desktop's autostart entry appears and goes again.
    await (await byTestId(browser, 'nav-settings')).click();
    const toggle = await byTestId(browser, 'autostart-toggle');
    await browser.waitUntil(async () => toggle.isEnabled(), { timeout: 10000 });
    assert.equal(await toggle.isSelected(), false);
    await toggle.click();
    const autostart = join(app.home, '.config', 'autostart');
    await browser.waitUntil(() => existsSync(autostart) && readdirSync(autostart).length === 1, {
      timeout: 10000, timeoutMsg: 'no autostart entry was written',
    });
    const entry = readFileSync(join(autostart, readdirSync(autostart)[0]), 'utf8');
    assert.match(entry, /--hidden/);
    await app.screenshot('settings-autostart');
    await toggle.click();
    await browser.waitUntil(() => readdirSync(autostart).length === 0, {
      timeout: 10000, timeoutMsg: 'the autostart entry stayed',
    });
  } catch (e) {
    await app.screenshot('failure');
    console.error(app.logs().split('\n').slice(-60).join('\n'));
    throw e;
  } finally {
    await app.stop();
  }
});
