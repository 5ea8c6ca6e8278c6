import { cleanup, fireEvent, render, screen, within } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn() }));

import { selection } from '../apps/selection.svelte';
import type { BrowserSignIn, Connected, DeviceSignIn, ErrorBody } from '../ipc/bindings';
import { nav } from '../nav/nav.svelte';
import { answer } from '../test/ipc';
import ConnectionsPage from './ConnectionsPage.svelte';
import { connection, deferred, presets, registration } from './testdata';

const AUTH_URL =
  'http://127.0.0.1:4010/contoso.onmicrosoft.com/oauth2/v2.0/authorize?client_id=1111&response_type=code&state=abc';

const started: BrowserSignIn = { attempt: 'attempt-1', url: AUTH_URL, opened: true };

const connected: Connected = {
  created: true,
  connection: connection({
    scopes_requested: ['openid', 'offline_access', 'User.Read', 'Mail.Read', 'Mail.Send'],
    scopes_granted: ['openid', 'offline_access', 'User.Read', 'Mail.Read'],
    scopes_missing: ['Mail.Send'],
  }),
};

type Handler = (args?: Record<string, unknown>) => unknown;

/** Serves two delegated apps and one application-only app; sign-ins wait for the test. */
function serve(extra: Record<string, Handler> = {}) {
  const finish = deferred<Connected>();
  // Cancelling rejects it even when nothing waits for it (a start cancelled before finishing).
  finish.promise.catch(() => undefined);
  const handlers: Record<string, ReturnType<typeof vi.fn<Handler>>> = {
    list_registrations: vi.fn<Handler>(() => [
      registration(),
      registration({ id: 'reg-fabrikam', name: 'Fabrikam', preset: 'read', tenant: 'common' }),
      registration({ id: 'reg-daemon', name: 'Daemon', usage: 'application', preset: 'application' }),
    ]),
    list_connections: vi.fn<Handler>(() => []),
    scope_presets: vi.fn<Handler>(() => presets),
    start_browser_sign_in: vi.fn<Handler>(() => started),
    finish_sign_in: vi.fn<Handler>(() => finish.promise),
    cancel_sign_in: vi.fn<Handler>(() => {
      finish.reject({ code: 'cancelled', message: 'The sign-in was cancelled.' } satisfies ErrorBody);
    }),
    admin_consent_url: vi.fn<Handler>(
      () => 'https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/adminconsent?client_id=1111',
    ),
    open_url: vi.fn<Handler>(() => undefined),
  };
  for (const [name, handler] of Object.entries(extra)) handlers[name] = vi.fn<Handler>(handler);
  answer(handlers);
  return { handlers, finish };
}

async function openDialog() {
  render(ConnectionsPage);
  await fireEvent.click(await screen.findByTestId('connect-open'));
  const dialog = screen.getByTestId('connect-dialog');
  // Presets arrive asynchronously; the preset select then offers them.
  await within(dialog).findByRole('option', { name: 'Send mail' });
  return dialog;
}

function field<T extends HTMLElement = HTMLInputElement>(testid: string): T {
  return screen.getByTestId(testid) as T;
}

function failWith(body: ErrorBody): Handler {
  return () => Promise.reject(body);
}

beforeEach(() => nav.go('connections'));
afterEach(cleanup);

describe('connect dialog: form', () => {
  it('offers only apps people sign in with, and follows the app’s preset', async () => {
    serve();
    const dialog = await openDialog();
    expect(dialog.getAttribute('role')).toBe('dialog');
    expect(dialog.getAttribute('aria-modal')).toBe('true');
    const select = field<HTMLSelectElement>('connect-registration');
    expect([...select.options].map((o) => o.textContent)).toEqual(['Contoso Mail', 'Fabrikam']);
    expect(document.activeElement).toBe(select);

    const preset = field<HTMLSelectElement>('connect-preset');
    expect([...preset.options].map((o) => o.value)).toEqual(['read', 'send', 'full', 'mail-programs']);
    expect(preset.value).toBe('send');

    await fireEvent.change(select, { target: { value: 'reg-fabrikam' } });
    expect(field<HTMLSelectElement>('connect-preset').value).toBe('read');
    expect(dialog.textContent).toContain("Leave empty to use the app’s tenant");
    expect(dialog.textContent).toContain('consumers');
  });

  it('explains when no app allows sign-in and leads to Apps', async () => {
    serve({
      list_registrations: () => [registration({ usage: 'application', preset: 'application' })],
    });
    render(ConnectionsPage);
    await fireEvent.click(await screen.findByTestId('connect-open'));
    expect(screen.getByTestId('connect-no-registration').textContent).toContain('application access only');
    await fireEvent.click(screen.getByTestId('connect-go-apps'));
    expect(nav.current).toBe('apps');
  });

  it('shows a validation error at the field it names', async () => {
    serve({
      start_browser_sign_in: failWith({
        code: 'validation',
        message: 'The tenant must be common, organizations, consumers, a Directory (tenant) ID or a domain.',
        detail: { field: 'tenant' },
      }),
    });
    await openDialog();
    await fireEvent.input(field('connect-tenant'), { target: { value: 'not a tenant' } });
    await fireEvent.click(field('connect-signin'));
    const error = await screen.findByTestId('connect-error');
    expect(error.dataset.code).toBe('validation');
    expect(error.textContent).toContain('The tenant must be common');
    const tenant = field('connect-tenant');
    expect(tenant.getAttribute('aria-invalid')).toBe('true');
    expect(tenant.value).toBe('not a tenant');
    await vi.waitFor(() => expect(document.activeElement).toBe(tenant));
  });
});

describe('connect dialog: browser sign-in', () => {
  it('waits with the link, then shows the new connection with the missing scope', async () => {
    const { handlers, finish } = serve();
    await openDialog();
    await fireEvent.input(field('connect-tenant'), { target: { value: '  organizations ' } });
    await fireEvent.input(field('connect-login-hint'), { target: { value: 'ada@contoso.com' } });
    await fireEvent.click(field('connect-signin'));

    const waiting = await screen.findByTestId('signin-waiting');
    expect(handlers.start_browser_sign_in).toHaveBeenCalledWith({
      options: {
        registration: 'reg-contoso',
        preset: 'send',
        tenant: 'organizations',
        login_hint: 'ada@contoso.com',
      },
    });
    expect(waiting.textContent).toContain('Finish signing in in your browser');
    expect(field('signin-url').value).toBe(AUTH_URL);
    expect(screen.queryByTestId('signin-not-opened')).toBeNull();
    expect(handlers.finish_sign_in).toHaveBeenCalledWith({ attempt: 'attempt-1' });
    expect(waiting.closest('[aria-live]')).not.toBeNull();

    await fireEvent.click(field('signin-open'));
    expect(handlers.open_url).toHaveBeenCalledWith({ url: AUTH_URL });

    handlers.list_connections?.mockImplementation(() => [connected.connection]);
    finish.resolve(connected);
    const result = await screen.findByTestId('connect-result');
    expect(result.dataset.created).toBe('true');
    expect(screen.getByTestId('result-address').textContent).toBe('ada@contoso.com');
    expect(result.textContent).toContain('Work');
    expect(result.textContent).toContain('Active');
    expect(screen.getByTestId('result-missing').textContent).toContain('Mail.Send');
    expect(screen.queryByTestId('result-updated')).toBeNull();

    // The list behind the dialog already shows the new mailbox.
    await vi.waitFor(() => expect(screen.getAllByTestId('connection-row')).toHaveLength(1));
    await fireEvent.click(field('result-done'));
    expect(screen.queryByTestId('connect-dialog')).toBeNull();

    // The next sign-in keeps the app and tenant but not the address just connected.
    await fireEvent.click(await screen.findByTestId('connect-open'));
    expect(field('connect-tenant').value).toBe('  organizations ');
    expect(field('connect-login-hint').value).toBe('');
  });

  it('"Connect another" keeps the app and asks for the next address', async () => {
    const { finish } = serve();
    await openDialog();
    await fireEvent.change(field('connect-registration'), { target: { value: 'reg-fabrikam' } });
    await fireEvent.input(field('connect-login-hint'), { target: { value: 'ada@contoso.com' } });
    await fireEvent.click(field('connect-signin'));
    await screen.findByTestId('signin-waiting');
    finish.resolve(connected);
    await fireEvent.click(await screen.findByTestId('result-another'));
    expect(field<HTMLSelectElement>('connect-registration').value).toBe('reg-fabrikam');
    const hint = field('connect-login-hint');
    expect(hint.value).toBe('');
    await vi.waitFor(() => expect(document.activeElement).toBe(hint));
  });

  it('keeps keyboard focus inside the dialog', async () => {
    serve();
    const dialog = await openDialog();
    const close = screen.getByTestId('connect-dialog-close');
    const device = field('connect-device');
    device.focus();
    await fireEvent.keyDown(device, { key: 'Tab' });
    expect(document.activeElement).toBe(close);
    await fireEvent.keyDown(close, { key: 'Tab', shiftKey: true });
    expect(document.activeElement).toBe(device);
    expect(dialog.contains(document.activeElement)).toBe(true);
  });

  it('says so when the browser could not be opened', async () => {
    serve({ start_browser_sign_in: () => ({ ...started, opened: false }) });
    await openDialog();
    await fireEvent.click(field('connect-signin'));
    expect((await screen.findByTestId('signin-not-opened')).textContent).toContain('could not be opened');
    expect(field('signin-url').value).toBe(AUTH_URL);
  });

  it('notes an updated connection and the reason it needs attention', async () => {
    const { finish } = serve();
    await openDialog();
    await fireEvent.click(field('connect-signin'));
    await screen.findByTestId('signin-waiting');
    finish.resolve({
      created: false,
      connection: connection({ state_reason: 'no refresh token', has_refresh_token: false }),
    });
    const result = await screen.findByTestId('connect-result');
    expect(result.dataset.created).toBe('false');
    expect(screen.getByTestId('result-updated').textContent?.replace(/\s+/g, ' ')).toContain(
      'updated the existing connection',
    );
    expect(screen.getByTestId('result-reason').textContent).toBe('no refresh token');
    expect(screen.queryByTestId('result-missing')).toBeNull();
  });

  it('cancel stops the sign-in and returns to the form with the values kept', async () => {
    const { handlers } = serve();
    await openDialog();
    await fireEvent.change(field('connect-registration'), { target: { value: 'reg-fabrikam' } });
    await fireEvent.change(field('connect-preset'), { target: { value: 'full' } });
    await fireEvent.input(field('connect-tenant'), { target: { value: 'consumers' } });
    await fireEvent.input(field('connect-login-hint'), { target: { value: 'grace@outlook.com' } });
    await fireEvent.click(field('connect-signin'));
    await screen.findByTestId('signin-waiting');

    await fireEvent.click(field('signin-cancel'));
    expect(handlers.cancel_sign_in).toHaveBeenCalledWith({ attempt: 'attempt-1' });
    expect(screen.queryByTestId('signin-waiting')).toBeNull();
    expect(field<HTMLSelectElement>('connect-registration').value).toBe('reg-fabrikam');
    expect(field<HTMLSelectElement>('connect-preset').value).toBe('full');
    expect(field('connect-tenant').value).toBe('consumers');
    expect(field('connect-login-hint').value).toBe('grace@outlook.com');

    // finish_sign_in rejects with "cancelled" once core stops; that must not surface.
    await new Promise((r) => setTimeout(r, 0));
    expect(screen.queryByTestId('connect-error')).toBeNull();
    expect(screen.getByTestId('connect-signin')).toBeTruthy();
  });

  it('ignores an attempt that finishes after it was abandoned', async () => {
    const { handlers, finish } = serve({ cancel_sign_in: () => undefined });
    await openDialog();
    await fireEvent.click(field('connect-signin'));
    await screen.findByTestId('signin-waiting');
    await fireEvent.click(field('signin-cancel'));
    finish.resolve(connected);
    await new Promise((r) => setTimeout(r, 0));
    expect(screen.queryByTestId('connect-result')).toBeNull();
    expect(screen.getByTestId('connect-signin')).toBeTruthy();
    expect(handlers.list_connections).toHaveBeenCalledTimes(1);
  });

  it('cancels an attempt that starts after the dialog was closed', async () => {
    const start = deferred<BrowserSignIn>();
    const { handlers } = serve({ start_browser_sign_in: () => start.promise });
    const dialog = await openDialog();
    await fireEvent.click(field('connect-signin'));
    expect(field('connect-signin').textContent).toContain('Opening the browser');
    await fireEvent.keyDown(dialog, { key: 'Escape' });
    expect(screen.queryByTestId('connect-dialog')).toBeNull();
    start.resolve(started);
    await vi.waitFor(() => expect(handlers.cancel_sign_in).toHaveBeenCalledWith({ attempt: 'attempt-1' }));
    expect(handlers.finish_sign_in).not.toHaveBeenCalled();
  });

  it('Escape closes the dialog, cancels the sign-in and returns focus', async () => {
    const { handlers } = serve();
    const dialog = await openDialog();
    await fireEvent.click(field('connect-signin'));
    await screen.findByTestId('signin-waiting');
    await fireEvent.keyDown(dialog, { key: 'Escape' });
    expect(screen.queryByTestId('connect-dialog')).toBeNull();
    expect(handlers.cancel_sign_in).toHaveBeenCalledWith({ attempt: 'attempt-1' });
    await vi.waitFor(() => expect(document.activeElement).toBe(screen.getByTestId('connect-open')));
  });
});

describe('connect dialog: errors', () => {
  it('declined consent shows the message and a retry that starts again', async () => {
    const { handlers } = serve({
      finish_sign_in: failWith({
        code: 'needs_consent',
        message: 'You declined to give the app the permissions it asked for.',
        detail: {
          aadsts: 65004,
          remedy: 'retry',
          fix: 'Sign in again and accept the permissions.',
          trace_id: 'trace-65004',
          correlation_id: 'corr-65004',
        },
      }),
    });
    await openDialog();
    await fireEvent.input(field('connect-tenant'), { target: { value: 'organizations' } });
    await fireEvent.click(field('connect-signin'));

    const error = await screen.findByTestId('connect-error');
    expect(error.dataset.code).toBe('needs_consent');
    expect(error.dataset.aadsts).toBe('65004');
    const notice = within(error).getByTestId('error-notice').textContent ?? '';
    expect(notice).toContain('You declined to give the app the permissions it asked for.');
    expect(notice).toContain('Sign in again and accept the permissions.');
    expect(notice).toContain('AADSTS65004');
    expect(notice).toContain('trace-65004');
    expect(notice).toContain('corr-65004');
    expect(screen.queryByTestId('fix-admin-consent')).toBeNull();

    await fireEvent.click(field('fix-retry'));
    expect(handlers.start_browser_sign_in).toHaveBeenCalledTimes(2);
    expect(handlers.start_browser_sign_in?.mock.calls[1]?.[0]).toEqual({
      options: { registration: 'reg-contoso', preset: 'send', tenant: 'organizations' },
    });
  });

  it('admin approval needed: the admin consent link comes from core', async () => {
    const { handlers } = serve({
      finish_sign_in: failWith({
        code: 'needs_consent',
        message: 'An administrator must approve this app.',
        detail: { aadsts: 90094, remedy: 'admin_consent' },
      }),
    });
    await openDialog();
    await fireEvent.click(field('connect-signin'));
    await screen.findByTestId('connect-error');
    expect(screen.queryByTestId('fix-retry')).toBeNull();

    await fireEvent.click(field('fix-admin-consent'));
    expect(handlers.admin_consent_url).toHaveBeenCalledWith({ id: 'reg-contoso' });
    const link = await screen.findByTestId('admin-consent-url');
    expect((link as HTMLInputElement).value).toContain('/adminconsent?client_id=1111');
    await fireEvent.click(field('admin-consent-open'));
    expect(handlers.open_url).toHaveBeenCalledWith({ url: (link as HTMLInputElement).value });
  });

  it('a tenant mistake leads back to the tenant field, values kept', async () => {
    serve({
      finish_sign_in: failWith({
        code: 'identity_provider',
        message: 'The app is single-tenant.',
        detail: { aadsts: 50194, remedy: 'change_tenant' },
      }),
    });
    await openDialog();
    await fireEvent.input(field('connect-login-hint'), { target: { value: 'ada@contoso.com' } });
    await fireEvent.click(field('connect-signin'));
    await screen.findByTestId('connect-error');
    await fireEvent.click(field('fix-tenant'));
    const tenant = field('connect-tenant');
    await vi.waitFor(() => expect(document.activeElement).toBe(tenant));
    expect(field('connect-login-hint').value).toBe('ada@contoso.com');
  });

  it('an app misconfiguration leads to Apps', async () => {
    serve({
      finish_sign_in: failWith({
        code: 'identity_provider',
        message: 'The redirect URI does not match.',
        detail: { aadsts: 50011, remedy: 'fix_redirect_uri' },
      }),
    });
    await openDialog();
    await fireEvent.click(field('connect-signin'));
    await screen.findByTestId('connect-error');
    await fireEvent.click(field('fix-app'));
    expect(nav.current).toBe('apps');
  });

  it('a timeout offers to try again', async () => {
    serve({
      finish_sign_in: failWith({ code: 'timeout', message: 'Nobody finished the sign-in in 5 minutes.' }),
    });
    await openDialog();
    await fireEvent.click(field('connect-signin'));
    const error = await screen.findByTestId('connect-error');
    expect(error.dataset.code).toBe('timeout');
    expect(error.hasAttribute('data-aadsts')).toBe(false);
    expect(screen.getByTestId('fix-retry')).toBeTruthy();
    await fireEvent.click(field('connect-back'));
    expect(screen.getByTestId('connect-signin')).toBeTruthy();
  });
});

describe('connect dialog: another account signed in', () => {
  const mismatch: ErrorBody = {
    code: 'conflict',
    message:
      'The sign-in was started for ada@contoso.com, but mallory@fabrikam.test signed in. Nothing was saved.',
    detail: {
      field: 'login_hint',
      fix: 'If mallory@fabrikam.test is the account you want, save it anyway; otherwise sign in again as ada@contoso.com.',
    },
  };

  /** finish_sign_in refuses the first answer as another account; "save anyway" stores it. */
  function serveMismatch() {
    const finish = vi.fn<Handler>((args) => {
      if (args?.saveAnyway === true) return connected;
      return Promise.reject(mismatch);
    });
    return serve({ finish_sign_in: finish, cancel_sign_in: () => undefined });
  }

  async function signInAsAda() {
    await openDialog();
    await fireEvent.input(field('connect-login-hint'), { target: { value: 'ada@contoso.com' } });
    await fireEvent.click(field('connect-signin'));
    return screen.findByTestId('connect-mismatch');
  }

  it('names both accounts and saves nothing until asked', async () => {
    const { handlers } = serveMismatch();
    const panel = await signInAsAda();
    expect(panel.dataset.code).toBe('conflict');
    const notice = within(panel).getByTestId('error-notice').textContent ?? '';
    expect(notice).toContain('ada@contoso.com');
    expect(notice).toContain('mallory@fabrikam.test');
    expect(screen.queryByTestId('connect-error')).toBeNull();
    expect(screen.getByTestId('mismatch-save-anyway').textContent).toContain('Save anyway');
    expect(screen.getByTestId('mismatch-sign-in-again').textContent).toContain('Sign in again');
    expect(handlers.finish_sign_in).toHaveBeenCalledTimes(1);
    expect(handlers.finish_sign_in).toHaveBeenCalledWith({ attempt: 'attempt-1' });
    expect(handlers.cancel_sign_in).not.toHaveBeenCalled();
  });

  it('"Save anyway" finishes the same attempt with saveAnyway and shows the connection', async () => {
    const { handlers } = serveMismatch();
    await signInAsAda();
    handlers.list_connections?.mockImplementation(() => [connected.connection]);
    const saving = deferred<Connected>();
    handlers.finish_sign_in?.mockImplementation(() => saving.promise);
    await fireEvent.click(field('mismatch-save-anyway'));
    expect(handlers.finish_sign_in).toHaveBeenLastCalledWith({ attempt: 'attempt-1', saveAnyway: true });
    expect((await screen.findByTestId('connect-saving')).textContent).toContain('Saving the connection');
    saving.resolve(connected);
    const result = await screen.findByTestId('connect-result');
    expect(result.dataset.created).toBe('true');
    expect(handlers.start_browser_sign_in).toHaveBeenCalledTimes(1);
    expect(handlers.cancel_sign_in).not.toHaveBeenCalled();
    await vi.waitFor(() => expect(screen.getAllByTestId('connection-row')).toHaveLength(1));
  });

  it('"Sign in again" drops the held sign-in and starts a new one the same way', async () => {
    const { handlers } = serveMismatch();
    await signInAsAda();
    handlers.start_browser_sign_in?.mockImplementation(() => ({ ...started, attempt: 'attempt-2' }));
    handlers.finish_sign_in?.mockImplementation(() => new Promise(() => {}));
    await fireEvent.click(field('mismatch-sign-in-again'));
    expect(handlers.cancel_sign_in).toHaveBeenCalledWith({ attempt: 'attempt-1' });
    await screen.findByTestId('signin-waiting');
    expect(handlers.start_browser_sign_in).toHaveBeenCalledTimes(2);
    expect(handlers.start_browser_sign_in?.mock.calls[1]?.[0]).toEqual({
      options: { registration: 'reg-contoso', preset: 'send', login_hint: 'ada@contoso.com' },
    });
    expect(handlers.finish_sign_in).toHaveBeenLastCalledWith({ attempt: 'attempt-2' });
    expect(handlers.finish_sign_in).not.toHaveBeenCalledWith({ attempt: 'attempt-1', saveAnyway: true });
  });

  it('a held sign-in that expired says so after "Save anyway"', async () => {
    const { handlers } = serveMismatch();
    await signInAsAda();
    handlers.finish_sign_in?.mockImplementation(() =>
      Promise.reject({
        code: 'not_found',
        message: 'That sign-in is no longer waiting to be saved.',
        detail: { fix: 'Sign in again.' },
      } satisfies ErrorBody),
    );
    await fireEvent.click(field('mismatch-save-anyway'));
    const error = await screen.findByTestId('connect-error');
    expect(error.dataset.code).toBe('not_found');
    expect(error.textContent).toContain('no longer waiting to be saved');
    expect(screen.queryByTestId('connect-mismatch')).toBeNull();
    await fireEvent.click(field('connect-back'));
    expect(screen.getByTestId('connect-signin')).toBeTruthy();
    expect(handlers.cancel_sign_in).not.toHaveBeenCalled();
  });

  it('closing the dialog drops the held sign-in', async () => {
    const { handlers } = serveMismatch();
    await signInAsAda();
    await fireEvent.click(screen.getByTestId('connect-dialog-close'));
    expect(handlers.cancel_sign_in).toHaveBeenCalledWith({ attempt: 'attempt-1' });
    expect(handlers.finish_sign_in).toHaveBeenCalledTimes(1);
  });
});

describe('connect dialog: device code', () => {
  const device: DeviceSignIn = {
    attempt: 'attempt-d',
    code: {
      user_code: 'FJK-4QZ2',
      verification_uri: 'https://microsoft.com/devicelogin',
      expires_at: new Date(Date.now() + 14 * 60_000 + 30_000).toISOString(),
      message: 'To sign in, use a web browser to open the page https://microsoft.com/devicelogin.',
    },
  };

  it('shows the code and the address, and finishes like a browser sign-in', async () => {
    const { handlers, finish } = serve({ start_device_sign_in: () => device });
    await openDialog();
    await fireEvent.click(field('connect-device'));
    const waiting = await screen.findByTestId('device-waiting');
    expect(screen.getByTestId('device-user-code').textContent).toBe('FJK-4QZ2');
    expect(field('device-url').value).toBe('https://microsoft.com/devicelogin');
    expect(screen.getByTestId('device-expiry').textContent).toMatch(/expires in 1[45]:\d\d/);
    expect(waiting.textContent).toContain('Microsoft’s instructions');
    expect(handlers.finish_sign_in).toHaveBeenCalledWith({ attempt: 'attempt-d' });

    finish.resolve(connected);
    expect(await screen.findByTestId('connect-result')).toBeTruthy();
  });

  it('cancel returns to the form', async () => {
    const { handlers } = serve({ start_device_sign_in: () => device });
    await openDialog();
    await fireEvent.click(field('connect-device'));
    await screen.findByTestId('device-waiting');
    await fireEvent.click(field('device-cancel'));
    expect(handlers.cancel_sign_in).toHaveBeenCalledWith({ attempt: 'attempt-d' });
    expect(screen.getByTestId('connect-device')).toBeTruthy();
  });

  it('shows core’s refusal for an app that cannot use codes', async () => {
    serve({
      start_device_sign_in: failWith({
        code: 'validation',
        message: 'Device code sign-in works only with public apps.',
        detail: { field: 'device_code' },
      }),
    });
    await openDialog();
    await fireEvent.click(field('connect-device'));
    const error = await screen.findByTestId('connect-error');
    expect(error.dataset.code).toBe('validation');
    expect(error.textContent).toContain('Device code sign-in works only with public apps.');
    expect(screen.getByTestId('connect-device')).toBeTruthy();
  });
});

describe('connect dialog: arriving from the Apps wizard', () => {
  it('opens on the app just created, once', async () => {
    serve();
    selection.lastCreatedRegistrationId = 'reg-fabrikam';
    render(ConnectionsPage);
    const dialog = await screen.findByTestId('connect-dialog');
    expect(within(dialog).getByTestId<HTMLSelectElement>('connect-registration').value).toBe('reg-fabrikam');
    expect(selection.lastCreatedRegistrationId).toBeNull();
    await fireEvent.click(screen.getByTestId('connect-dialog-close'));
    cleanup();

    render(ConnectionsPage);
    await screen.findByTestId('connect-open');
    expect(screen.queryByTestId('connect-dialog')).toBeNull();
  });
});
