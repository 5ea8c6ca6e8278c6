// Sample data for the connections tests, shaped like core's answers.
import type { Connection, Dashboard, PresetInfo, Registration } from '../ipc/bindings';

export function registration(overrides: Partial<Registration> = {}): Registration {
  return {
    id: 'reg-contoso',
    name: 'Contoso Mail',
    client_id: '11111111-2222-3333-4444-555555555555',
    kind: 'public',
    tenant: 'contoso.onmicrosoft.com',
    cloud: 'global',
    authority_url: null,
    graph_url: null,
    imap_server: null,
    pop_server: null,
    smtp_server: null,
    usage: 'delegated',
    audience: 'my_organization',
    preset: 'send',
    redirect_uri: 'http://localhost/mailconn',
    has_secret: false,
    secret_label: null,
    secret_hint: null,
    secret_expires: null,
    last_test: null,
    connections: 0,
    created_at: '2025-03-01T09:00:00Z',
    updated_at: '2025-03-01T09:00:00Z',
    ...overrides,
  };
}

export function connection(overrides: Partial<Connection> = {}): Connection {
  return {
    id: 'conn-ada',
    registration_id: 'reg-contoso',
    registration_name: 'Contoso Mail',
    kind: 'delegated',
    account_key: 'tid.oid',
    address: 'ada@contoso.com',
    display_name: 'Ada Lovelace',
    tenant_id: '9b1c2d3e-0000-4000-8000-000000000001',
    account_type: 'work',
    preset: 'send',
    scopes_requested: ['openid', 'profile', 'email', 'offline_access', 'User.Read', 'Mail.Send'],
    scopes_granted: ['openid', 'profile', 'email', 'offline_access', 'User.Read', 'Mail.Send'],
    scopes_missing: [],
    has_refresh_token: true,
    state: 'active',
    state_reason: null,
    created_at: '2025-03-02T10:00:00Z',
    updated_at: '2025-03-02T10:00:00Z',
    last_refresh_at: null,
    access_expires_at: '2025-03-02T11:00:00Z',
    next_refresh_at: null,
    last_used_at: null,
    inactivity_deadline: null,
    alias: null,
    programs_allowed: false,
    ...overrides,
  } as Connection;
}

function preset(p: PresetInfo['preset'], label: string, description: string): PresetInfo {
  return {
    preset: p,
    label,
    description,
    delegated_scopes: [],
    permissions: [],
    admin_consent: p === 'application',
  };
}

export const presets: PresetInfo[] = [
  preset('read', 'Read mail', 'Read messages in the signed-in mailbox.'),
  preset('send', 'Send mail', 'Send messages as the signed-in user.'),
  preset('full', 'Read, write and send', 'Read, organise and send mail.'),
  preset('mail-programs', 'Mail programs (IMAP and SMTP)', 'Let mail programs sign in.'),
  preset('application', 'Application access', 'No sign-in (admin consent).'),
];

/** A promise with its settle functions outside, for answers the test releases later. */
export function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

/** `count` connections in the list's order, and a start-up answer holding the first `shown`. */
export function longListStart(count: number, shown: number) {
  const rows = Array.from({ length: count }, (_, i) => {
    const n = String(i).padStart(String(count).length, '0');
    return connection({ id: `conn-${n}`, address: `user${n}@contoso.com` });
  });
  const first = (): Dashboard => ({
    version: '9.9.9',
    data_dir: '/home/ada/.local/share/mailconn',
    registrations: [registration()],
    connections: rows.slice(0, shown),
    connections_total: count,
    reminders: [],
    theme: 'light',
  });
  return { rows, first };
}
