// The one shape of a call to core as the interface holds it: idle, loading, ok or error, with the
// answer or the error. Only the latest call counts: an answer that arrives after a newer call was
// started (or after a reset) is dropped, so a slow old answer never overwrites a newer one.
// A call may show progress before its answer (a step reached, a count, what it works on), and
// may leave something to undo should it be abandoned (a sign-in waiting in core).
import { type IpcError, toIpcError } from './invoke';

export type RequestStatus = 'idle' | 'loading' | 'ok' | 'error';

/** One call in flight; `current` turns false once a newer call starts or the request resets. */
export interface Ticket<P = never> {
  readonly current: boolean;
  /**
   * Shows how far the call got, while it is current: a value, or a function of the progress
   * shown so far (to add to it). `P` itself is never a function.
   */
  progress(next: P | ((shown: P | null) => P)): void;
  /**
   * Runs `undo` should the call be abandoned (a newer call or a reset) before it settles; at once
   * when it already was.
   */
  onAbandon(undo: () => void): void;
}

export interface RequestOptions {
  /** Start as `loading` (nothing is known until the first answer). */
  loading?: boolean;
  /** Forget the previous answer when a new call starts (default: keep it on screen). */
  clearOnRun?: boolean;
}

export class Request<T, P = never> {
  status = $state<RequestStatus>('idle');
  data = $state<T | null>(null);
  error = $state<IpcError | null>(null);
  /** What the call in flight showed so far; cleared when a new call starts or on reset. */
  progress = $state<P | null>(null);
  /** At least one call has finished, successfully or not. */
  settled = $state(false);

  readonly loading = $derived(this.status === 'loading');
  readonly ok = $derived(this.status === 'ok');
  readonly failed = $derived(this.status === 'error');

  readonly #clearOnRun: boolean;
  #seq = 0;
  /** What to undo should the current call be abandoned before it settles. */
  #undo: (() => void)[] = [];

  constructor(options: RequestOptions = {}) {
    this.#clearOnRun = options.clearOnRun ?? false;
    if (options.loading) this.status = 'loading';
  }

  /** Marks a new call as started, showing `progress`; earlier calls stop being current. */
  begin(progress: P | null = null): Ticket<P> {
    this.#abandon();
    const seq = ++this.#seq;
    this.status = 'loading';
    this.error = null;
    this.progress = progress;
    if (this.#clearOnRun) this.data = null;
    const self = this;
    return {
      get current() {
        return seq === self.#seq;
      },
      progress(next) {
        if (seq !== self.#seq) return;
        self.progress =
          typeof next === 'function' ? (next as (shown: P | null) => P)(self.progress) : next;
      },
      onAbandon(undo) {
        if (seq === self.#seq) self.#undo.push(undo);
        else undo();
      },
    };
  }

  /**
   * Runs `load` as the newest call. Returns the answer when it is still current and succeeded;
   * otherwise `undefined` (the error, if current, is in `error`). `load` gets the call's ticket,
   * for work between several answers, progress and undoing; `progress` is shown meanwhile.
   */
  async run(
    load: (ticket: Ticket<P>) => Promise<T>,
    progress: P | null = null,
  ): Promise<T | undefined> {
    const ticket = this.begin(progress);
    try {
      const data = await load(ticket);
      if (!ticket.current) return undefined;
      this.resolve(data);
      return data;
    } catch (raw) {
      if (ticket.current) this.reject(raw);
      return undefined;
    }
  }

  /** Stores an answer (e.g. one pushed by core) as the current state. */
  resolve(data: T): void {
    this.#undo = [];
    this.data = data;
    this.error = null;
    this.status = 'ok';
    this.settled = true;
  }

  /** Stores a failure as the current state; the previous answer stays unless cleared. */
  reject(raw: unknown): void {
    this.#undo = [];
    this.error = toIpcError(raw);
    this.status = 'error';
    this.settled = true;
  }

  /** Back to idle with nothing known; answers still in flight are dropped (and undone). */
  reset(): void {
    this.#abandon();
    this.#seq++;
    this.status = 'idle';
    this.data = null;
    this.progress = null;
    this.error = null;
    this.settled = false;
  }

  #abandon(): void {
    const undo = this.#undo;
    this.#undo = [];
    for (const fn of undo) fn();
  }
}
