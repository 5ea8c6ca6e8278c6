// The registration wizard in the real app: every step, three validation errors on the way
// (bad client ID, application access with 'common', the Secret ID pasted as the secret), a
// successful test against the local identity provider, and the registration listed afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, byTestId, waitForText, textOf } from './harness.mjs';
import { startIdp, fixtures } from './idp.mjs';

async function fill(browser, id, value) {
  const el = await byTestId(browser, id);
  await el.clearValue();
  await el.setValue(value);
  return el;
}

test('the wizard walks a confidential app from choices to a tested registration', async (t) => {
  const idp = await startIdp();
  t.after(() => idp.stop());
  const app = await startApp({ name: 'wizard' });
  const { browser } = app;
  const next = async () => (await byTestId(browser, 'wizard-next')).click();
  try {
    await (await byTestId(browser, 'nav-apps')).click();
    await (await byTestId(browser, 'apps-setup')).click();

    // 1: who signs in, what the app does, which cloud.
    await byTestId(browser, 'wizard-step-1');
    await fill(browser, 'field-name', 'Contoso mail');
    await (await byTestId(browser, 'audience-my_organization')).click();
    await (await byTestId(browser, 'preset-application')).click();
    await (await byTestId(browser, 'cloud-select')).selectByAttribute('value', 'custom');
    await fill(browser, 'field-authority-url', idp.base);
    await fill(browser, 'field-graph-url', 'http://127.0.0.1:9');
    await app.screenshot('step-1-choices');
    await next();

    // 2: the portal's "New registration" with the exact redirect URI.
    await byTestId(browser, 'wizard-step-2');
    const redirect = await byTestId(browser, 'redirect-uri');
    const redirectValue = await browser.execute((e) => e.value ?? e.querySelector('input')?.value ?? e.textContent, redirect);
    assert.match(redirectValue, /http:\/\/localhost\/callback/);
    assert.match(await textOf(await byTestId(browser, 'plan-account-types')), /Single tenant/);
    await app.screenshot('step-2-register');
    await next();

    // 3: permissions, application kind, admin consent.
    await byTestId(browser, 'wizard-step-3');
    const permissions = await textOf(await byTestId(browser, 'permissions'));
    assert.match(permissions, /Mail\.ReadWrite/);
    assert.match(permissions, /User\.Read\.All/);
    await app.screenshot('step-3-permissions');
    await next();

    // 4: the client secret's Value and its expiry.
    await byTestId(browser, 'wizard-step-4');
    await (await byTestId(browser, 'expiry-12')).click();
    await app.screenshot('step-4-secret');
    await next();

    // 5: paste back, with three mistakes first.
    await byTestId(browser, 'wizard-step-5');
    await fill(browser, 'field-client-id', 'not-a-guid');
    await fill(browser, 'field-tenant', 'common');
    await fill(browser, 'field-secret', '5ec00001-0000-4000-8000-000000000001');
    await waitForText(await byTestId(browser, 'error-client_id'), /is a GUID/);
    await waitForText(await byTestId(browser, 'error-tenant'), /Application access needs your tenant ID/);
    await waitForText(await byTestId(browser, 'error-secret'), /This is the Secret ID/);
    await app.screenshot('step-5-errors');

    await fill(browser, 'field-client-id', fixtures.clients.web.client_id);
    await fill(browser, 'field-tenant', fixtures.tenants.contoso.id);
    await fill(browser, 'field-secret', fixtures.clients.web.secrets[0].value);
    await browser.waitUntil(async () => (await browser.$$('[data-testid^="error-"]')).length === 0, {
      timeout: 10000,
      timeoutMsg: 'the field errors did not clear',
    });
    await app.screenshot('step-5-ready');
    await next();

    // 6: the test against the identity provider passes.
    await byTestId(browser, 'wizard-step-6');
    const result = await byTestId(browser, 'test-result', 20000);
    await browser.waitUntil(async () => (await result.getAttribute('data-ok')) === 'true', {
      timeout: 20000,
      timeoutMsg: `the registration test did not pass: ${await textOf(result)}`,
    });
    await app.screenshot('step-6-test');
    const log = await idp.log();
    assert.ok(
      log.some((e) => e.endpoint === 'token' && e.grant_type === 'client_credentials' && e.secret_hint === 'Wq1'),
      'the test made a client-credentials request with the pasted secret',
    );
    await next();

    // 7: done; the registration is listed with its test result.
    await byTestId(browser, 'wizard-done');
    await app.screenshot('step-7-done');
    await (await byTestId(browser, 'wizard-close')).click();
    const row = await byTestId(browser, 'registration-row');
    assert.equal(await row.getAttribute('data-name'), 'Contoso mail');
    assert.match(await textOf(row), /passed/i);
    await app.screenshot('apps-list');
    assert.doesNotMatch(app.logs(), /Wq18Q~/, 'the secret never reaches the log');
  } finally {
    await app.stop();
  }
});
