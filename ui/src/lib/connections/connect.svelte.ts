import type {
  BrowserSignIn,
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
import { Request } from '../ipc/request.svelte';

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
  | { kind: 'done'; connected: Connected }
  | { kind: 'failed'; method: Method; error: IpcError };

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
 * Each start, cancel, close or retry begins a new run; an answer that arrives for an older run
 * (finishSignIn rejecting after a cancel, a start that resolves after the dialog was closed) is
 * ignored, and an attempt started for a run nobody wants any more is cancelled.
 */
export class ConnectFlow {
  readonly #source: ConnectSource;
  open = $state(false);
  phase = $state<Phase>({ kind: 'form', error: null });
  form = $state<ConnectForm>({ registration: '', preset: '', tenant: '', loginHint: '' });
  readonly presetsRequest = new Request<PresetInfo[]>();
  readonly adminConsent = new AdminConsentLink();
  /** The field to focus next time the form shows; the form clears it once done. */
  focusRequest = $state<FormField | null>(null);

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

  #run = 0;

  constructor(source: ConnectSource) {
    this.#source = source;
  }

  /** Opens the dialog on the form, preselecting `registrationId` when given. */
  show(registrationId?: string): void {
    this.#run++;
    const wanted = registrationId ?? this.form.registration;
    const choice =
      this.#source.delegated.find((r) => r.id === wanted) ?? this.#source.delegated[0] ?? null;
    if (choice && choice.id !== this.form.registration) this.chooseRegistration(choice.id);
    this.phase = { kind: 'form', error: null };
    this.adminConsent.reset();
    this.focusRequest = null;
    this.open = true;
    if (!this.presets) void this.loadPresets();
  }

  /** Closes the dialog, cancelling a sign-in in progress. */
  close(): void {
    this.#abandon();
    this.phase = { kind: 'form', error: null };
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

  /** Starts a sign-in and waits for it; resolves once this run has settled or been abandoned. */
  async start(method: Method): Promise<void> {
    if (this.phase.kind === 'starting') return;
    if (!this.form.registration) {
      this.focusRequest = 'registration';
      return;
    }
    const run = ++this.#run;
    this.phase = { kind: 'starting', method };
    this.adminConsent.reset();
    let attempt: string;
    try {
      if (method === 'browser') {
        const started: BrowserSignIn = await startBrowserSignIn(this.options());
        attempt = started.attempt;
        if (run !== this.#run) return this.#drop(attempt);
        this.phase = { kind: 'browser', attempt, url: started.url, opened: started.opened };
      } else {
        const started = await startDeviceSignIn(this.options());
        attempt = started.attempt;
        if (run !== this.#run) return this.#drop(attempt);
        this.phase = { kind: 'device', attempt, code: started.code };
      }
    } catch (raw) {
      if (run === this.#run) this.#fail(method, toIpcError(raw));
      return;
    }
    try {
      const connected = await finishSignIn(attempt);
      if (run !== this.#run) return;
      this.phase = { kind: 'done', connected };
      void this.#source.load();
    } catch (raw) {
      if (run === this.#run) this.#fail(method, toIpcError(raw));
    }
  }

  /** Stops the sign-in in progress and goes back to the form, values kept. */
  cancel(): void {
    this.#abandon();
    this.phase = { kind: 'form', error: null };
  }

  /** Back to the form from the result or an error, optionally focusing a field. */
  back(focus: FormField | null = null): void {
    this.#abandon();
    this.phase = { kind: 'form', error: null };
    this.focusRequest = focus;
  }

  /** "Connect another": the same app and settings, a different account. */
  another(): void {
    this.form.loginHint = '';
    this.back('loginHint');
  }

  async retry(): Promise<void> {
    const method = this.phase.kind === 'failed' ? this.phase.method : 'browser';
    await this.start(method);
  }

  /** Asks core for the admin consent link; a new run (start, back, close) drops the answer. */
  async loadAdminConsent(): Promise<void> {
    await this.adminConsent.load(this.form.registration);
  }

  #fail(method: Method, error: IpcError): void {
    if (error.code === 'validation') {
      this.phase = { kind: 'form', error };
      this.focusRequest = error.field ? (FIELDS[error.field] ?? null) : null;
    } else {
      this.phase = { kind: 'failed', method, error };
    }
  }

  /** Ends the current run; a sign-in still waiting in core is cancelled. */
  #abandon(): void {
    this.#run++;
    this.adminConsent.reset();
    const phase = this.phase;
    if (phase.kind === 'browser' || phase.kind === 'device') void this.#drop(phase.attempt);
  }

  async #drop(attempt: string): Promise<void> {
    try {
      await cancelSignIn(attempt);
    } catch {
      // The attempt already ended on its own; nothing is left to cancel.
    }
  }
}
