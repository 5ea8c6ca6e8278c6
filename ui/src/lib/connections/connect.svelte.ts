import type {
  ConnectOptions,
  Connected,
  DeviceCode,
  Preset,
  PresetInfo,
  Registration,
} from '../ipc/bindings';
import { AdminConsentLink } from '../consent/consent.svelte';
import {
  cancelSignIn,
  finishSignIn,
  scopePresets,
  startBrowserSignIn,
  startDeviceSignIn,
} from '../ipc/commands';
import { type IpcError, toIpcError } from '../ipc/invoke';
import { Request, type Ticket } from '../ipc/request.svelte';

export type Method = 'browser' | 'device';

/** The form's fields; kept across cancel, failure and "Connect another". */
export interface ConnectForm {
  registration: string;
  preset: Preset | '';
  tenant: string;
  loginHint: string;
}

export type FormField = 'registration' | 'preset' | 'tenant' | 'loginHint';

/**
 * Where the dialog is. `form` may carry a validation error from core (shown above the form, the
 * field it names marked); every other failure is `failed`.
 */
export type Phase =
  | { kind: 'form'; error: IpcError | null }
  | { kind: 'starting'; method: Method }
  | { kind: 'browser'; attempt: string; url: string; opened: boolean }
  | { kind: 'device'; attempt: string; code: DeviceCode }
  | { kind: 'mismatch'; attempt: string; error: IpcError }
  | { kind: 'saving'; attempt: string }
  | { kind: 'done'; connected: Connected }
  | { kind: 'failed'; method: Method; error: IpcError };

/** A started sign-in waiting for the person: in the browser or with a device code. */
export type Waiting = Extract<Phase, { kind: 'browser' | 'device' }>;

/** What the sign-in shows before its answer: the waiting step, or saving a held result. */
export type SignInProgress = Waiting | Extract<Phase, { kind: 'saving' }>;

/**
 * A sign-in that came back as another account than its login hint: core held it, unsaved, until
 * "save anyway" (finishSignIn with saveAnyway) or a cancel.
 */
export function isAccountMismatch(error: IpcError): boolean {
  return error.code === 'conflict' && error.field === 'login_hint';
}

/** The one-click ways out an error screen offers. */
export type Fix = 'admin-consent' | 'tenant' | 'retry' | 'app';

/**
 * The buttons for a failed sign-in: from core's remedy (which comes from Microsoft's AADSTS code)
 * and, without one, from the error code alone (a timeout, a cancel or the network: try again).
 */
export function fixesFor(error: IpcError): Fix[] {
  switch (error.detail?.remedy) {
    case 'admin_consent':
      return ['admin-consent'];
    case 'change_tenant':
      return ['tenant'];
    case 'fix_redirect_uri':
    case 'fix_registration':
      return ['app'];
    case 'retry':
      return ['retry'];
    case undefined:
      break;
    default:
      return [];
  }
  return error.code === 'timeout' || error.code === 'cancelled' || error.code === 'network'
    ? ['retry']
    : [];
}

// Core's field names (ErrorDetail.field) for the form's inputs.
const FIELDS: Record<string, FormField> = {
  registration: 'registration',
  preset: 'preset',
  tenant: 'tenant',
  login_hint: 'loginHint',
};

export interface ConnectSource {
  /** The registrations people can sign in with. */
  readonly delegated: Registration[];
  /** Called after a sign-in is stored, to refresh the list. */
  load(): Promise<void>;
}

/**
 * The "Connect a mailbox" dialog: form -> starting -> waiting (browser | device) -> done | failed.
 *
 * The sign-in is one request: its progress is the waiting step, its answer the connection. Each
 * start, cancel, close or retry begins a new call; an answer that arrives for an older one
 * (finishSignIn rejecting after a cancel, a start that resolves after the dialog was closed) is
 * dropped, and an attempt started for a call nobody wants any more is cancelled in core.
 */
export class ConnectFlow {
  readonly #source: ConnectSource;
  open = $state(false);
  form = $state<ConnectForm>({ registration: '', preset: '', tenant: '', loginHint: '' });
  readonly presetsRequest = new Request<PresetInfo[]>();
  /** The sign-in: waiting in the browser or for a device code, then the stored connection. */
  readonly signIn = new Request<Connected, SignInProgress>({ clearOnRun: true });
  /** The attempt core holds after a sign-in as another account, until saved or dropped. */
  held = $state<string | null>(null);
  /** How the latest sign-in was started. */
  method = $state<Method>('browser');
  readonly adminConsent = new AdminConsentLink();
  /** The field to focus next time the form shows; the form clears it once done. */
  focusRequest = $state<FormField | null>(null);

  /** Where the dialog is, from the sign-in's state; core's validation errors return to the form. */
  readonly phase = $derived.by((): Phase => {
    const { status, progress, data, error } = this.signIn;
    if (status === 'loading') return progress ?? { kind: 'starting', method: this.method };
    if (status === 'ok' && data) return { kind: 'done', connected: data };
    if (status === 'error' && error) {
      if (this.held && isAccountMismatch(error)) return { kind: 'mismatch', attempt: this.held, error };
      return error.code === 'validation'
        ? { kind: 'form', error }
        : { kind: 'failed', method: this.method, error };
    }
    return { kind: 'form', error: null };
  });

  get presets(): PresetInfo[] | null {
    return this.presetsRequest.data;
  }

  get presetsError(): IpcError | null {
    return this.presetsRequest.error;
  }

  /** Presets a sign-in can use (application access needs no sign-in). */
  readonly delegatedPresets = $derived((this.presets ?? []).filter((p) => p.preset !== 'application'));

  readonly registration = $derived.by(
    () => this.#source.delegated.find((r) => r.id === this.form.registration) ?? null,
  );

  /** The form field core's validation error names, if any. */
  readonly invalidField = $derived.by((): FormField | null => {
    if (this.phase.kind !== 'form' || !this.phase.error) return null;
    const field = this.phase.error.field;
    return field ? (FIELDS[field] ?? null) : null;
  });

  readonly busy = $derived(this.phase.kind === 'starting');

  constructor(source: ConnectSource) {
    this.#source = source;
  }

  /** Opens the dialog on the form, preselecting `registrationId` when given. */
  show(registrationId?: string): void {
    this.#abandon();
    const wanted = registrationId ?? this.form.registration;
    const choice =
      this.#source.delegated.find((r) => r.id === wanted) ?? this.#source.delegated[0] ?? null;
    if (choice && choice.id !== this.form.registration) this.chooseRegistration(choice.id);
    this.focusRequest = null;
    this.open = true;
    if (!this.presets) void this.loadPresets();
  }

  /** Closes the dialog, cancelling a sign-in in progress. */
  close(): void {
    this.#abandon();
    this.open = false;
  }

  /** Picks a registration; the preset follows the registration's own. */
  chooseRegistration(id: string): void {
    this.form.registration = id;
    const reg = this.#source.delegated.find((r) => r.id === id);
    if (reg && reg.preset !== 'application') this.form.preset = reg.preset;
    else this.form.preset = this.delegatedPresets[0]?.preset ?? '';
  }

  async loadPresets(): Promise<void> {
    const presets = await this.presetsRequest.run(scopePresets);
    if (presets && this.form.preset === '' && this.form.registration) {
      this.chooseRegistration(this.form.registration);
    }
  }

  options(): ConnectOptions {
    const options: ConnectOptions = { registration: this.form.registration };
    if (this.form.preset) options.preset = this.form.preset;
    const tenant = this.form.tenant.trim();
    if (tenant) options.tenant = tenant;
    const hint = this.form.loginHint.trim();
    if (hint) options.login_hint = hint;
    return options;
  }

  /** Starts a sign-in and waits for it; resolves once this call has settled or been abandoned. */
  async start(method: Method): Promise<void> {
    if (this.busy) return;
    if (!this.form.registration) {
      this.focusRequest = 'registration';
      return;
    }
    this.method = method;
    this.#release();
    this.adminConsent.reset();
    const options = this.options();
    const connected = await this.signIn.run((ticket) => this.#signIn(method, options, ticket));
    if (connected) void this.#source.load();
  }

  /** One sign-in: start it, wait for the person, get the stored connection. */
  async #signIn(
    method: Method,
    options: ConnectOptions,
    ticket: Ticket<SignInProgress>,
  ): Promise<Connected> {
    let attempt: string | null = null;
    try {
      attempt = await this.#begin(method, options, ticket);
      return await finishSignIn(attempt);
    } catch (raw) {
      const error = toIpcError(raw);
      // Back on the form, the field core named takes the focus.
      if (ticket.current && error.code === 'validation') {
        this.focusRequest = error.field ? (FIELDS[error.field] ?? null) : null;
      }
      // Another account signed in: core keeps the result until it is saved or dropped.
      if (ticket.current && attempt && isAccountMismatch(error)) this.held = attempt;
      throw error;
    }
  }

  /** "Save anyway": stores the sign-in core held because another account signed in. */
  async saveAnyway(): Promise<void> {
    const attempt = this.held;
    if (!attempt || this.phase.kind !== 'mismatch') return;
    this.held = null;
    await this.signIn.run(
      async () => {
        const connected = await finishSignIn(attempt, true);
        // Stored even when the dialog was closed meanwhile: the list follows.
        void this.#source.load();
        return connected;
      },
      { kind: 'saving', attempt },
    );
  }

  /** "Sign in again": drops the held sign-in and starts a new one the same way. */
  async signInAgain(): Promise<void> {
    this.#abandon();
    await this.start(this.method);
  }

  /**
   * Starts the attempt in core and shows its waiting step; an attempt nobody waits for any more
   * is cancelled (at once when the call was abandoned while it started).
   */
  async #begin(
    method: Method,
    options: ConnectOptions,
    ticket: Ticket<SignInProgress>,
  ): Promise<string> {
    let waiting: Waiting;
    if (method === 'browser') {
      const started = await startBrowserSignIn(options);
      waiting = { kind: 'browser', attempt: started.attempt, url: started.url, opened: started.opened };
    } else {
      const started = await startDeviceSignIn(options);
      waiting = { kind: 'device', attempt: started.attempt, code: started.code };
    }
    const attempt = waiting.attempt;
    ticket.onAbandon(() => void this.#drop(attempt));
    if (!ticket.current) throw new Error('The sign-in was abandoned.');
    ticket.progress(waiting);
    return attempt;
  }

  /** Stops the sign-in in progress and goes back to the form, values kept. */
  cancel(): void {
    this.#abandon();
  }

  /** Back to the form from the result or an error, optionally focusing a field. */
  back(focus: FormField | null = null): void {
    this.#abandon();
    this.focusRequest = focus;
  }

  /**
   * "Done": closes the dialog. The account just connected is not the next one's: the next
   * sign-in starts without its address (a kept address would be taken as the account expected).
   */
  done(): void {
    this.form.loginHint = '';
    this.close();
  }

  /** "Connect another": the same app and settings, a different account. */
  another(): void {
    this.form.loginHint = '';
    this.back('loginHint');
  }

  async retry(): Promise<void> {
    await this.start(this.method);
  }

  /** Asks core for the admin consent link; a new call (start, back, close) drops the answer. */
  async loadAdminConsent(): Promise<void> {
    await this.adminConsent.load(this.form.registration);
  }

  /** Back to the form; a sign-in still waiting in core is cancelled. */
  #abandon(): void {
    this.#release();
    this.signIn.reset();
    this.adminConsent.reset();
  }

  /** Drops a sign-in core holds for "save anyway" (it would expire by itself). */
  #release(): void {
    const held = this.held;
    this.held = null;
    if (held) void this.#drop(held);
  }

  async #drop(attempt: string): Promise<void> {
    try {
      await cancelSignIn(attempt);
    } catch {
      // The attempt already ended on its own; nothing is left to cancel.
    }
  }
}
