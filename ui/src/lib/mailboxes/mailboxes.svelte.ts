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

/** A file's text (FileReader: every webview has it). */
function readText(file: Blob): Promise<string> {
  return new Promise((ok, fail) => {
    const reader = new FileReader();
    reader.onload = () => ok(String(reader.result ?? ''));
    reader.onerror = () => fail(reader.error);
    reader.readAsText(file);
  });
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
  /** The app's token and permissions; a recheck keeps the last report on screen. */
  readonly accessRequest = new Request<AccessReport>({ loading: true });
  /** The admin consent link, fetched when core says consent is missing. */
  readonly consent = new AdminConsentLink();
  readonly access = $derived.by((): Access => {
    const r = this.accessRequest;
    if (r.status === 'error' && r.error) return { status: 'failed', error: r.error };
    if (r.data) return { status: 'ready', report: r.data };
    return { status: 'loading' };
  });
  rechecking = $state(false);
  /** The list as core reads it (syntax and repeats), for the preview under the text box. */
  readonly previewRequest = new Request<CheckedEntry[]>();
  /** Why the typed address or list cannot be added as it is. */
  inputProblem = $state<string | null>(null);
  phase = $state<Phase>({ kind: 'form' });
  /** Finished rows, as they arrive during a run; the final report's rows afterwards. */
  rows = $state<MailboxRow[]>([]);

  readonly sortedRows = $derived([...this.rows].sort((a, b) => a.line - b.line));
  readonly needsConsent = $derived(
    this.access.status === 'failed' && this.access.error.code === 'needs_consent',
  );
  readonly running = $derived(this.phase.kind === 'running');
  readonly listProblems = $derived(this.checked.filter((c) => c.problem !== null).length);

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
    this.rechecking = fresh;
    const ticket = this.accessRequest.begin();
    try {
      const report = await appAccess(this.registration.id, this.mailboxUse, fresh);
      if (ticket.current) {
        this.accessRequest.resolve(report);
        this.consent.reset();
      }
    } catch (raw) {
      if (ticket.current) this.#accessFailed(toIpcError(raw));
    } finally {
      if (ticket.current) this.rechecking = false;
    }
  }

  #accessFailed(error: IpcError): void {
    this.accessRequest.reject(error);
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
  }

  /** Reads the list as core will (syntax, repeats) for the preview. */
  async preview(): Promise<void> {
    this.inputProblem = null;
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
    if (this.mode === 'single') {
      const [entry] = await checkMailboxList(text);
      if (!entry || entry.problem) {
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
    if (text === null) return;
    const run = newRunId();
    this.rows = [];
    this.phase = { kind: 'running', run, done: 0, total: 0, cancelling: false };
    try {
      const report = await addMailboxes(this.registration.id, text, this.mailboxUse, run, (p) => {
        if (this.phase.kind !== 'running' || this.phase.run !== run) return;
        this.rows.push(p.row);
        this.phase = { ...this.phase, done: p.done, total: p.total };
      });
      if (this.phase.kind !== 'running' || this.phase.run !== run) return;
      this.rows = report.rows;
      this.phase = { kind: 'done', report };
      if (this.access.status === 'ready') {
        this.accessRequest.resolve({ ...this.access.report, permissions: report.permissions });
      } else {
        void this.checkAccess(false);
      }
      this.#changed();
    } catch (raw) {
      if (this.phase.kind !== 'running' || this.phase.run !== run) return;
      const error = toIpcError(raw);
      this.phase = { kind: 'failed', error };
      if (error.code === 'needs_consent') {
        this.accessRequest.begin();
        this.#accessFailed(error);
      }
    }
  }

  /** Stops the lookups not yet started; the rows finished so far are kept. */
  async cancel(): Promise<void> {
    if (this.phase.kind !== 'running' || this.phase.cancelling) return;
    this.phase = { ...this.phase, cancelling: true };
    try {
      await cancelMailboxAdd(this.phase.run);
    } catch {
      // The run ends by itself; nothing to undo.
    }
  }

  /** Back to the form for more addresses; the typed text is cleared after a finished run. */
  again(): void {
    if (this.phase.kind === 'done') {
      this.address = '';
      this.list = '';
      this.previewRequest.reset();
    }
    this.rows = [];
    this.phase = { kind: 'form' };
  }
}
