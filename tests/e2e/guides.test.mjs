// The screens the guides in docs/guides/ show, from the real window, each checked for what the
// guide says about it, and saved as docs/screenshots/guide-*.png (and artifacts/guide-*.png).
//
// 1. A personal Outlook.com account and a Microsoft 365 desktop app: the wizard's steps in the
//    global cloud as a person sees them; then, with the test identity provider standing in for
//    Microsoft (a custom cloud), the test, the browser sign-in, the connections and "Use in a
//    mail program".
// 2. A Web app with a client secret: its wizard steps, a test that fails until an administrator
//    consents, the admin consent link (accepted by the provider's admin), organisation and shared
//    mailboxes added by address with one that Exchange keeps the app out of, and the secret's
//    reminder and rotation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startApp, byTestId, waitForText, textOf } from './harness.mjs';
import { startIdp, browse, fixtures } from './idp.mjs';
import { startGraph } from './graph.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const SHOTS = join(ROOT, 'docs/screenshots');
const PUBLIC = fixtures.clients.public;
const WEB = fixtures.clients.web;
const CONTOSO = fixtures.tenants.contoso;

/**
 * Brings `el` (or the page's top) into view, `above` pixels below the window's top, saves the
 * screenshot and copies it into docs/.
 */
async function shot(app, name, el, above = 0) {
  await app.browser.execute((e, up) => {
    const main = document.querySelector('main');
    if (!e) return main?.scrollTo(0, 0);
    e.scrollIntoView({ block: 'start' });
    main?.scrollBy(0, -up);
  }, el ?? null, above);
  const file = await app.screenshot(name);
  mkdirSync(SHOTS, { recursive: true });
  copyFileSync(file, join(SHOTS, `guide-${name}.png`));
}

/** Puts `value` into the field the way a paste does: one input event (typing it key by key
 * through WebDriver is slow, and the app sees the same event either way). */
async function fill(browser, id, value) {
  const el = await byTestId(browser, id);
  await browser.execute((e, v) => {
    e.focus();
    e.value = v;
    e.dispatchEvent(new Event('input', { bubbles: true }));
    e.dispatchEvent(new Event('change', { bubbles: true }));
  }, el, value);
  return el;
}

/** The wizard's permission table, one "name|type|API|admin consent" string a row. */
function permissionRows(browser) {
  return browser.execute(() => [...document.querySelectorAll('[data-testid="permission-row"]')]
    .map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent.trim()).join('|')));
}

const click = async (browser, id, timeout) => (await byTestId(browser, id, timeout)).click();

function daysFromNow(days) {
  const d = new Date();
  d.setDate(d.getDate() + days);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** Next, once it may be pressed (steps 2 to 4 wait for the portal instructions). */
async function nextWhenReady(browser) {
  const next = await byTestId(browser, 'wizard-next');
  await next.waitForEnabled({ timeout: 10000 });
  await next.click();
}

async function step(browser, n) {
  await byTestId(browser, `wizard-step-${n}`);
}

/** Goes back from step 5 to step 1 and points the app at the test identity provider. */
async function useTestProvider(browser, idp, graphBase, servers) {
  for (let n = 4; n >= 1; n--) {
    await click(browser, 'wizard-back');
    await step(browser, n);
  }
  await (await byTestId(browser, 'cloud-select')).selectByAttribute('value', 'custom');
  await fill(browser, 'field-authority-url', idp.base);
  await fill(browser, 'field-graph-url', graphBase);
  if (servers) {
    await fill(browser, 'field-imap-server', servers.imap);
    await fill(browser, 'field-pop-server', servers.pop);
    await fill(browser, 'field-smtp-server', servers.smtp);
  }
  for (let n = 2; n <= 5; n++) {
    await nextWhenReady(browser);
    await step(browser, n);
  }
}

async function waitForTest(browser, ok) {
  const result = await byTestId(browser, 'test-result', 30000);
  await browser.waitUntil(async () => (await result.getAttribute('data-ok')) === String(ok), {
    timeout: 30000,
    timeoutMsg: `the registration test did not end ${ok ? 'passed' : 'failed'}: ${await textOf(result)}`,
  });
  return result;
}

/** "Connect a mailbox" to the browser leg and back; resolves to the result panel. */
async function signIn(app, { loginHint, tenant, shots = {} }) {
  const { browser } = app;
  // "Connect a mailbox" at the end of the wizard opens the dialog by itself.
  if (!(await (await browser.$('[data-testid="connect-dialog"]')).isExisting())) await click(browser, 'connect-open');
  await byTestId(browser, 'connect-dialog');
  if (tenant) await fill(browser, 'connect-tenant', tenant);
  await fill(browser, 'connect-login-hint', loginHint);
  if (shots.form) await shot(app, shots.form);
  await click(browser, 'connect-signin');
  await byTestId(browser, 'signin-waiting', 15000);
  const url = await browser.execute((e) => e.value, await byTestId(browser, 'signin-url'));
  assert.match(url, /\/oauth2\/v2\.0\/authorize\?.*code_challenge_method=S256/);
  if (shots.waiting) await shot(app, shots.waiting);
  const page = await browse(url);
  assert.equal(page.status, 200, page.body);
  const result = await byTestId(browser, 'connect-result', 20000);
  await waitForText(result, new RegExp(loginHint.replace('.', '\\.')));
  return result;
}

test('guide screens: a personal Outlook.com account and a Microsoft 365 desktop app', async (t) => {
  const idp = await startIdp();
  t.after(() => idp.stop());
  // The data directory is the default one of the app's home, so the command lines it shows are
  // the plain `mailconn ...` a person sees.
  const xdg = mkdtempSync(join(tmpdir(), 'mailconn-guides-'));
  const app = await startApp({ name: 'guide', dataDir: join(xdg, 'mailconn'), env: { XDG_DATA_HOME: xdg } });
  const { browser } = app;
  const next = () => nextWhenReady(browser);
  try {
    await click(browser, 'nav-apps');
    await click(browser, 'apps-setup');

    // ---- Outlook.com: any organisation and personal accounts, a desktop app, mail programs.
    await step(browser, 1);
    await fill(browser, 'field-name', 'Mail Connections (Outlook.com)');
    await click(browser, 'audience-any_organization_and_personal');
    await click(browser, 'preset-mail-programs');
    assert.equal(await (await byTestId(browser, 'cloud-select')).getValue(), 'global');
    assert.equal(await (await byTestId(browser, 'kind-confidential')).isSelected(), false, 'a desktop app by default');
    await shot(app, 'personal-choices');
    await next();

    await step(browser, 2);
    assert.equal(await textOf(await byTestId(browser, 'plan-account-types')),
      'Accounts in any organizational directory (Any Microsoft Entra ID tenant - Multitenant) and personal Microsoft accounts (e.g. Skype, Xbox)');
    assert.equal(await textOf(await byTestId(browser, 'plan-platform')), 'Mobile and desktop applications');
    assert.match(await browser.execute((e) => e.value, await byTestId(browser, 'redirect-uri')), /^http:\/\/localhost/);
    assert.match(await browser.execute((e) => e.value, await byTestId(browser, 'portal-url')), /^https:\/\/portal\.azure\.com\//);
    await byTestId(browser, 'public-client-flows');
    await shot(app, 'personal-register', await byTestId(browser, 'plan-account-types'), 60);
    await next();

    await step(browser, 3);
    await byTestId(browser, 'permissions');
    const personalPermissions = await permissionRows(browser);
    for (const p of ['IMAP.AccessAsUser.All|Delegated|Microsoft Graph|', 'POP.AccessAsUser.All|Delegated|Microsoft Graph|',
      'SMTP.Send|Delegated|Microsoft Graph|', 'offline_access|Delegated|Microsoft Graph|']) {
      assert.ok(personalPermissions.includes(p), `"${p}" in ${JSON.stringify(personalPermissions)}`);
    }
    assert.ok(personalPermissions.every((r) => r.endsWith('|')), 'nothing needs an administrator');
    assert.equal(await (await browser.$('[data-testid="admin-consent-note"]')).isExisting(), false);
    await shot(app, 'personal-permissions');
    await next();

    await step(browser, 4);
    await waitForText(await byTestId(browser, 'secret-skip'), /Desktop apps have no secret/);
    await next();

    await step(browser, 5);
    await waitForText(await byTestId(browser, 'tenant-hint'), /Use common: work, school and personal Microsoft accounts can sign in/);
    await fill(browser, 'field-client-id', PUBLIC.client_id);
    await click(browser, 'tenant-suggest-common');
    assert.equal(await (await byTestId(browser, 'field-tenant')).getValue(), 'common');
    assert.equal(await (await browser.$('[data-testid="field-secret"]')).isExisting(), false, 'no secret field');
    await shot(app, 'personal-paste-back');

    // From here the test identity provider stands in for Microsoft, with Outlook.com's servers.
    await useTestProvider(browser, idp, 'http://127.0.0.1:9', {
      imap: 'outlook.office365.com:993',
      pop: 'outlook.office365.com:995',
      smtp: 'starttls://smtp-mail.outlook.com:587',
    });
    await next();
    await step(browser, 6);
    await waitForTest(browser, true);
    await next();
    await byTestId(browser, 'wizard-done');
    await click(browser, 'wizard-connect');

    const personal = await signIn(app, {
      loginHint: 'carol@outlook.test',
      tenant: 'consumers',
      shots: { form: 'personal-connect', waiting: 'sign-in-waiting' },
    });
    assert.match(await textOf(personal), /Personal/);
    assert.match(await textOf(personal), /IMAP\.AccessAsUser\.All/);
    assert.equal(await personal.getAttribute('data-created'), 'true');
    await shot(app, 'personal-connected');
    await click(browser, 'result-done');

    // ---- Microsoft 365: the organisation's own accounts, a desktop app, reading mail.
    await click(browser, 'nav-apps');
    await click(browser, 'apps-add');
    await step(browser, 1);
    await fill(browser, 'field-name', 'Contoso Mail');
    assert.equal(await (await byTestId(browser, 'audience-my_organization')).isSelected(), true, 'the default audience');
    await click(browser, 'preset-full');
    await shot(app, 'm365-choices');
    await next();

    await step(browser, 2);
    assert.equal(await textOf(await byTestId(browser, 'plan-account-types')),
      'Accounts in this organizational directory only (Single tenant)');
    assert.equal(await textOf(await byTestId(browser, 'plan-platform')), 'Mobile and desktop applications');
    await shot(app, 'm365-register', await byTestId(browser, 'plan-account-types'), 60);
    await next();

    await step(browser, 3);
    await byTestId(browser, 'permissions');
    const m365Permissions = await permissionRows(browser);
    for (const p of ['User.Read', 'Mail.ReadWrite', 'Mail.Send', 'offline_access']) {
      assert.ok(m365Permissions.includes(`${p}|Delegated|Microsoft Graph|`), `${p} in ${JSON.stringify(m365Permissions)}`);
    }
    await shot(app, 'm365-permissions');
    await next();
    await step(browser, 4);
    await next();

    await step(browser, 5);
    await waitForText(await byTestId(browser, 'tenant-hint'), /The Directory \(tenant\) ID GUID from Overview/);
    await fill(browser, 'field-client-id', PUBLIC.client_id);
    await fill(browser, 'field-tenant', 'common');
    await waitForText(await byTestId(browser, 'error-tenant'), /must use its Directory \(tenant\) ID, not 'common'.*AADSTS50194/);
    await fill(browser, 'field-tenant', CONTOSO.id);
    await browser.waitUntil(async () => (await browser.$$('[data-testid^="error-"]')).length === 0, {
      timeout: 10000, timeoutMsg: 'the field errors did not clear',
    });
    await shot(app, 'm365-paste-back');

    await useTestProvider(browser, idp, 'http://127.0.0.1:9');
    await next();
    await step(browser, 6);
    const passed = await waitForTest(browser, true);
    assert.match(await textOf(passed), /Tenant and cloud/);
    await shot(app, 'm365-test');
    await next();
    const done = await byTestId(browser, 'wizard-done');
    assert.match(await textOf(done), /“Contoso Mail” is set up\. The test passed\./);
    assert.match(await textOf(done), /Desktop \(public\)/);
    await shot(app, 'm365-done');
    await click(browser, 'wizard-connect');
    const work = await signIn(app, { loginHint: 'alice@contoso.test' });
    assert.match(await textOf(work), /Work/);
    await click(browser, 'result-done');

    // ---- The connections, one of them in detail, and its settings for a mail program.
    const rows = await browser.execute(() =>
      [...document.querySelectorAll('[data-testid="connection-row"]')].map((r) => [r.getAttribute('data-address'), r.getAttribute('data-state')]));
    assert.deepEqual(rows.sort(), [['alice@contoso.test', 'active'], ['carol@outlook.test', 'active']]);
    await shot(app, 'connections');

    const carol = await browser.$('[data-testid="connection-row"][data-address="carol@outlook.test"]');
    await (await carol.$('[data-testid="connection-open"]')).click();
    const detail = await byTestId(browser, 'connection-detail');
    assert.match(await textOf(detail), /Personal/);
    await shot(app, 'connection-detail');

    const programs = await byTestId(browser, 'mail-programs');
    assert.equal(await (await byTestId(browser, 'programs-allowed')).isSelected(), true, 'mail programs may use it');
    await fill(browser, 'programs-alias', 'outlook');
    await click(browser, 'programs-alias-save');
    await (await byTestId(browser, 'mail-programs-choose')).selectByAttribute('value', 'thunderbird');
    await browser.waitUntil(async () => /smtp-mail\.outlook\.com/.test(await browser.execute(
      () => document.querySelector('[data-testid="mail-programs-text"]')?.textContent ?? '')), {
      timeout: 10000, timeoutMsg: 'Thunderbird’s settings never named smtp-mail.outlook.com',
    });
    const thunderbird = await textOf(await byTestId(browser, 'mail-programs-text'));
    assert.match(thunderbird, /outlook\.office365\.com/);
    assert.match(thunderbird, /OAuth2/i);
    await shot(app, 'thunderbird', programs);
    await (await byTestId(browser, 'mail-programs-choose')).selectByAttribute('value', 'msmtp');
    await browser.waitUntil(async () => /passwordeval "mailconn token outlook --resource smtp"/.test(await browser.execute(
      () => document.querySelector('[data-testid="mail-programs-text"]')?.textContent ?? '')), {
      timeout: 10000, timeoutMsg: 'msmtp’s settings never showed the plain mailconn token command',
    });
    await shot(app, 'msmtp', programs);
  } catch (e) {
    await app.screenshot('guide-failure');
    throw e;
  } finally {
    await app.stop();
  }
});

test('guide screens: a Web app with admin consent, organisation mailboxes and a secret rotation', async (t) => {
  const idp = await startIdp();
  const graph = await startGraph(idp.base);
  t.after(() => {
    graph.stop();
    idp.stop();
  });
  const control = (path, body, method = 'POST') => fetch(`${idp.base}/_control/clients/${WEB.client_id}/${path}`, {
    method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  }).then((r) => r.json());
  // No administrator has consented yet; once one has, the app holds the application permissions
  // of the wizard and may read its own registration (for the secrets list).
  await control('consent', { tenant: CONTOSO.domain, consented: false });
  await control('roles', { tenant: CONTOSO.domain, roles: ['Mail.ReadWrite', 'Mail.Send', 'User.Read.All', 'Application.Read.All'] });
  await graph.accessDenied(['user02@contoso.test']);
  // The secret made in the portal: it ends in 20 days, so the reminder is due.
  const expires = daysFromNow(20);
  const secret = await control('secrets', { displayName: 'Mail Connections', end: `${expires}T23:00:00Z` });

  const app = await startApp({ name: 'guide-web' });
  const { browser } = app;
  const next = () => nextWhenReady(browser);
  try {
    await click(browser, 'nav-apps');
    await click(browser, 'apps-setup');

    await step(browser, 1);
    await fill(browser, 'field-name', 'Contoso Mail (web)');
    await click(browser, 'preset-full');
    await click(browser, 'kind-confidential');
    await click(browser, 'usage-both');
    await shot(app, 'web-choices', await byTestId(browser, 'preset-read'), 60);
    await next();

    await step(browser, 2);
    assert.equal(await textOf(await byTestId(browser, 'plan-platform')), 'Web');
    assert.equal(await (await browser.$('[data-testid="public-client-flows"]')).isExisting(), false);
    await next();

    await step(browser, 3);
    await byTestId(browser, 'permissions');
    const rows = await permissionRows(browser);
    for (const p of ['Mail.ReadWrite|Application|Microsoft Graph|Admin consent', 'Mail.Send|Application|Microsoft Graph|Admin consent',
      'User.Read.All|Application|Microsoft Graph|Admin consent', 'Mail.ReadWrite|Delegated|Microsoft Graph|']) {
      assert.ok(rows.includes(p), `"${p}" in ${JSON.stringify(rows)}`);
    }
    await waitForText(await byTestId(browser, 'admin-consent-note'), /Grant admin consent for your organisation/);
    await shot(app, 'web-permissions', await byTestId(browser, 'permissions'));
    await next();

    await step(browser, 4);
    await click(browser, 'expiry-custom');
    await fill(browser, 'field-secret-expires', expires);
    await shot(app, 'web-secret');
    await next();

    await step(browser, 5);
    await fill(browser, 'field-client-id', WEB.client_id);
    await fill(browser, 'field-tenant', CONTOSO.id);
    const secretField = await fill(browser, 'field-secret', secret.value);
    assert.equal(await secretField.getAttribute('type'), 'password', 'the Value stays masked');
    await browser.waitUntil(async () => (await browser.$$('[data-testid^="error-"]')).length === 0, {
      timeout: 10000, timeoutMsg: 'the field errors did not clear',
    });
    await waitForText(await byTestId(browser, 'secret-expiry-summary'), new RegExp(`Secret expires: ${expires}`));
    await shot(app, 'web-paste-back');

    await useTestProvider(browser, idp, graph.base);
    await next();
    await step(browser, 6);
    const failed = await waitForTest(browser, false);
    assert.match(await textOf(failed), /AADSTS65001/);
    await shot(app, 'web-test-no-consent');
    await next();
    await byTestId(browser, 'wizard-done');
    await click(browser, 'wizard-close');

    // The admin consent link, opened by an administrator of the tenant.
    await click(browser, 'reg-consent');
    const consentUrl = await browser.execute((e) => e.value, await byTestId(browser, 'consent-url', 15000));
    assert.match(consentUrl, new RegExp(`/${CONTOSO.id}/v2\\.0/adminconsent\\?client_id=${WEB.client_id}`));
    await shot(app, 'web-consent-link', await byTestId(browser, 'registration-row'));
    const accepted = await fetch(`${consentUrl}&login_hint=alice%40contoso.test`, { redirect: 'manual' });
    assert.match(accepted.headers.get('location') ?? '', /admin_consent=True/);
    await click(browser, 'reg-test');
    const retested = await byTestId(browser, 'test-result', 30000);
    await browser.waitUntil(async () => (await retested.getAttribute('data-ok')) === 'true', {
      timeout: 30000, timeoutMsg: `the test still fails after the consent: ${await textOf(retested)}`,
    });

    // Organisation and shared mailboxes by address; user02 is kept out by Exchange.
    await click(browser, 'reg-mailboxes');
    const permissions = await byTestId(browser, 'mailboxes-permissions', 15000);
    assert.equal(await permissions.getAttribute('data-ok'), 'true');
    await click(browser, 'mailboxes-mode-list');
    const list = await byTestId(browser, 'mailboxes-list');
    await browser.execute((el, text) => {
      el.value = text;
      el.dispatchEvent(new Event('input', { bubbles: true }));
    }, list, ['info@contoso.test', 'sales@contoso.test', 'user01@contoso.test', 'user02@contoso.test'].join('\n'));
    await waitForText(await byTestId(browser, 'mailboxes-preview'), /4 addresses/);
    await shot(app, 'mailboxes-add', await byTestId(browser, 'mailboxes-panel'));
    await click(browser, 'mailboxes-add');
    await byTestId(browser, 'mailboxes-done', 30000);
    assert.equal(await textOf(await byTestId(browser, 'mailboxes-summary')), '3 mailboxes connected, 1 needs attention.');
    const results = await textOf(await byTestId(browser, 'mailboxes-results'));
    assert.match(results, /user02@contoso\.test.*Exchange keeps the app out of this mailbox/);
    assert.match(results, /Test-ApplicationAccessPolicy/);
    await shot(app, 'mailboxes-results', await byTestId(browser, 'mailboxes-done'));
    await click(browser, 'mailboxes-show');
    await byTestId(browser, 'connections-list', 15000);
    const kinds = await browser.execute(() => [...document.querySelectorAll('[data-testid="connection-row"]')]
      .map((r) => [r.getAttribute('data-address'), r.getAttribute('data-state'), !!r.querySelector('[data-testid="row-application"]')]));
    assert.deepEqual(kinds.sort(), [
      ['info@contoso.test', 'active', true], ['sales@contoso.test', 'active', true],
      ['user01@contoso.test', 'active', true], ['user02@contoso.test', 'no_access', true],
    ]);

    // The secret's reminder, 20 days ahead, and the rotation.
    const reminder = await byTestId(browser, 'reminder', 20000);
    assert.equal(await reminder.getAttribute('data-kind'), 'expiring');
    // 20 days, give or take the day boundary between the test's clock and the app's.
    await waitForText(reminder, /of “Contoso Mail \(web\)” expires in (19|20|21) days/);
    await shot(app, 'secret-reminder');
    await click(browser, 'reminder-rotate');
    await byTestId(browser, 'rotate-explain');
    await byTestId(browser, 'rotate-portal');
    await browser.waitUntil(async () => (await browser.$$('[data-testid="secret-row"]')).length >= 3, {
      timeout: 15000, timeoutMsg: 'Graph’s secrets were not listed',
    });
    assert.match(await textOf(await byTestId(browser, 'rotate-current')), new RegExp(`ends on ${expires}`));
    await shot(app, 'rotate-explain');
    await click(browser, 'rotate-next');
    const fresh = await control('secrets', { displayName: 'Mail Connections 2', end: `${daysFromNow(365)}T23:00:00Z` });
    await fill(browser, 'rotate-secret', fresh.value);
    await click(browser, 'rotate-expiry-12');
    await shot(app, 'rotate-paste');
    await click(browser, 'rotate-verify');
    const rotated = await byTestId(browser, 'rotate-done', 30000);
    assert.equal(await rotated.getAttribute('data-ok'), 'true');
    const checked = await browser.execute(() => [...document.querySelectorAll('[data-testid="rotate-connection"]')]
      .map((li) => li.getAttribute('data-ok')));
    assert.equal(checked.length, 4, 'every connection of the app was checked again');
    assert.ok((await textOf(await byTestId(browser, 'rotate-old'))).includes(secret.hint));
    await shot(app, 'rotate-done');
    await click(browser, 'rotate-finish');
    assert.doesNotMatch(app.logs(), new RegExp(secret.value.replace(/[.~]/g, '\\$&')), 'no secret in the log');
  } catch (e) {
    await app.screenshot('guide-web-failure');
    throw e;
  } finally {
    await app.stop();
  }
});
