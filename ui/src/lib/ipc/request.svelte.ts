// The one shape of a call to core as the interface holds it: idle, loading, ok or error, with the
// answer or the error. Only the latest call counts: an answer that arrives after a newer call was
// started (or after a reset) is dropped, so a slow old answer never overwrites a newer one.
import { type IpcError, toIpcError } from './invoke';

export type RequestStatus = 'idle' | 'loading' | 'ok' | 'error';

/** One call in flight; `current` turns false once a newer call starts or the request resets. */
export interface Ticket {
  readonly current: boolean;
}

export interface RequestOptions {
  /** Start as `loading` (nothing is known until the first answer). */
  loading?: boolean;
  /** Forget the previous answer when a new call starts (default: keep it on screen). */
  clearOnRun?: boolean;
}

export class Request<T> {
  status = $state<RequestStatus>('idle');
  data = $state<T | null>(null);
  error = $state<IpcError | null>(null);
  /** At least one call has finished, successfully or not. */
  settled = $state(false);

  readonly loading = $derived(this.status === 'loading');
  readonly ok = $derived(this.status === 'ok');
  readonly failed = $derived(this.status === 'error');

  readonly #clearOnRun: boolean;
  #seq = 0;

  constructor(options: RequestOptions = {}) {
    this.#clearOnRun = options.clearOnRun ?? false;
    if (options.loading) this.status = 'loading';
  }

  /** Marks a new call as started; earlier calls stop being current. */
  begin(): Ticket {
    const seq = ++this.#seq;
    this.status = 'loading';
    this.error = null;
    if (this.#clearOnRun) this.data = null;
    const self = this;
    return {
      get current() {
        return seq === self.#seq;
      },
    };
  }

  /**
   * Runs `load` as the newest call. Returns the answer when it is still current and succeeded;
   * otherwise `undefined` (the error, if current, is in `error`). `load` gets the call's ticket,
   * for work between several answers.
   */
  async run(load: (ticket: Ticket) => Promise<T>): Promise<T | undefined> {
    const ticket = this.begin();
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
    this.data = data;
    this.error = null;
    this.status = 'ok';
    this.settled = true;
  }

  /** Stores a failure as the current state; the previous answer stays unless cleared. */
  reject(raw: unknown): void {
    this.error = toIpcError(raw);
    this.status = 'error';
    this.settled = true;
  }

  /** Back to idle with nothing known; answers still in flight are dropped. */
  reset(): void {
    this.#seq++;
    this.status = 'idle';
    this.data = null;
    this.error = null;
    this.settled = false;
  }
}
