// "Create it for me" in the real window: from the wizard's first step, the plan with every
// request, the administrator's sign-in (the browser leg played by an HTTP client), the steps as
// they happen (Microsoft's replication delay included), the created IDs, consent and the test;
// then a refusal explained, continued in the manual wizard with the choices kept. Screenshots go
// to docs/screenshots/create-app-*.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startApp, byTestId, waitForText, textOf } from './harness.mjs';
import { startIdp, browse, cli } from './idp.mjs';
import { startGraph } from './graph.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const SHOTS = join(ROOT, 'docs/screenshots');

async function shot(app, name, el) {
  await app.browser.execute((e) => {
    const main = document.querySelector('main');
    if (!e) return main?.scrollTo(0, 0);
    return e.scrollIntoView({ block: 'start' });
  }, el ?? null);
  const file = await app.screenshot(name);
  mkdirSync(SHOTS, { recursive: true });
  copyFileSync(file, join(SHOTS, `create-app-${name}.png`));
}

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

const valueOf = (browser, el) => browser.execute((e) => e.value ?? e.querySelector('input')?.value, el);

/** The wizard's first step with the test identity provider and Graph stand-in as the cloud. */
async function choices(browser, idp, graph, name) {
  await (await byTestId(browser, 'nav-apps')).click();
  // The page is read when first opened: wait for it to show either its empty state or its list.
  const first = await browser.$('[data-testid="apps-setup"], [data-testid="apps-add"]');
  await first.waitForDisplayed({ timeout: 10000, timeoutMsg: 'the Applications page did not show' });
  await first.click();
  await byTestId(browser, 'wizard-step-1');
  await fill(browser, 'field-name', name);
  await (await byTestId(browser, 'audience-my_organization')).click();
  await (await byTestId(browser, 'usage-both')).click();
  await (await byTestId(browser, 'cloud-select')).selectByAttribute('value', 'custom');
  await fill(browser, 'field-authority-url', idp.base);
  await fill(browser, 'field-graph-url', graph.base);
}

test('create it for me: from the first wizard step to a tested app', async (t) => {
  const idp = await startIdp();
  t.after(() => idp.stop());
  const graph = await startGraph(idp.base);
  t.after(() => graph.stop());
  await graph.control('POST', '/replication', { delay_ms: 3000 });
  const app = await startApp({ name: 'create-app' });
  const { browser } = app;
  try {
    await choices(browser, idp, graph, 'Contoso mail');
    const offer = await byTestId(browser, 'create-for-me-choice');
    assert.match(await textOf(offer), /sign in once as an administrator/);
    await shot(app, 'choice', offer);
    await (await byTestId(browser, 'create-for-me')).click();

    // The plan: every request, before anything is created.
    const panel = await byTestId(browser, 'create-app');
    assert.equal(await panel.getAttribute('data-phase'), 'plan');
    assert.equal(await valueOf(browser, await byTestId(browser, 'field-name')), 'Contoso mail', 'choices kept');
    await waitForText(await byTestId(browser, 'create-plan'), /oauth2PermissionGrants/);
    const requests = await browser.$$('[data-testid="create-request"]');
    const paths = await browser.execute(() => [...document.querySelectorAll('[data-testid="create-request"] code')].map((c) => c.textContent));
    assert.ok(paths.includes('/v1.0/applications'), paths.join(' '));
    assert.ok(paths.some((p) => p.endsWith('/addPassword')), paths.join(' '));
    assert.ok(requests.length >= 4);
    assert.match(await textOf(await byTestId(browser, 'create-admin-scopes')), /Application\.ReadWrite\.All.*AppRoleAssignment\.ReadWrite\.All/);
    await fill(browser, 'create-login-hint', 'alice@contoso.test');
    await shot(app, 'plan', await byTestId(browser, 'create-plan'));

    // One sign-in.
    await (await byTestId(browser, 'create-start')).click();
    const link = await valueOf(browser, await byTestId(browser, 'create-sign-in-url', 15000));
    assert.match(link, /client_id=14d82eec-204b-4c2f-b7e8-296a70dab67e/);
    assert.doesNotMatch(link, /offline_access/);
    await shot(app, 'sign-in');
    const page = await browse(link);
    assert.equal(page.status, 200, page.body);

    // Progress, with the wait for Microsoft, then the created IDs.
    const waiting = await byTestId(browser, 'create-waiting', 30000);
    assert.match(await textOf(waiting), /Waiting for Microsoft/);
    await shot(app, 'waiting', await byTestId(browser, 'create-steps'));
    const done = await byTestId(browser, 'create-done', 90000);
    const clientId = await valueOf(browser, await byTestId(browser, 'created-client-id'));
    assert.match(clientId, /^[0-9a-f-]{36}$/);
    assert.equal(await (await byTestId(browser, 'created-consent')).getAttribute('data-granted'), 'true');
    assert.match(await textOf(await byTestId(browser, 'created-secret')), /in the\s+keychain/);
    assert.equal(await (await byTestId(browser, 'test-result')).getAttribute('data-ok'), 'true');
    assert.match(await textOf(await byTestId(browser, 'created-waited')), /Microsoft needed \d+ s/);
    await shot(app, 'created', done);
    await (await byTestId(browser, 'create-finish')).click();

    const list = JSON.parse(cli(app.dataDir, ['--json', 'app', 'list']));
    assert.equal(list.length, 1);
    assert.equal(list[0].client_id, clientId);
    assert.equal(list[0].has_secret, true);
    const created = await graph.control('GET', '/created');
    assert.equal(created.applications[0].appId, clientId);
    assert.equal(created.app_role_assignments.length, 3);

    // Refused: "Users can register applications" is off and bob has no role.
    await graph.control('POST', '/tenant-settings', { tenant: 'contoso.test', users_can_register_apps: false });
    await choices(browser, idp, graph, 'Bob’s mail');
    await (await byTestId(browser, 'create-for-me')).click();
    await waitForText(await byTestId(browser, 'create-plan'), /applications/);
    await fill(browser, 'create-login-hint', 'bob@contoso.test');
    await (await byTestId(browser, 'create-start')).click();
    const bobLink = await valueOf(browser, await byTestId(browser, 'create-sign-in-url', 15000));
    await browse(bobLink);
    const failed = await byTestId(browser, 'create-failed', 30000);
    const why = await textOf(failed);
    assert.match(why, /Users can register applications/);
    assert.match(why, /Authorization_RequestDenied/);
    await shot(app, 'refused', failed);
    await (await byTestId(browser, 'create-continue-manual')).click();
    await byTestId(browser, 'wizard-step-2');
    await shot(app, 'manual-wizard');
  } finally {
    await app.stop();
  }
});
