import { cleanup, fireEvent, render, screen, within } from '@testing-library/svelte';
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

import { registration } from '../apps/test-fixtures';
import { registrations } from '../apps/registrations.svelte';
import AppsPage from '../apps/AppsPage.svelte';
import { wizard } from '../apps/wizard.svelte';
import { deferred } from '../connections/testdata';
import type {
  AccessReport,
  BulkProgress,
  BulkReport,
  CheckedEntry,
  MailboxRow,
  PermissionCheck,
  Registration,
} from '../ipc/bindings';
import { answer } from '../test/ipc';
import AddMailboxesPanel from './AddMailboxesPanel.svelte';

type Handler = (args?: Record<string, unknown>) => unknown;

const org = registration({
  id: 'reg-org',
  name: 'Contoso organisation',
  kind: 'confidential',
  usage: 'application',
  preset: 'application',
  has_secret: true,
});

function permissions(granted: string[], ok = true): PermissionCheck {
  const row = (name: string, needed: boolean) => ({
    name,
    purpose: `${name} purpose`,
    needed,
    granted: granted.includes(name),
    covered_by: null,
  });
  return {
    mailbox_use: 'full',
    roles: granted,
    roles_known: true,
    permissions: [
      row('Mail.Read', false),
      row('Mail.ReadWrite', true),
      row('Mail.Send', true),
      row('User.Read.All', true),
    ],
    missing: ok ? [] : ['Mail.Send'],
    ok,
    summary: ok
      ? 'The app holds every permission reading, organising and sending mail needs.'
      : 'The app lacks Mail.Send for reading, organising and sending mail.',
  };
}

const access = (check = permissions(['Mail.ReadWrite', 'Mail.Send', 'User.Read.All'])): AccessReport => ({
  registration_id: org.id,
  registration_name: org.name,
  tenant_id: 'aaaaaaaa-0000-4000-8000-000000000001',
  token_expires_at: '2030-01-01T10:00:00Z',
  permissions: check,
});

/** Core's reading of a list: one entry a non-empty line, bad syntax when there is no @. */
function checkList(text: string): CheckedEntry[] {
  return text
    .split('\n')
    .map((line, i) => ({ line: i + 1, input: line.trim() }))
    .filter((e) => e.input !== '')
    .map((e) => ({
      ...e,
      address: e.input.includes('@') ? e.input.toLowerCase() : null,
      problem: e.input.includes('@') ? null : 'An email address needs an @ between the name and the domain.',
      duplicate_of: null,
    }));
}

function row(line: number, address: string, status: MailboxRow['status'], extra: Partial<MailboxRow> = {}): MailboxRow {
  return {
    line,
    input: address,
    address,
    display_name: null,
    status,
    connection_id: status === 'connected' || status === 'no_access' ? `conn-${line}` : null,
    problem: null,
    ...extra,
  };
}

const denied = row(2, 'denied@contoso.test', 'no_access', {
  problem: {
    code: 'needs_consent',
    message: 'Exchange keeps the app out of this mailbox.',
    detail: { fix: 'An Exchange administrator can let the app in.', request_id: 'req-42' },
  },
});

function report(rows: MailboxRow[]): BulkReport {
  return {
    registration_id: org.id,
    registration_name: org.name,
    permissions: access().permissions,
    rows,
    connected: rows.filter((r) => r.status === 'connected').length,
    already_added: 0,
    problems: rows.filter((r) => r.status === 'no_access').length,
    cancelled: false,
    summary: '2 mailboxes connected, 1 needs attention.',
  };
}

function show(handlers: Record<string, Handler>, onchanged = vi.fn()) {
  answer({
    app_access: () => access(),
    check_mailbox_list: (args) => checkList(args?.text as string),
    ...handlers,
  });
  render(AddMailboxesPanel, { registration: org, onchanged });
  return onchanged;
}

afterEach(cleanup);

describe('add organisation mailboxes', () => {
  it('shows which permissions the app holds against what the use needs', async () => {
    const appAccess = vi.fn(() => access());
    show({ app_access: appAccess });
    const table = await screen.findByTestId('mailboxes-permissions');
    expect(table.dataset.ok).toBe('true');
    const rows = within(table).getAllByTestId('permission-row');
    expect(rows.map((r) => [r.dataset.name, r.dataset.needed, r.dataset.granted])).toEqual([
      ['Mail.Read', 'false', 'false'],
      ['Mail.ReadWrite', 'true', 'true'],
      ['Mail.Send', 'true', 'true'],
      ['User.Read.All', 'true', 'true'],
    ]);
    expect(appAccess).toHaveBeenCalledWith({ registration: org.id, mailboxUse: 'full', fresh: false });

    appAccess.mockReturnValue(access(permissions(['Mail.Read', 'User.Read.All'], false)));
    await fireEvent.change(screen.getByTestId('mailboxes-use'), { target: { value: 'send' } });
    await vi.waitFor(() =>
      expect(appAccess).toHaveBeenLastCalledWith({ registration: org.id, mailboxUse: 'send', fresh: false }),
    );
    expect((await screen.findByTestId('permissions-summary')).textContent).toContain('lacks Mail.Send');
  });

  it('says the permissions are unknown when the token does not show them', async () => {
    const unknown: PermissionCheck = {
      ...permissions([]),
      roles: [],
      roles_known: false,
      missing: [],
      ok: false,
      summary: "The app's token does not show its permissions, so adding mailboxes asks Graph.",
    };
    const add = vi.fn(() => new Promise<BulkReport>(() => {}));
    show({ app_access: () => access(unknown), add_mailboxes: add });
    const table = await screen.findByTestId('mailboxes-permissions');
    expect(table.dataset.rolesKnown).toBe('false');
    expect(screen.getByTestId('permissions-unknown').textContent).toContain(
      'This token does not show its permissions; adding mailboxes asks Microsoft Graph.',
    );
    const rows = within(table).getAllByTestId('permission-row');
    expect(rows.map((r) => r.dataset.holds)).toEqual(['unknown', 'unknown', 'unknown', 'unknown']);
    for (const r of rows) {
      expect(r.textContent).toContain('Unknown');
      expect(r.textContent).not.toMatch(/\b(Yes|No)\b/);
    }
    expect(screen.getByTestId('permissions-summary').classList.contains('bad')).toBe(false);

    // Adding is still offered: Graph's answers decide.
    await fireEvent.input(screen.getByTestId('mailboxes-address'), { target: { value: 'info@contoso.test' } });
    const button = screen.getByTestId('mailboxes-add') as HTMLButtonElement;
    expect(button.disabled).toBe(false);
    await fireEvent.click(button);
    await vi.waitFor(() => expect(add).toHaveBeenCalledOnce());
  });

  it('shows held and missing permissions as such when the token shows its roles', async () => {
    show({ app_access: () => access(permissions(['Mail.ReadWrite', 'User.Read.All'], false)) });
    const table = await screen.findByTestId('mailboxes-permissions');
    expect(table.dataset.rolesKnown).toBe('true');
    expect(screen.queryByTestId('permissions-unknown')).toBeNull();
    const rows = within(table).getAllByTestId('permission-row');
    expect(rows.map((r) => r.dataset.holds)).toEqual(['false', 'true', 'false', 'true']);
    expect(screen.getByTestId('permissions-summary').classList.contains('bad')).toBe(true);
  });

  it('offers the admin consent link when consent is missing, and checks again on return', async () => {
    const url = 'https://login.microsoftonline.com/contoso.com/v2.0/adminconsent?client_id=x';
    const appAccess = vi.fn((): AccessReport => {
      throw {
        code: 'needs_consent',
        message: 'Nobody has consented to the permissions the app asks for. (AADSTS65001)',
        detail: { aadsts: 65001, fix: 'An administrator of the tenant must grant admin consent.' },
      };
    });
    show({ app_access: appAccess, admin_consent_url: () => url });
    const link = (await screen.findByTestId('mailboxes-consent-url')) as HTMLInputElement;
    expect(link.value).toBe(url);
    expect(screen.getByTestId('error-notice').textContent).toContain('AADSTS65001');
    expect((screen.getByTestId('mailboxes-add') as HTMLButtonElement).disabled).toBe(true);

    appAccess.mockImplementation(() => access());
    window.dispatchEvent(new Event('focus'));
    await screen.findByTestId('mailboxes-permissions');
    expect(appAccess).toHaveBeenLastCalledWith({ registration: org.id, mailboxUse: 'full', fresh: true });
    expect(screen.queryByTestId('mailboxes-consent')).toBeNull();
    expect((screen.getByTestId('mailboxes-add') as HTMLButtonElement).disabled).toBe(false);
  });

  it('refuses a mistyped single address before anything is sent', async () => {
    const add = vi.fn();
    show({ add_mailboxes: add });
    await fireEvent.input(screen.getByTestId('mailboxes-address'), { target: { value: 'info' } });
    await fireEvent.click(screen.getByTestId('mailboxes-add'));
    const problem = await screen.findByTestId('mailboxes-input-problem');
    expect(problem.textContent).toContain('needs an @');
    expect(add).not.toHaveBeenCalled();
  });

  it('adds a list with progress, then shows each address with its status and fix', async () => {
    const pending = deferred<BulkReport>();
    let progress: { onmessage: (p: BulkProgress) => void } | undefined;
    const add = vi.fn((args?: Record<string, unknown>) => {
      progress = args?.progress as typeof progress;
      return pending.promise;
    });
    const onchanged = show({ add_mailboxes: add });
    await fireEvent.click(screen.getByTestId('mailboxes-mode-list'));
    const text = 'user01@contoso.test\ndenied@contoso.test\ninfo@contoso.test';
    await fireEvent.input(screen.getByTestId('mailboxes-list'), { target: { value: text } });
    await vi.waitFor(() => expect(screen.getByTestId('mailboxes-preview').textContent).toContain('3 addresses'));
    expect(screen.getByTestId('mailboxes-add').textContent).toContain('Add 3 mailboxes');
    await fireEvent.click(screen.getByTestId('mailboxes-add'));

    await vi.waitFor(() => expect(add).toHaveBeenCalledTimes(1));
    const args = add.mock.calls[0]?.[0] as Record<string, unknown>;
    expect(args).toMatchObject({ registration: org.id, text, mailboxUse: 'full' });
    expect(typeof args.run).toBe('string');

    progress?.onmessage({ done: 1, total: 3, row: denied });
    const bar = await screen.findByTestId('mailboxes-progress');
    await vi.waitFor(() => expect(bar.dataset.done).toBe('1'));
    expect(bar.dataset.total).toBe('3');
    expect(screen.getByTestId('mailboxes-running').textContent).toContain('Checked 1 of 3');
    expect(screen.getAllByTestId('mailbox-result')).toHaveLength(1);

    const rows = [
      row(1, 'user01@contoso.test', 'connected', { display_name: 'User 01' }),
      denied,
      row(3, 'info@contoso.test', 'connected', { display_name: 'Info desk' }),
    ];
    pending.resolve(report(rows));
    const summary = await screen.findByTestId('mailboxes-summary');
    expect(summary.textContent).toBe('2 mailboxes connected, 1 needs attention.');
    expect(screen.queryByTestId('mailboxes-progress')).toBeNull();
    const results = screen.getAllByTestId('mailbox-result');
    expect(results.map((r) => [r.dataset.line, r.dataset.status])).toEqual([
      ['1', 'connected'],
      ['2', 'no_access'],
      ['3', 'connected'],
    ]);
    expect(results[0]?.textContent).toContain('User 01');
    expect(results[1]?.textContent).toContain('No access');
    expect(results[1]?.textContent).toContain('An Exchange administrator can let the app in.');
    expect(results[1]?.textContent).toContain('req-42');
    expect(onchanged).toHaveBeenCalled();

    await fireEvent.click(screen.getByTestId('mailboxes-more'));
    expect((screen.getByTestId('mailboxes-list') as HTMLTextAreaElement).value).toBe('');
    expect(screen.queryByTestId('mailboxes-results')).toBeNull();
  });

  it('cancels a run in progress', async () => {
    const pending = deferred<BulkReport>();
    const cancel = vi.fn();
    const add = vi.fn(() => pending.promise);
    show({ add_mailboxes: add, cancel_mailbox_add: cancel });
    await fireEvent.input(screen.getByTestId('mailboxes-address'), {
      target: { value: 'info@contoso.test' },
    });
    await fireEvent.click(screen.getByTestId('mailboxes-add'));
    await fireEvent.click(await screen.findByTestId('mailboxes-cancel'));
    const run = (add.mock.calls[0] as unknown as [Record<string, unknown>])[0].run;
    expect(cancel).toHaveBeenCalledWith({ run });
    expect(screen.getByTestId('mailboxes-running').textContent).toContain('Cancelling');
    pending.resolve({ ...report([row(1, 'info@contoso.test', 'cancelled')]), cancelled: true });
    await screen.findByTestId('mailboxes-done');
  });

  it('starts one run when the address is submitted twice while core reads it', async () => {
    const reading = deferred<CheckedEntry[]>();
    const add = vi.fn(() => new Promise<BulkReport>(() => {}));
    show({ add_mailboxes: add, check_mailbox_list: () => reading.promise });
    await fireEvent.input(screen.getByTestId('mailboxes-address'), {
      target: { value: 'info@contoso.test' },
    });
    await fireEvent.click(screen.getByTestId('mailboxes-add'));
    await fireEvent.click(screen.getByTestId('mailboxes-add'));
    reading.resolve(checkList('info@contoso.test'));
    await screen.findByTestId('mailboxes-running');
    await new Promise((r) => setTimeout(r, 0));
    expect(add).toHaveBeenCalledOnce();
  });

  it('a run refused for missing consent shows why and offers the consent link', async () => {
    const url = 'https://login.microsoftonline.com/contoso.com/v2.0/adminconsent?client_id=x';
    show({
      admin_consent_url: () => url,
      add_mailboxes: () => {
        throw { code: 'needs_consent', message: 'Nobody has consented (AADSTS65001)' };
      },
    });
    await fireEvent.input(screen.getByTestId('mailboxes-address'), {
      target: { value: 'info@contoso.test' },
    });
    await fireEvent.click(screen.getByTestId('mailboxes-add'));
    await screen.findByTestId('mailboxes-back');
    const link = (await screen.findByTestId('mailboxes-consent-url')) as HTMLInputElement;
    expect(link.value).toBe(url);
    await fireEvent.click(screen.getByTestId('mailboxes-back'));
    expect((screen.getByTestId('mailboxes-add') as HTMLButtonElement).disabled).toBe(true);
  });

  it('shows core’s refusal of a list too large next to the box, and sends nothing', async () => {
    const tooLarge = {
      code: 'validation',
      message: 'The list has 10001 lines; at most 10000 can be checked at once.',
      detail: {
        field: 'addresses',
        fix: 'Split the list into smaller parts and add them one after the other.',
      },
    };
    const add = vi.fn();
    const check = vi.fn((args?: Record<string, unknown>) => {
      const text = args?.text as string;
      if (text.split('\n').length > 3) throw tooLarge;
      return checkList(text);
    });
    show({ add_mailboxes: add, check_mailbox_list: check });
    await fireEvent.click(screen.getByTestId('mailboxes-mode-list'));
    const box = screen.getByTestId('mailboxes-list') as HTMLTextAreaElement;
    await fireEvent.input(box, { target: { value: 'a@contoso.test\nb@contoso.test\nc@contoso.test\nd@contoso.test' } });
    const error = await screen.findByTestId('mailboxes-input-error');
    expect(error.dataset.code).toBe('validation');
    expect(error.textContent).toContain('at most 10000 can be checked at once');
    expect(error.textContent).toContain('Split the list');
    expect(box.getAttribute('aria-invalid')).toBe('true');
    expect(box.getAttribute('aria-describedby')).toContain(error.id);

    await fireEvent.click(screen.getByTestId('mailboxes-add'));
    expect(add).not.toHaveBeenCalled();
    expect(screen.getByTestId('mailboxes-form')).toBeTruthy();
    expect(screen.getByTestId('mailboxes-input-error')).toBeTruthy();

    await fireEvent.input(box, { target: { value: 'a@contoso.test' } });
    await vi.waitFor(() => expect(screen.queryByTestId('mailboxes-input-error')).toBeNull());
    expect(box.getAttribute('aria-invalid')).toBeNull();
  });

  it('a run refused for the size of its text stays on the form with the reason', async () => {
    show({
      add_mailboxes: () => {
        throw {
          code: 'validation',
          message: 'The list is 1100 KiB; at most 1 MiB (1024 KiB) can be checked at once.',
          detail: { field: 'addresses' },
        };
      },
    });
    await fireEvent.input(screen.getByTestId('mailboxes-address'), { target: { value: 'info@contoso.test' } });
    await fireEvent.click(screen.getByTestId('mailboxes-add'));
    const error = await screen.findByTestId('mailboxes-input-error');
    expect(error.textContent).toContain('at most 1 MiB');
    expect(screen.queryByTestId('mailboxes-back')).toBeNull();
    const address = screen.getByTestId('mailboxes-address');
    expect(address.getAttribute('aria-invalid')).toBe('true');
    await fireEvent.input(address, { target: { value: 'sales@contoso.test' } });
    expect(screen.queryByTestId('mailboxes-input-error')).toBeNull();
  });

  it('imports a CSV file into the list', async () => {
    show({});
    await fireEvent.click(screen.getByTestId('mailboxes-mode-list'));
    const file = new File(['sales@contoso.test\nsupport@contoso.test\n'], 'mailboxes.csv', {
      type: 'text/csv',
    });
    await fireEvent.change(screen.getByTestId('mailboxes-file'), { target: { files: [file] } });
    await vi.waitFor(() =>
      expect((screen.getByTestId('mailboxes-list') as HTMLTextAreaElement).value).toContain(
        'support@contoso.test',
      ),
    );
    await vi.waitFor(() => expect(screen.getByTestId('mailboxes-preview').textContent).toContain('2 addresses'));
  });
});

describe('apps page', () => {
  beforeEach(() => {
    wizard.close();
    registrations.list = [];
    registrations.settled = false;
  });

  it('offers organisation mailboxes on apps set up for application access only', async () => {
    const desktop: Registration = registration();
    answer({
      list_registrations: () => [desktop, org],
      app_access: () => access(),
      check_mailbox_list: (args) => checkList(args?.text as string),
    });
    render(AppsPage);
    const rows = await screen.findAllByTestId('registration-row');
    const byName = (name: string) => rows.find((r) => r.dataset.name === name) as HTMLElement;
    expect(within(byName(desktop.name)).queryByTestId('reg-mailboxes')).toBeNull();
    await fireEvent.click(within(byName(org.name)).getByTestId('reg-mailboxes'));
    expect(await within(byName(org.name)).findByTestId('mailboxes-panel')).toBeTruthy();
    await within(byName(org.name)).findByTestId('mailboxes-permissions');
  });
});
