// Test data shaped like core's answers, for the Apps page and wizard tests.
import type {
  FieldIssue,
  PlanInfo,
  PlanInput,
  PresetInfo,
  Registration,
  RegistrationInput,
  ValidationReport,
} from '../ipc/bindings';

export const CLIENT_ID = '0d3b2f3a-1c2b-4c5d-9e8f-123456789abc';
export const TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const SECRET_ID = '3f2b7c1e-9a4d-4e1f-8b2a-5c6d7e8f9a0b';

const preset = (
  id: PresetInfo['preset'],
  label: string,
  admin_consent = false,
): PresetInfo => ({
  preset: id,
  label,
  description: `${label} description.`,
  delegated_scopes: [],
  permissions: [],
  admin_consent,
});

export const presets: PresetInfo[] = [
  preset('read', 'Read mail'),
  preset('send', 'Send mail'),
  preset('full', 'Read, write and send'),
  preset('full-calendar', 'Mail and calendar'),
  preset('mail-programs', 'Mail programs (IMAP and SMTP)'),
  preset('application', 'Application access', true),
];

/** The app's own redirect URI, as core names it in every plan. */
export const DEEP_LINK_REDIRECT = 'mailconn://auth';

/** Core's plan for the choices: application access makes a Web app; tenants fit the audience. */
export function plan(input: PlanInput): PlanInfo {
  const application = input.usage !== 'delegated';
  const kind = application ? 'confidential' : input.kind;
  const desktop = kind === 'public';
  const tenant: Pick<PlanInfo, 'tenant_hint' | 'tenant_suggestions'> =
    input.audience === 'my_organization'
      ? { tenant_hint: 'directory_id', tenant_suggestions: [] }
      : application
        ? { tenant_hint: 'one_organization', tenant_suggestions: [] }
        : input.audience === 'any_organization'
          ? { tenant_hint: 'any_organization', tenant_suggestions: ['organizations', 'common'] }
          : { tenant_hint: 'any_account', tenant_suggestions: ['common'] };
  return {
    kind,
    kind_fixed: application,
    deep_link_redirect_uri: DEEP_LINK_REDIRECT,
    ...tenant,
    redirect_uri: desktop ? 'http://localhost' : 'http://localhost/callback',
    platform: desktop ? 'Mobile and desktop applications' : 'Web',
    account_types:
      input.audience === 'my_organization'
        ? 'Accounts in this organizational directory only (Single tenant)'
        : 'Accounts in any organizational directory (Any Microsoft Entra ID tenant - Multitenant)',
    permissions: [
      {
        name: 'Mail.Read',
        kind: 'delegated',
        api: 'Microsoft Graph',
        api_id: '00000003-0000-0000-c000-000000000000',
        id: '570282fd-fa5c-430d-a7fd-fc8dc98a9dca',
        admin_consent: false,
      },
      ...(application
        ? [
            {
              name: 'Mail.ReadWrite',
              kind: 'application' as const,
              api: 'Microsoft Graph',
              api_id: '00000003-0000-0000-c000-000000000000',
              id: 'e2a3a72e-5f79-4c64-b1b1-878b674786c9',
              admin_consent: true,
            },
          ]
        : []),
    ],
    admin_consent: application,
    secret_needed: !desktop,
    portal: 'https://portal.azure.com',
    portal_new_registration_url:
      'https://portal.azure.com/#view/Microsoft_AAD_RegisteredApps/CreateApplicationBlade',
    manifest: `{\n  "displayName": "${input.name}"\n}`,
    az_script: `#!/usr/bin/env bash\napp_id=$(az ad app create --display-name '${input.name}')\n`,
  };
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A small stand-in for core's validation: enough rules for the UI to show what core says. */
export function validate(input: RegistrationInput): ValidationReport {
  const errors: FieldIssue[] = [];
  const warnings: FieldIssue[] = [];
  if (!input.name.trim()) errors.push({ field: 'name', message: 'Give the app a name.' });
  if (input.audience === 'any_organization_and_personal' && !['global', 'custom'].includes(input.cloud))
    errors.push({
      field: 'audience',
      message: 'Personal Microsoft accounts (Outlook.com, Hotmail) exist only in the global cloud.',
    });
  if (!GUID.test(input.client_id))
    errors.push({ field: 'client_id', message: 'The Application (client) ID is a GUID.' });
  const generic = ['common', 'organizations', 'consumers'].includes(input.tenant);
  if (!input.tenant) errors.push({ field: 'tenant', message: 'Paste the Directory (tenant) ID.' });
  else if (input.usage !== 'delegated' && generic)
    errors.push({
      field: 'tenant',
      message: `Application access needs your tenant ID, not '${input.tenant}'.`,
    });
  if (input.kind === 'confidential') {
    if (!input.secret)
      errors.push({ field: 'secret', message: 'A Web app needs its client secret Value.' });
    else if (GUID.test(input.secret))
      errors.push({ field: 'secret', message: 'This is the Secret ID. Paste the Value column instead.' });
    if (input.secret && !input.secret_expires)
      warnings.push({ field: 'secret_expires', message: 'Enter the expiry date.' });
  }
  return { errors, warnings };
}

export function registration(overrides: Partial<Registration> = {}): Registration {
  return {
    id: 'reg-1',
    name: 'Contoso mail',
    client_id: CLIENT_ID,
    kind: 'public',
    tenant: TENANT_ID,
    cloud: 'global',
    authority_url: null,
    graph_url: null,
    imap_server: null,
    pop_server: null,
    smtp_server: null,
    usage: 'delegated',
    audience: 'my_organization',
    preset: 'read',
    redirect_uri: 'http://localhost',
    has_secret: false,
    secret_label: null,
    secret_hint: null,
    secret_expires: null,
    last_test: null,
    connections: 0,
    created_at: '2025-01-10T09:00:00Z',
    updated_at: '2025-01-10T09:00:00Z',
    ...overrides,
  };
}

/** A `RegistrationInput` as saved: the registration core would answer with. */
export function saved(input: RegistrationInput, id = 'reg-new'): Registration {
  return registration({
    id,
    name: input.name,
    client_id: input.client_id,
    kind: input.kind,
    tenant: input.tenant,
    cloud: input.cloud,
    usage: input.usage,
    audience: input.audience,
    preset: input.preset,
    has_secret: !!input.secret,
    secret_expires: input.secret_expires ?? null,
  });
}
