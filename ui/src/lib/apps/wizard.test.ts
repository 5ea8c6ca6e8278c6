import { cleanup, fireEvent, render, screen, within } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn() }));

import type { PlanInput, RegistrationInput, ProbeReport } from '../ipc/bindings';
import { nav } from '../nav/nav.svelte';
import { answer } from '../test/ipc';
import AppsPage from './AppsPage.svelte';
import { addDays } from './labels';
import { registrations } from './registrations.svelte';
import { selection } from './selection.svelte';
import {
  CLIENT_ID,
  plan,
  presets,
  registration,
  SECRET_ID,
  saved,
  TENANT_ID,
  validate,
} from './test-fixtures';
import { wizard } from './wizard.svelte';

type Handler = (args?: Record<string, unknown>) => unknown;

const passing: ProbeReport = {
  ok: true,
  summary: 'Everything checked works.',
  steps: [{ name: 'Tenant and cloud', status: 'passed', message: 'The tenant answers.' }],
};

/** Core's commands as the wizard uses them; each test overrides what it is about. */
function handlers(overrides: Record<string, Handler> = {}) {
  const calls = {
    create: vi.fn((args?: Record<string, unknown>) => ({
      registration: saved(args?.input as RegistrationInput),
      warnings: { errors: [], warnings: [] },
    })),
    update: vi.fn((args?: Record<string, unknown>) => ({
      registration: saved(args?.input as RegistrationInput, args?.id as string),
      warnings: { errors: [], warnings: [] },
    })),
    test: vi.fn((): ProbeReport => passing),
    validate: vi.fn((args?: Record<string, unknown>) => validate(args?.input as RegistrationInput)),
  };
  answer({
    list_registrations: () => [],
    scope_presets: () => presets,
    registration_plan: (args) => plan(args?.input as PlanInput),
    validate_registration: calls.validate,
    create_registration: calls.create,
    update_registration: calls.update,
    probe_registration: calls.test,
    open_url: () => undefined,
    ...overrides,
  });
  return calls;
}

const byId = (id: string) => screen.getByTestId(id);
const input = (id: string) => screen.getByTestId(id) as HTMLInputElement;

async function type(testid: string, value: string) {
  await fireEvent.input(input(testid), { target: { value } });
}

async function next() {
  await fireEvent.click(byId('wizard-next'));
}

async function back() {
  await fireEvent.click(byId('wizard-back'));
}

/** Opens the Apps page (no registrations yet) and starts the wizard. */
async function startWizard() {
  render(AppsPage);
  await fireEvent.click(await screen.findByTestId('apps-setup'));
  await screen.findByTestId('preset-read');
  return byId('wizard');
}

/** From step 1 to step 5, waiting for the portal instructions on the way. */
async function toStep5() {
  await next();
  await screen.findByTestId('redirect-uri');
  await next();
  await next();
  await next();
  byId('wizard-step-5');
}

beforeEach(() => {
  wizard.close();
  wizard.presets = null;
  registrations.list = [];
  registrations.settled = false;
  selection.lastCreatedRegistrationId = null;
  nav.go('apps');
});

afterEach(cleanup);

describe('set-up wizard', () => {
  it('keeps everything typed and chosen when going back and forth', async () => {
    handlers();
    await startWizard();
    byId('wizard-step-1');
    expect(input('field-name').value).toBe('Mail Connections');

    await type('field-name', 'Contoso mail');
    await fireEvent.click(byId('audience-any_organization'));
    await fireEvent.click(byId('preset-full'));
    await fireEvent.click(byId('usage-both'));
    await fireEvent.change(byId('cloud-select'), { target: { value: 'custom' } });
    await type('field-authority-url', 'https://login.example.test');
    await type('field-graph-url', 'https://graph.example.test');

    await toStep5();
    await type('field-client-id', CLIENT_ID);
    await type('field-tenant', TENANT_ID);
    await type('field-secret', 'abc8Q~value');

    for (let step = 4; step >= 1; step--) {
      await back();
      byId(`wizard-step-${step}`);
    }
    expect(input('field-name').value).toBe('Contoso mail');
    expect(input('audience-any_organization').checked).toBe(true);
    expect(input('preset-full').checked).toBe(true);
    expect(input('usage-both').checked).toBe(true);
    // Application access needs a Web app: the advanced option follows and cannot be unticked.
    expect(input('kind-confidential').checked).toBe(true);
    expect(input('kind-confidential').disabled).toBe(true);
    expect((byId('cloud-select') as HTMLSelectElement).value).toBe('custom');
    expect(input('field-authority-url').value).toBe('https://login.example.test');
    expect(input('field-graph-url').value).toBe('https://graph.example.test');

    await toStep5();
    expect(input('field-client-id').value).toBe(CLIENT_ID);
    expect(input('field-tenant').value).toBe(TENANT_ID);
    expect(input('field-secret').value).toBe('abc8Q~value');
  });

  it('shows the portal instructions core planned for the choices', async () => {
    const planCalls = vi.fn((args?: Record<string, unknown>) => plan(args?.input as PlanInput));
    handlers({ registration_plan: planCalls });
    await startWizard();
    await next();

    expect((await screen.findByTestId('redirect-uri')) as HTMLInputElement).toHaveProperty(
      'value',
      'http://localhost',
    );
    expect(byId('plan-platform').textContent).toBe('Mobile and desktop applications');
    expect(byId('plan-account-types').textContent).toContain('Single tenant');
    expect(byId('public-client-flows').textContent).toContain('Allow public client flows');
    expect(planCalls).toHaveBeenLastCalledWith(
      expect.objectContaining({
        input: expect.objectContaining({ kind: 'public', usage: 'delegated', preset: 'read' }),
      }),
    );

    // A Web app gets a new plan: another platform and redirect URI, and no public client flows.
    await back();
    await fireEvent.click(byId('kind-confidential'));
    await next();
    expect(byId('wizard-next')).toHaveProperty('disabled', true);
    await vi.waitFor(() => expect(input('redirect-uri').value).toBe('http://localhost/callback'));
    expect(byId('plan-platform').textContent).toBe('Web');
    expect(screen.queryByTestId('public-client-flows')).toBeNull();

    await next();
    const permissions = byId('permissions');
    expect(within(permissions).getByText('Mail.Read')).toBeTruthy();
    expect(screen.queryByTestId('admin-consent-note')).toBeNull();
    expect(byId('export-az').textContent).toContain('az ad app create');
    expect(byId('export-manifest').textContent).toContain('"displayName"');
  });

  it('skips the secret step for desktop apps', async () => {
    handlers();
    await startWizard();
    await next();
    await screen.findByTestId('redirect-uri');
    await next();
    await next();
    expect(byId('secret-skip').textContent).toContain('Desktop apps have no secret');
    await next();
    byId('wizard-step-5');
    expect(screen.queryByTestId('field-secret')).toBeNull();
  });

  it('shows the admin consent note for application access', async () => {
    handlers();
    await startWizard();
    await fireEvent.click(byId('preset-application'));
    expect(byId('preset-application').closest('label')?.textContent).toContain('Needs admin consent');
    expect(screen.queryByTestId('usage-both')).toBeNull();
    await next();
    await screen.findByTestId('redirect-uri');
    await next();
    expect(byId('admin-consent-note').textContent).toContain('Grant admin consent');
    expect(within(byId('permissions')).getByText('Application')).toBeTruthy();
  });

  it('shows a choice core refuses on step 1 as soon as it is made', async () => {
    handlers();
    await startWizard();
    await fireEvent.click(byId('audience-any_organization_and_personal'));
    await fireEvent.change(byId('cloud-select'), { target: { value: 'china' } });
    const error = await screen.findByTestId('error-audience');
    expect(error.textContent).toContain('only in the global cloud');
    const group = byId('audience-any_organization_and_personal').closest('fieldset');
    expect(group?.getAttribute('aria-describedby')).toContain(error.id);

    await fireEvent.change(byId('cloud-select'), { target: { value: 'global' } });
    await vi.waitFor(() => expect(screen.queryByTestId('error-audience')).toBeNull());
  });

  it('shows a client ID error from core next to the field', async () => {
    handlers();
    await startWizard();
    await toStep5();
    expect(screen.queryByTestId('error-client_id')).toBeNull();

    await type('field-client-id', 'not-a-guid');
    const error = await screen.findByTestId('error-client_id');
    expect(error.textContent).toContain('The Application (client) ID is a GUID.');
    const field = input('field-client-id');
    expect(field.getAttribute('aria-invalid')).toBe('true');
    expect(field.getAttribute('aria-describedby')).toContain(error.id);

    await type('field-client-id', CLIENT_ID);
    await vi.waitFor(() => expect(screen.queryByTestId('error-client_id')).toBeNull());
    expect(field.hasAttribute('aria-invalid')).toBe(false);
  });

  it('says so under the secret field when the Secret ID is pasted', async () => {
    handlers();
    await startWizard();
    await fireEvent.click(byId('kind-confidential'));
    await toStep5();

    const secret = input('field-secret');
    expect(secret.type).toBe('password');
    await type('field-secret', SECRET_ID);
    const error = await screen.findByTestId('error-secret');
    expect(error.textContent).toContain('This is the Secret ID');
    expect(secret.getAttribute('aria-describedby')).toContain(error.id);
    // The error sits with the secret field, not somewhere else on the page.
    expect(secret.closest('.field')?.contains(error)).toBe(true);

    await fireEvent.click(byId('secret-show'));
    expect(secret.type).toBe('text');
  });

  it('refuses "common" for application access on step 5', async () => {
    const calls = handlers();
    await startWizard();
    await fireEvent.click(byId('preset-application'));
    await toStep5();
    await type('field-client-id', CLIENT_ID);
    await type('field-tenant', 'common');
    await type('field-secret', 'abc8Q~value');

    const error = await screen.findByTestId('error-tenant');
    expect(error.textContent).toBe("Application access needs your tenant ID, not 'common'.");
    expect(input('field-tenant').getAttribute('aria-invalid')).toBe('true');

    await next();
    expect(calls.create).not.toHaveBeenCalled();
    byId('wizard-step-5');
    // The blocked save takes the user to the field to fix.
    await vi.waitFor(() => expect(document.activeElement).toBe(input('field-tenant')));
  });

  it('shows errors of earlier steps on step 5 with a way back to the field', async () => {
    handlers();
    await startWizard();
    await type('field-name', '');
    await toStep5();

    const error = await screen.findByTestId('error-name');
    expect(error.textContent).toBe('Give the app a name.');
    await fireEvent.click(byId('fix-name'));
    byId('wizard-step-1');
    expect(byId('error-name').textContent).toBe('Give the app a name.');
    expect(input('field-name').getAttribute('aria-invalid')).toBe('true');
  });

  it('creates the registration with the kind and usage of step 1, then forgets the secret', async () => {
    const calls = handlers();
    await startWizard();
    await type('field-name', 'Contoso mail');
    await fireEvent.click(byId('preset-send'));
    await fireEvent.click(byId('usage-both'));
    await next();
    await screen.findByTestId('redirect-uri');
    await next();
    await next();
    await fireEvent.click(byId('expiry-6'));
    await next();
    await type('field-client-id', CLIENT_ID);
    await type('field-tenant', TENANT_ID);
    await type('field-secret', 'abc8Q~value');
    await next();

    await vi.waitFor(() => expect(calls.create).toHaveBeenCalledTimes(1));
    expect(calls.create.mock.calls[0]?.[0]).toEqual({
      input: {
        name: 'Contoso mail',
        client_id: CLIENT_ID,
        kind: 'confidential',
        tenant: TENANT_ID,
        cloud: 'global',
        usage: 'both',
        audience: 'my_organization',
        preset: 'send',
        secret: 'abc8Q~value',
        secret_expires: addDays(new Date(), 180),
      },
    });
    await screen.findByTestId('wizard-step-6');
    expect(wizard.secret).toBe('');
    await vi.waitFor(() => expect(calls.test).toHaveBeenCalledWith({ id: 'reg-new' }));
    expect((await screen.findByTestId('test-result')).dataset.ok).toBe('true');
  });

  it('asks for mail servers outside the global cloud and sends them with the registration', async () => {
    const calls = handlers();
    await startWizard();
    expect(screen.queryByTestId('mail-servers')).toBeNull();
    await fireEvent.change(byId('cloud-select'), { target: { value: 'custom' } });
    await type('field-authority-url', 'http://127.0.0.1:9000');
    await type('field-graph-url', 'http://127.0.0.1:9001');
    byId('mail-servers');
    await type('field-imap-server', 'plain://127.0.0.1:1143');
    await type('field-smtp-server', 'smtp.example.test:587');
    await fireEvent.change(byId('cloud-select'), { target: { value: 'gcc-high' } });
    expect(input('field-imap-server').value).toBe('plain://127.0.0.1:1143');
    await fireEvent.change(byId('cloud-select'), { target: { value: 'custom' } });
    await toStep5();
    await type('field-client-id', CLIENT_ID);
    await type('field-tenant', TENANT_ID);
    await next();

    await vi.waitFor(() => expect(calls.create).toHaveBeenCalledTimes(1));
    const sent = calls.create.mock.calls[0]?.[0] as { input: RegistrationInput };
    expect(sent.input.imap_server).toBe('plain://127.0.0.1:1143');
    expect(sent.input.smtp_server).toBe('smtp.example.test:587');
    expect('pop_server' in sent.input).toBe(false);
  });

  it('keeps a registration\'s mail servers when it is edited', async () => {
    const calls = handlers();
    render(AppsPage);
    wizard.edit(registration({ cloud: 'china', imap_server: 'mail.example.cn:993', smtp_server: 'starttls://smtp.example.cn:587' }));
    await screen.findByTestId('wizard-step-5');
    await next();
    await vi.waitFor(() => expect(calls.update).toHaveBeenCalledTimes(1));
    const sent = calls.update.mock.calls[0]?.[0] as { input: RegistrationInput };
    expect(sent.input.imap_server).toBe('mail.example.cn:993');
    expect(sent.input.smtp_server).toBe('starttls://smtp.example.cn:587');
  });

  it('shows a mail server error from core next to its field', async () => {
    handlers({
      validate_registration: () => ({
        errors: [{ field: 'imap_server', message: 'IMAP server: add the port: HOST:PORT, for example outlook.office365.com:993.' }],
        warnings: [],
      }),
    });
    await startWizard();
    await fireEvent.change(byId('cloud-select'), { target: { value: 'dod' } });
    await type('field-imap-server', 'imap.example.test');
    expect(await screen.findByText('IMAP server: add the port: HOST:PORT, for example outlook.office365.com:993.')).toBeTruthy();
  });

  it('creates a desktop app without secret or expiry', async () => {
    const calls = handlers();
    await startWizard();
    await toStep5();
    await type('field-client-id', CLIENT_ID);
    await type('field-tenant', TENANT_ID);
    await next();
    await vi.waitFor(() => expect(calls.create).toHaveBeenCalledTimes(1));
    expect(calls.create.mock.calls[0]?.[0]).toEqual({
      input: expect.objectContaining({ kind: 'public', usage: 'delegated', preset: 'read' }),
    });
    const sent = (calls.create.mock.calls[0]?.[0] as { input: RegistrationInput }).input;
    expect(sent.secret).toBeUndefined();
    expect(sent.secret_expires).toBeUndefined();
  });

  it('puts a field error from saving next to its field, and other errors in a notice', async () => {
    let fail: 'field' | 'keychain' = 'field';
    const calls = handlers({
      create_registration: () => {
        throw fail === 'field'
          ? { code: 'validation', message: 'Core says the tenant is wrong.', detail: { field: 'tenant' } }
          : {
              code: 'keychain_locked',
              message: 'The keychain is locked.',
              detail: { fix: 'Unlock it, then try again.' },
            };
      },
    });
    await startWizard();
    await toStep5();
    await type('field-client-id', CLIENT_ID);
    await type('field-tenant', TENANT_ID);
    await vi.waitFor(() => expect(calls.validate).toHaveBeenCalled());
    await next();
    expect((await screen.findByTestId('error-tenant')).textContent).toBe('Core says the tenant is wrong.');
    expect(screen.queryByTestId('error-notice')).toBeNull();

    fail = 'keychain';
    await next();
    const notice = await screen.findByTestId('error-notice');
    expect(notice.dataset.code).toBe('keychain_locked');
    expect(notice.textContent).toContain('Unlock it, then try again.');
    byId('wizard-step-5');
  });

  it('updates instead of creating when the user comes back to fix something', async () => {
    const calls = handlers();
    await startWizard();
    await fireEvent.click(byId('kind-confidential'));
    await toStep5();
    await type('field-client-id', CLIENT_ID);
    await type('field-tenant', TENANT_ID);
    await type('field-secret', 'abc8Q~value');
    await next();
    await screen.findByTestId('wizard-step-6');

    await back();
    byId('wizard-step-5');
    expect(input('field-secret').value).toBe('');
    expect(input('field-secret').placeholder).toContain('keep the stored secret');
    await type('field-tenant', 'contoso.onmicrosoft.com');
    await vi.waitFor(() => expect(calls.validate).toHaveBeenLastCalledWith(
      expect.objectContaining({ input: expect.objectContaining({ tenant: 'contoso.onmicrosoft.com' }) }),
    ));
    // Core wants a secret; the stored one stands in, so that error is not shown.
    expect(screen.queryByTestId('error-secret')).toBeNull();
    await next();

    await vi.waitFor(() => expect(calls.update).toHaveBeenCalledTimes(1));
    expect(calls.create).toHaveBeenCalledTimes(1);
    const args = calls.update.mock.calls[0]?.[0] as { id: string; input: RegistrationInput };
    expect(args.id).toBe('reg-new');
    expect(args.input.tenant).toBe('contoso.onmicrosoft.com');
    expect(args.input.secret).toBeUndefined();
  });

  it('shows a failed test step with its AADSTS code, fix and support IDs, and tests again', async () => {
    const failing: ProbeReport = {
      ok: false,
      summary: 'The client secret is wrong.',
      steps: [
        { name: 'Tenant and cloud', status: 'passed', message: 'The tenant answers.' },
        {
          name: 'Client ID and secret',
          status: 'failed',
          message: 'The client secret is wrong.',
          error: {
            code: 'identity_provider',
            message: 'The client secret is wrong.',
            detail: {
              aadsts: 7000215,
              fix: 'Paste the secret Value, not the Secret ID.',
              trace_id: 'trace-1234',
              correlation_id: 'corr-5678',
            },
          },
        },
      ],
    };
    const runTest = vi.fn(() => failing);
    const calls = handlers({ probe_registration: runTest });
    await startWizard();
    await fireEvent.click(byId('kind-confidential'));
    await toStep5();
    await type('field-client-id', CLIENT_ID);
    await type('field-tenant', TENANT_ID);
    await type('field-secret', 'abc8Q~value');
    await next();

    const result = await screen.findByTestId('test-result');
    expect(result.dataset.ok).toBe('false');
    const failed = within(result)
      .getAllByTestId('test-step')
      .find((step) => step.dataset.status === 'failed');
    expect(failed?.textContent).toContain('Client ID and secret');
    const support = within(failed as HTMLElement).getByTestId('error-support').textContent ?? '';
    expect(support).toContain('AADSTS7000215');
    expect(support).toContain('trace-1234');
    expect(support).toContain('corr-5678');
    expect(failed?.textContent).toContain('Paste the secret Value, not the Secret ID.');
    expect(calls.create).toHaveBeenCalledTimes(1);

    expect(runTest).toHaveBeenCalledTimes(1);
    await fireEvent.click(byId('wizard-test-again'));
    await vi.waitFor(() => expect(runTest).toHaveBeenCalledTimes(2));
    expect((await screen.findByTestId('test-result')).dataset.ok).toBe('false');
    await fireEvent.click(byId('wizard-fix'));
    byId('wizard-step-5');
  });

  it('finishes by handing the new registration to the Connections page', async () => {
    handlers();
    await startWizard();
    await toStep5();
    await type('field-client-id', CLIENT_ID);
    await type('field-tenant', TENANT_ID);
    await next();
    await screen.findByTestId('test-result');
    await next();

    const done = byId('wizard-done');
    expect(done.textContent).toContain(CLIENT_ID);
    expect(screen.queryByTestId('org-mailboxes-later')).toBeNull();
    await fireEvent.click(byId('wizard-connect'));
    expect(selection.lastCreatedRegistrationId).toBe('reg-new');
    expect(nav.current).toBe('connections');
    expect(wizard.open).toBe(false);
  });

  it('mentions organisation mailboxes for application access, and goes back to the apps', async () => {
    handlers();
    await startWizard();
    await fireEvent.click(byId('preset-application'));
    await toStep5();
    await type('field-client-id', CLIENT_ID);
    await type('field-tenant', TENANT_ID);
    await type('field-secret', 'abc8Q~value');
    await next();
    await screen.findByTestId('test-result');
    await next();

    expect(byId('org-mailboxes-later').textContent).toContain('Add organisation mailboxes');
    await fireEvent.click(byId('wizard-close'));
    expect(screen.queryByTestId('wizard')).toBeNull();
    await screen.findByTestId('apps-empty');
  });

  it('hints the tenant value that fits the audience', async () => {
    handlers();
    await startWizard();
    await toStep5();
    expect(byId('tenant-hint').textContent).toContain('Directory (tenant) ID GUID from Overview');
    expect(screen.queryByTestId('tenant-suggest-common')).toBeNull();

    await fireEvent.click(byId('wizard-indicator-1').querySelector('button') as HTMLElement);
    await fireEvent.click(byId('audience-any_organization_and_personal'));
    await fireEvent.click(byId('wizard-indicator-5').querySelector('button') as HTMLElement);
    // The hint comes with core's plan for the new audience.
    await vi.waitFor(() => expect(byId('tenant-hint').textContent).toContain('common'));
    await fireEvent.click(byId('tenant-suggest-common'));
    expect(input('field-tenant').value).toBe('common');
  });
});
