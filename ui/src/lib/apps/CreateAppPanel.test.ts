import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('@tauri-apps/api/core', () => ({
  invoke: vi.fn(),
  // Tauri's Channel: the test plays the Rust side by calling onmessage.
  Channel: class {
    onmessage: (message: unknown) => void;
    constructor(onmessage: (message: unknown) => void) {
      this.onmessage = onmessage;
    }
  },
}));

import { invoke } from '@tauri-apps/api/core';
import type {
  CreateAppInput,
  CreateAppPlan,
  CreatedApp,
  CreateProgress,
  ErrorBody,
  PlanInput,
  RegistrationInput,
} from '../ipc/bindings';
import { answer } from '../test/ipc';
import AppsPage from './AppsPage.svelte';
import { createApp } from './create-app.svelte';
import { registrations } from './registrations.svelte';
import { CLIENT_ID, TENANT_ID, plan, presets, registration, validate } from './test-fixtures';
import { wizard } from './wizard.svelte';

type Handler = (args?: Record<string, unknown>) => unknown;

function createPlan(input: CreateAppInput): CreateAppPlan {
  const info = plan(input.plan);
  return {
    plan: info,
    sign_in_client_id: '14d82eec-204b-4c2f-b7e8-296a70dab67e',
    sign_in_client_name: 'Microsoft Graph Command Line Tools',
    sign_in_tenant: 'organizations',
    admin_scopes: [
      'openid',
      'profile',
      'https://graph.microsoft.com/Application.ReadWrite.All',
      ...(input.grant_consent ? ['https://graph.microsoft.com/DelegatedPermissionGrant.ReadWrite.All'] : []),
    ],
    grant_consent: input.grant_consent ?? false,
    secret_months: info.kind === 'confidential' ? (input.secret_months ?? 12) : null,
    requests: [
      { method: 'POST', path: '/v1.0/applications', body: info.manifest, purpose: 'Create the app registration as planned.' },
      { method: 'POST', path: '/v1.0/servicePrincipals', body: '{"appId": "<the new Application (client) ID>"}', purpose: 'Add the app to your organisation.' },
    ],
  };
}

function created(overrides: Partial<CreatedApp> = {}): CreatedApp {
  return {
    registration: registration({ name: 'Mail Connections' }),
    object_id: 'aaaaaaaa-1111-4111-8111-111111111111',
    client_id: CLIENT_ID,
    service_principal_id: 'bbbbbbbb-2222-4222-8222-222222222222',
    tenant_id: TENANT_ID,
    admin: 'alice@contoso.com',
    secret: null,
    consent: {
      needed: false,
      granted: false,
      delegated: [],
      application: [],
      message: 'No admin consent is needed: each person consents when they sign in.',
      admin_consent_url: null,
    },
    test: { ok: true, summary: 'Everything checked works.', steps: [] },
    waited_seconds: 0,
    portal_url: 'https://portal.azure.com/#view/x',
    ...overrides,
  };
}

/** The finish call, resolved by the test after it pushed progress. */
let finish: {
  progress: (p: CreateProgress) => void;
  resolve: (c: CreatedApp) => void;
  reject: (e: ErrorBody) => void;
} | null = null;

function show(overrides: Record<string, Handler> = {}) {
  answer({
    list_registrations: () => [],
    scope_presets: () => presets,
    registration_plan: (args) => plan(args?.input as PlanInput),
    validate_registration: (args) => validate(args?.input as RegistrationInput),
    create_app_plan: (args) => createPlan(args?.input as CreateAppInput),
    start_create_app: () => ({ attempt: 'a1', url: 'http://login.test/authorize?x=1', code: null, opened: true }),
    finish_create_app: (args) =>
      new Promise((resolve, reject) => {
        const channel = args?.progress as { onmessage: (p: CreateProgress) => void };
        finish = { progress: (p) => channel.onmessage(p), resolve, reject };
      }),
    cancel_create_app: () => null,
    ...overrides,
  });
  render(AppsPage);
}

const calls = (command: string) => vi.mocked(invoke).mock.calls.filter(([c]) => c === command);

beforeEach(() => {
  createApp.close();
  wizard.close();
  registrations.list = [];
  registrations.settled = false;
  finish = null;
  vi.mocked(invoke).mockReset();
});

afterEach(cleanup);

describe('create it for me', () => {
  it('is offered on the wizard’s first step and keeps the choices', async () => {
    show();
    await fireEvent.click(await screen.findByTestId('apps-setup'));
    wizard.name = 'Contoso mail';
    await fireEvent.click(await screen.findByTestId('create-for-me'));
    const panel = await screen.findByTestId('create-app');
    expect(panel.dataset.phase).toBe('plan');
    // The choices stay editable in the panel; no second "create" offer inside it.
    expect(screen.queryByTestId('create-for-me')).toBeNull();
    expect((screen.getByTestId('field-name') as HTMLInputElement).value).toBe('Contoso mail');
    const requests = await screen.findAllByTestId('create-request');
    expect(requests[0]?.textContent).toContain('/v1.0/applications');
    expect(screen.getByTestId('create-admin-scopes').textContent).toContain('Application.ReadWrite.All');
    const sent = calls('create_app_plan').at(-1)?.[1] as { input: CreateAppInput };
    expect(sent.input.plan.name).toBe('Contoso mail');
    expect(sent.input.grant_consent).toBe(true);
  });

  it('is offered on the Apps page too', async () => {
    show({ list_registrations: () => [registration()] });
    await fireEvent.click(await screen.findByTestId('apps-create'));
    expect((await screen.findByTestId('create-app')).dataset.phase).toBe('plan');
  });

  it('signs in, shows each step, then the created IDs and the test', async () => {
    show();
    await fireEvent.click(await screen.findByTestId('apps-create'));
    await screen.findAllByTestId('create-request');
    await fireEvent.click(screen.getByTestId('create-start'));
    await waitFor(() => expect(finish).not.toBeNull());
    expect(screen.getByTestId('create-sign-in-url')).toBeTruthy();
    finish!.progress({ step: 'signed_in', message: 'Signed in as alice@contoso.com.' });
    finish!.progress({ step: 'application_created', message: 'Created the app registration.' });
    finish!.progress({ step: 'waiting_for_microsoft', message: 'Waiting for Microsoft (AADSTS700016 so far).' });
    await waitFor(() => expect(screen.getByTestId('create-waiting')).toBeTruthy());
    expect(screen.getByTestId('create-steps').textContent).toContain('Created the app registration.');
    finish!.resolve(
      created({
        waited_seconds: 7,
        secret: { hint: 'Ab1', expires: '2027-06-01', requested_months: 12, capped_to_days: 90 },
        consent: {
          needed: true,
          granted: false,
          delegated: [],
          application: [],
          message: 'Admin consent was not granted here: hand the admin consent link to an administrator.',
          admin_consent_url: 'https://login.test/adminconsent?client_id=x',
        },
      }),
    );
    const done = await screen.findByTestId('create-done');
    expect((within(done).getByTestId('created-client-id') as HTMLInputElement).value).toBe(CLIENT_ID);
    expect((within(done).getByTestId('created-tenant-id') as HTMLInputElement).value).toBe(TENANT_ID);
    expect(done.textContent).toContain('90 days is the longest it accepted');
    expect(screen.getByTestId('created-waited').textContent).toContain('7 s');
    expect(screen.getByTestId('created-consent').dataset.granted).toBe('false');
    expect(screen.getByTestId('created-consent-url')).toBeTruthy();
    expect(screen.getByTestId('test-result').dataset.ok).toBe('true');
  });

  it('explains a failure and continues in the manual wizard with the choices', async () => {
    show();
    await fireEvent.click(await screen.findByTestId('apps-setup'));
    wizard.name = 'Contoso archive';
    wizard.preset = 'application';
    await fireEvent.click(await screen.findByTestId('create-for-me'));
    await screen.findAllByTestId('create-request');
    await fireEvent.click(screen.getByTestId('create-start'));
    await waitFor(() => expect(finish).not.toBeNull());
    finish!.reject({
      code: 'needs_consent',
      message: 'Microsoft Graph refused creating the app registration: your account may not do this (Authorization_RequestDenied).',
      detail: { fix: '"Users can register applications" is off in this organisation.', graph_error: 'Authorization_RequestDenied' },
    });
    const failed = await screen.findByTestId('create-failed');
    expect(failed.textContent).toContain('Users can register applications');
    await fireEvent.click(screen.getByTestId('create-continue-manual'));
    expect(screen.queryByTestId('create-app')).toBeNull();
    expect(screen.getByTestId('wizard-step-2')).toBeTruthy();
    expect(wizard.name).toBe('Contoso archive');
    expect(wizard.preset).toBe('application');
  });

  it('cancels a sign-in that is waiting', async () => {
    show();
    await fireEvent.click(await screen.findByTestId('apps-create'));
    await screen.findAllByTestId('create-request');
    await fireEvent.click(screen.getByTestId('create-start'));
    await waitFor(() => expect(finish).not.toBeNull());
    await fireEvent.click(screen.getByTestId('create-cancel'));
    expect(calls('cancel_create_app').at(-1)?.[1]).toEqual({ attempt: 'a1' });
    expect((await screen.findByTestId('create-app')).dataset.phase).toBe('plan');
  });

  it('runs the exported script with a signed-in Azure CLI only after showing it', async () => {
    show({
      azure_cli: () => ({ installed: true, signed_in: true, account: 'alice@contoso.com', tenant_id: TENANT_ID, message: 'The Azure CLI is signed in as alice@contoso.com (tenant x).' }),
      az_script: () => '#!/usr/bin/env bash\naz ad app create --display-name Mail',
      run_az_script: () => ({
        ok: true,
        exit_code: 0,
        output: 'Application (client) ID: x\n[the secret\'s value: stored in the keychain]',
        client_id: CLIENT_ID,
        tenant_id: TENANT_ID,
        registration: registration(),
        message: 'Created with the Azure CLI and saved as "Contoso mail".',
      }),
    });
    await fireEvent.click(await screen.findByTestId('apps-create'));
    const az = await screen.findByTestId('create-az');
    expect(az.textContent).toContain('signed in as alice@contoso.com');
    expect(calls('run_az_script')).toHaveLength(0);
    await fireEvent.click(screen.getByTestId('create-az-show'));
    expect((await screen.findByTestId('create-az-script')).textContent).toContain('az ad app create');
    expect(calls('run_az_script')).toHaveLength(0);
    await fireEvent.click(screen.getByTestId('create-az-run'));
    const result = await screen.findByTestId('create-az-result');
    expect(result.dataset.ok).toBe('true');
    expect(screen.getByTestId('create-az-output').textContent).toContain('stored in the keychain');
  });

  it('offers no Azure CLI run when none is signed in', async () => {
    show({ azure_cli: () => ({ installed: false, signed_in: false, account: null, tenant_id: null, message: 'not installed' }) });
    await fireEvent.click(await screen.findByTestId('apps-create'));
    await screen.findAllByTestId('create-request');
    expect(screen.queryByTestId('create-az')).toBeNull();
  });
});
