import { cleanup, fireEvent, render, screen, within } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn() }));

import type { PlanInput, Registration, RegistrationInput, ProbeReport } from '../ipc/bindings';
import { answer } from '../test/ipc';
import AppsPage from './AppsPage.svelte';
import { addDays } from './labels';
import { registrations } from './registrations.svelte';
import { CLIENT_ID, plan, presets, registration, saved, validate } from './test-fixtures';
import { wizard } from './wizard.svelte';

type Handler = (args?: Record<string, unknown>) => unknown;

const desktop = registration();
const web = registration({
  id: 'reg-2',
  name: 'Contoso shared mailboxes',
  client_id: '11111111-2222-4333-8444-555555555555',
  kind: 'confidential',
  usage: 'both',
  has_secret: true,
  secret_hint: 'abc',
  secret_expires: addDays(new Date(), 10),
  redirect_uri: 'http://localhost/callback',
  last_test: { at: '2025-02-01T10:00:00Z', ok: false, summary: 'The client secret is wrong.' },
  connections: 2,
});

function showApps(list: Registration[], overrides: Record<string, Handler> = {}) {
  answer({
    list_registrations: () => list,
    scope_presets: () => presets,
    registration_plan: (args) => plan(args?.input as PlanInput),
    validate_registration: (args) => validate(args?.input as RegistrationInput),
    ...overrides,
  });
  render(AppsPage);
}

const row = async (name: string) => {
  const rows = await screen.findAllByTestId('registration-row');
  const found = rows.find((r) => r.dataset.name === name);
  if (!found) throw new Error(`no row ${name}`);
  return found;
};

beforeEach(() => {
  wizard.close();
  registrations.list = [];
  registrations.settled = false;
});

afterEach(cleanup);

describe('apps page', () => {
  it('offers the set-up wizard when there are no apps', async () => {
    showApps([]);
    const setup = await screen.findByTestId('apps-setup');
    expect(screen.getByTestId('apps-empty')).toBeTruthy();
    expect((setup as HTMLButtonElement).disabled).toBe(false);
    await fireEvent.click(setup);
    expect(screen.getByTestId('wizard')).toBeTruthy();
    expect(screen.getByTestId('wizard-step-1')).toBeTruthy();
  });

  it('lists each registration with its facts', async () => {
    showApps([desktop, web]);
    const first = await row('Contoso mail');
    expect(within(first).getByTestId('reg-client-id').textContent).toBe(CLIENT_ID);
    expect(first.textContent).toContain('Desktop (public)');
    expect(within(first).getByTestId('reg-secret-expiry').textContent).toContain('None');
    expect(within(first).getByTestId('reg-last-test').textContent).toContain('Not tested');

    const second = await row('Contoso shared mailboxes');
    expect(second.textContent).toContain('Web (confidential)');
    expect(second.textContent).toContain('Sign-in + application access');
    const expiry = within(second).getByTestId('reg-secret-expiry');
    expect(expiry.dataset.tone).toBe('warn');
    expect(expiry.textContent).toContain('Expires in 10 days');
    const lastTest = within(second).getByTestId('reg-last-test');
    expect(lastTest.dataset.ok).toBe('false');
    expect(lastTest.textContent).toContain('Failed');
    expect(lastTest.textContent).toContain('The client secret is wrong.');
    expect(within(second).getByTestId('reg-connections').textContent).toBe('2');

    await fireEvent.click(screen.getByTestId('apps-add'));
    expect(screen.getByTestId('wizard-step-1')).toBeTruthy();
  });

  it('marks an expired secret', async () => {
    showApps([{ ...web, secret_expires: addDays(new Date(), -3) }]);
    const expiry = within(await row(web.name)).getByTestId('reg-secret-expiry');
    expect(expiry.dataset.tone).toBe('danger');
    expect(expiry.textContent).toContain('Expired');
  });

  it('tests a registration in place and refreshes the list', async () => {
    const report: ProbeReport = {
      ok: true,
      summary: 'Everything checked works.',
      steps: [{ name: 'Tenant and cloud', status: 'passed', message: 'The tenant answers.' }],
    };
    const list = vi.fn(() => [desktop]);
    const test = vi.fn(() => report);
    showApps([], { list_registrations: list, probe_registration: test });
    const r = await row(desktop.name);
    await fireEvent.click(within(r).getByTestId('reg-test'));
    const result = await within(r).findByTestId('test-result');
    expect(result.dataset.ok).toBe('true');
    expect(test).toHaveBeenCalledWith({ id: desktop.id });
    await vi.waitFor(() => expect(list).toHaveBeenCalledTimes(2));
  });

  it('shows the admin consent link, and core’s refusal for personal accounts', async () => {
    const url = 'https://login.microsoftonline.com/contoso/v2.0/adminconsent?client_id=x';
    const personal = { ...desktop, id: 'reg-p', name: 'Personal', tenant: 'consumers' };
    const openUrl = vi.fn();
    showApps([desktop, personal], {
      admin_consent_url: (args) => {
        if (args?.id === 'reg-p')
          throw {
            code: 'validation',
            message: 'Personal accounts have no administrator.',
            detail: { field: 'tenant' },
          };
        return url;
      },
      open_url: openUrl,
    });
    const first = await row(desktop.name);
    await fireEvent.click(within(first).getByTestId('reg-consent'));
    const field = (await within(first).findByTestId('consent-url')) as HTMLInputElement;
    expect(field.value).toBe(url);
    await fireEvent.click(within(first).getByTestId('consent-open'));
    expect(openUrl).toHaveBeenCalledWith({ url });

    const second = await row('Personal');
    await fireEvent.click(within(second).getByTestId('reg-consent'));
    const notice = await within(second).findByTestId('error-notice');
    expect(notice.textContent).toContain('Personal accounts have no administrator.');
  });

  it('exports the script and manifest planned from the registration', async () => {
    const planned = vi.fn((args?: Record<string, unknown>) => plan(args?.input as PlanInput));
    showApps([web], { registration_plan: planned });
    const r = await row(web.name);
    await fireEvent.click(within(r).getByTestId('reg-export'));
    expect((await within(r).findByTestId('export-az')).textContent).toContain('az ad app create');
    expect(within(r).getByTestId('export-manifest').textContent).toContain(web.name);
    expect(planned).toHaveBeenCalledWith({
      input: {
        name: web.name,
        kind: 'confidential',
        usage: 'both',
        audience: 'my_organization',
        preset: 'read',
        cloud: 'global',
        redirect_uri: 'http://localhost/callback',
      },
    });
  });

  it('edits a registration at step 5 and keeps the stored secret when the field is empty', async () => {
    const update = vi.fn((args?: Record<string, unknown>) => ({
      registration: saved(args?.input as RegistrationInput, args?.id as string),
      warnings: { errors: [], warnings: [] },
    }));
    showApps([web], {
      update_registration: update,
      probe_registration: () => ({ ok: true, summary: 'ok', steps: [] }),
    });
    await fireEvent.click(within(await row(web.name)).getByTestId('reg-edit'));
    expect(screen.getByTestId('wizard-step-5')).toBeTruthy();
    expect(screen.getByRole('heading', { level: 1 }).textContent).toContain(web.name);
    expect((screen.getByTestId('field-client-id') as HTMLInputElement).value).toBe(web.client_id);
    expect((screen.getByTestId('field-tenant') as HTMLInputElement).value).toBe(web.tenant);
    expect((screen.getByTestId('field-secret') as HTMLInputElement).value).toBe('');

    await fireEvent.click(screen.getByTestId('wizard-next'));
    await vi.waitFor(() => expect(update).toHaveBeenCalledTimes(1));
    const args = update.mock.calls[0]?.[0] as { id: string; input: RegistrationInput };
    expect(args.id).toBe(web.id);
    expect(args.input).toMatchObject({
      kind: 'confidential',
      usage: 'both',
      secret_expires: web.secret_expires,
      redirect_uri: web.redirect_uri,
    });
    expect(args.input.secret).toBeUndefined();
    await screen.findByTestId('wizard-step-6');
  });

  it('deletes an app with connections only together with them', async () => {
    const remove = vi.fn();
    const list = vi.fn(() => [web]);
    showApps([], { list_registrations: list, remove_registration: remove });
    await fireEvent.click(within(await row(web.name)).getByTestId('reg-delete'));
    const dialog = screen.getByTestId('delete-dialog');
    expect(dialog.textContent).toContain('2 connections use this app');
    expect(within(dialog).queryByTestId('delete-confirm')).toBeNull();
    const cascade = within(dialog).getByTestId('delete-cascade');
    expect(cascade.textContent).toContain('Delete app and its 2 connections');

    await fireEvent.click(within(dialog).getByTestId('delete-cancel'));
    expect(screen.queryByTestId('delete-dialog')).toBeNull();
    expect(remove).not.toHaveBeenCalled();

    await fireEvent.click(within(await row(web.name)).getByTestId('reg-delete'));
    list.mockReturnValue([]);
    await fireEvent.click(screen.getByTestId('delete-cascade'));
    await vi.waitFor(() => expect(remove).toHaveBeenCalledWith({ id: web.id, cascade: true }));
    await screen.findByTestId('apps-empty');
    expect(screen.queryByTestId('delete-dialog')).toBeNull();
  });

  it('shows a conflict when connections appeared meanwhile, then offers the cascade', async () => {
    const remove = vi.fn((args?: Record<string, unknown>) => {
      if (!args?.cascade)
        throw {
          code: 'conflict',
          message: '1 connection uses "Contoso mail".',
          detail: { fix: 'Disconnect them first, or delete the app together with its connections.' },
        };
    });
    showApps([desktop], { remove_registration: remove });
    await fireEvent.click(within(await row(desktop.name)).getByTestId('reg-delete'));
    await fireEvent.click(screen.getByTestId('delete-confirm'));
    const notice = await screen.findByTestId('error-notice');
    expect(notice.dataset.code).toBe('conflict');
    expect(notice.textContent).toContain('1 connection uses');
    await fireEvent.click(screen.getByTestId('delete-cascade'));
    await vi.waitFor(() => expect(remove).toHaveBeenLastCalledWith({ id: desktop.id, cascade: true }));
  });
});
