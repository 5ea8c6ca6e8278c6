import type {
  AccessReport,
  BulkReport,
  CheckedEntry,
  MailboxRow,
  MailboxUse,
  Registration,
} from '../ipc/bindings';
import { AdminConsentLink } from '../consent/consent.svelte';
import {
  addMailboxes,
  appAccess,
  cancelMailboxAdd,
  checkMailboxList,
} from '../ipc/commands';
import { type IpcError, toIpcError } from '../ipc/invoke';
import { Request } from '../ipc/request.svelte';

export type Mode = 'single' | 'list';

export type Access =
  | { status: 'loading' }
  | { status: 'ready'; report: AccessReport }
  | { status: 'failed'; error: IpcError };

export type Phase =
  | { kind: 'form' }
  | { kind: 'running'; run: string; done: number; total: number; cancelling: boolean }
  | { kind: 'done'; report: BulkReport }
  | { kind: 'failed'; error: IpcError };

/** How far a run got: its id (to cancel it), the count, and the rows finished so far. */
export interface RunProgress {
  run: string;
  done: number;
  total: number;
  rows: MailboxRow[];
}

/** A file's text (FileReader: every webview has it). */
function readText(file: Blob): Promise<string> {
  return new Promise((ok, fail) => {
    const reader = new FileReader();
    reader.onload = () => ok(String(reader.result ?? ''));
    reader.onerror = () => fail(reader.error);
    reader.readAsText(file);
  });
}

/** Core refusing the typed address or list itself (too large to check: over 1 MiB or 10,000 lines). */
export function isAddressesError(error: IpcError | null): error is IpcError {
  return error !== null && error.code === 'validation' && error.field === 'addresses';
}

function newRunId(): string {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

/**
 * "Add organisation mailboxes" for one registration: the app's permissions (with the admin
 * consent link when consent is missing), one address or a list, the run with its progress, and the
 * per-address results. Answers for an older run or check than the latest are dropped.
 */
export class AddMailboxes {
  readonly #registration: () => Pick<Registration, 'id' | 'name'>;
  readonly #changed: () => void;

  mode = $state<Mode>('single');
  address = $state('');
  list = $state('');
  mailboxUse = $state<MailboxUse>('full');
  /**
   * The app's token and permissions; a recheck keeps the last report on screen. Its progress
   * says whether the check asks Microsoft again.
   */
  readonly accessRequest = new Request<AccessReport, boolean>({ loading: true });
  /** The admin consent link, fetched when core says consent is missing. */
  readonly consent = new AdminConsentLink();
  readonly access = $derived.by((): Access => {
    const r = this.accessRequest;
    if (r.status === 'error' && r.error) return { status: 'failed', error: r.error };
    if (r.data) return { status: 'ready', report: r.data };
    return { status: 'loading' };
  });
  /** A fresh check (after admin consent) is under way. */
  readonly rechecking = $derived(this.accessRequest.loading && this.accessRequest.progress === true);
  /** The list as core reads it (syntax and repeats), for the preview under the text box. */
  readonly previewRequest = new Request<CheckedEntry[]>();
  /** Core's reading of the one typed address, before a run. */
  readonly addressRequest = new Request<CheckedEntry[]>();
  /** Why the typed address or list cannot be added as it is. */
  inputProblem = $state<string | null>(null);
  /** The run: its progress with the rows as they finish, then core's report. */
  readonly addRequest = new Request<BulkReport, RunProgress>({ clearOnRun: true });
  /** Asking core to stop the run's lookups not yet started. */
  readonly cancelRequest = new Request<void>();

  readonly phase = $derived.by((): Phase => {
    const { status, progress, data, error } = this.addRequest;
    if (status === 'loading' && progress) {
      const { run, done, total } = progress;
      return { kind: 'running', run, done, total, cancelling: this.cancelRequest.status !== 'idle' };
    }
    if (status === 'ok' && data) return { kind: 'done', report: data };
    // Core refused the text itself: back on the form, the error next to the box.
    if (status === 'error' && error && !isAddressesError(error)) return { kind: 'failed', error };
    return { kind: 'form' };
  });

  /** Finished rows, as they arrive during a run; the final report's rows afterwards. */
  get rows(): MailboxRow[] {
    return this.addRequest.data?.rows ?? this.addRequest.progress?.rows ?? [];
  }

  readonly sortedRows = $derived([...this.rows].sort((a, b) => a.line - b.line));
  readonly needsConsent = $derived(
    this.access.status === 'failed' && this.access.error.code === 'needs_consent',
  );
  readonly running = $derived(this.phase.kind === 'running');
  readonly listProblems = $derived(this.checked.filter((c) => c.problem !== null).length);

  /** Core's refusal of the text in the box (its size), shown next to it. */
  readonly addressesError = $derived.by((): IpcError | null => {
    const run = this.addRequest.error;
    if (isAddressesError(run)) return run;
    const read = this.mode === 'single' ? this.addressRequest.error : this.previewRequest.error;
    return isAddressesError(read) ? read : null;
  });

  get checked(): CheckedEntry[] {
    return this.previewRequest.data ?? [];
  }

  /** `registration` is read when needed, so a component can pass its (changing) prop. */
  constructor(
    registration: () => Pick<Registration, 'id' | 'name'>,
    onchanged: () => void = () => {},
  ) {
    this.#registration = registration;
    this.#changed = onchanged;
  }

  get registration(): Pick<Registration, 'id' | 'name'> {
    return this.#registration();
  }

  /** Gets the app's token and permissions; `fresh` asks Microsoft again (after admin consent). */
  async checkAccess(fresh = false): Promise<void> {
    // After a failure the check starts from nothing; after a report, the report stays meanwhile.
    if (this.accessRequest.status === 'error') this.accessRequest.data = null;
    const id = this.registration.id;
    const use = this.mailboxUse;
    const report = await this.accessRequest.run(async (ticket) => {
      try {
        return await appAccess(id, use, fresh);
      } catch (raw) {
        // Core says consent is missing: fetch the admin consent link meanwhile.
        if (ticket.current) this.#consentFor(toIpcError(raw));
        throw raw;
      }
    }, fresh);
    if (report) this.consent.reset();
  }

  /** The admin consent link follows core's answer: fetched when consent is missing. */
  #consentFor(error: IpcError): void {
    if (error.code === 'needs_consent') void this.consent.load(this.registration.id);
    else this.consent.reset();
  }

  /** While consent is missing, a return to the window (from the browser) checks again. */
  recheckIfWaiting(): void {
    if (this.needsConsent && !this.rechecking) void this.checkAccess(true);
  }

  setUse(use: MailboxUse): void {
    this.mailboxUse = use;
    void this.checkAccess(false);
  }

  setMode(mode: Mode): void {
    this.mode = mode;
    this.inputProblem = null;
    this.#clearRefusal();
  }

  /** The typed address changed: a refusal of the old one no longer applies. */
  editAddress(): void {
    if (isAddressesError(this.addressRequest.error)) this.addressRequest.reset();
    this.#clearRefusal();
  }

  /** A run refused for its text is forgotten once the text changes. */
  #clearRefusal(): void {
    if (isAddressesError(this.addRequest.error)) this.addRequest.reset();
  }

  /** Reads the list as core will (syntax, repeats) for the preview. */
  async preview(): Promise<void> {
    this.inputProblem = null;
    this.#clearRefusal();
    const text = this.list;
    if (text.trim() === '') {
      this.previewRequest.reset();
      return;
    }
    await this.previewRequest.run(() => checkMailboxList(text));
    // Without core's reading there is no preview.
    if (this.previewRequest.failed) this.previewRequest.data = null;
  }

  /** Takes the addresses of a text or CSV file into the list. */
  async importFile(file: File): Promise<void> {
    this.list = await readText(file);
    this.mode = 'list';
    await this.preview();
  }

  /** Checks the typed address or list; returns the text to send, or null with a reason shown. */
  async #input(): Promise<string | null> {
    const text = this.mode === 'single' ? this.address : this.list;
    if (text.trim() === '') {
      this.inputProblem =
        this.mode === 'single'
          ? 'Enter the address of a user or shared mailbox.'
          : 'Paste addresses, one a line, or import a file.';
      return null;
    }
    // Core already refused this list as too large: its reason is next to the box.
    if (this.mode === 'list' && isAddressesError(this.previewRequest.error)) return null;
    if (this.mode === 'single') {
      const entries = await this.addressRequest.run(() => checkMailboxList(text));
      // A newer start took over meanwhile.
      if (entries === undefined && !this.addressRequest.failed) return null;
      // Refused as it is (too large): the reason is next to the box.
      if (isAddressesError(this.addressRequest.error)) return null;
      // Without core's reading here, the run reads the address itself and reports it.
      const entry = entries?.[0];
      if (entries && (!entry || entry.problem)) {
        this.inputProblem = entry?.problem ?? 'Enter one email address.';
        return null;
      }
    }
    this.inputProblem = null;
    return text;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const text = await this.#input();
    if (text === null || this.running) return;
    const id = this.registration.id;
    const use = this.mailboxUse;
    const run = newRunId();
    this.cancelRequest.reset();
    const report = await this.addRequest.run(
      async (ticket) => {
        try {
          return await addMailboxes(id, text, use, run, (p) =>
            ticket.progress((shown) => {
              const rows = shown?.rows ?? [];
              rows.push(p.row);
              return { run, done: p.done, total: p.total, rows };
            }),
          );
        } catch (raw) {
          const error = toIpcError(raw);
          if (ticket.current && error.code === 'needs_consent') {
            this.accessRequest.begin();
            this.accessRequest.reject(error);
            this.#consentFor(error);
          }
          throw error;
        }
      },
      { run, done: 0, total: 0, rows: [] },
    );
    if (!report) return;
    if (this.access.status === 'ready') {
      this.accessRequest.resolve({ ...this.access.report, permissions: report.permissions });
    } else {
      void this.checkAccess(false);
    }
    this.#changed();
  }

  /** Stops the lookups not yet started; the rows finished so far are kept. */
  async cancel(): Promise<void> {
    const progress = this.addRequest.progress;
    if (!this.running || !progress || this.cancelRequest.status !== 'idle') return;
    // A failure needs nothing undone: the run ends by itself.
    await this.cancelRequest.run(() => cancelMailboxAdd(progress.run));
  }

  /** Back to the form for more addresses; the typed text is cleared after a finished run. */
  again(): void {
    if (this.phase.kind === 'done') {
      this.address = '';
      this.list = '';
      this.previewRequest.reset();
    }
    this.addRequest.reset();
  }
}
