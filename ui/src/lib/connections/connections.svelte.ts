import type {
  Connection,
  ConnectionEvent,
  Event,
  RefreshReport,
  Registration,
  Verification,
} from '../ipc/bindings';
import {
  connectionHistory,
  disconnectConnection,
  listConnections,
  listRegistrations,
  refreshAllConnections,
  refreshConnection,
  verifyAllConnections,
  verifyConnection,
  watchConnections,
} from '../ipc/commands';
import type { IpcError } from '../ipc/invoke';
import { Request } from '../ipc/request.svelte';
import { startup } from '../app/startup';

/** Resolves once the frame showing the current DOM has been painted. */
function afterPaint(): Promise<void> {
  return new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
}

/** What a "Refresh now" or "Verify" of one connection found. */
export type ManualCheck =
  | { kind: 'refresh'; report: RefreshReport }
  | { kind: 'verify'; report: Verification };

/**
 * The Connections page's data: registrations (to know whether anyone can sign in), connections,
 * and the one connection open in the detail view with its history. Answers to an older request
 * than the latest are dropped, so a slow reply never overwrites a newer one.
 */
export class ConnectionsState {
  registrations = $state<Registration[] | null>(null);
  // Replaced, never changed in place: the list's search keeps its sorted orders per array.
  connections = $state.raw<Connection[] | null>(null);
  /**
   * How many connections there are while only the first screen's rows are here (a long list
   * at start: the rest follow once those are painted); `null` once the whole list is.
   */
  #expected = $state<number | null>(null);
  /** Live changes that came while the rest of the list was on its way, applied to it again. */
  #held: ConnectionEvent[] | null = null;
  /** Loading both lists; the rows themselves live above, changed by live updates too. */
  readonly listRequest = new Request<void>();

  selectedId = $state<string | null>(null);
  /** The open connection's history; cleared when another one opens. */
  readonly historyRequest = new Request<Event[]>({ clearOnRun: true });
  readonly disconnectRequest = new Request<void>();

  /**
   * "Refresh now" (or "Check now") or "Verify" of the open connection, one at a time; its
   * progress is the connection it works on. Opening or leaving a connection drops the outcome.
   */
  readonly checkRequest = new Request<ManualCheck, string>({ clearOnRun: true });
  /** "Refresh all": core's report of every connection. */
  readonly refreshAllRequest = new Request<RefreshReport[]>({ clearOnRun: true });
  readonly verifyAllRequest = new Request<Verification[]>({ clearOnRun: true });

  /** Registrations people can sign in with (usage delegated or both). */
  readonly delegated = $derived((this.registrations ?? []).filter((r) => r.usage !== 'application'));

  readonly selected = $derived(
    this.connections?.find((c) => c.id === this.selectedId) ?? null,
  );

  /** How many connections there are (also while only the first rows are here). */
  get total(): number {
    return this.#expected ?? this.connections?.length ?? 0;
  }

  /** Only the first screen's rows are here; the rest of the list is on its way. */
  get partial(): boolean {
    return this.#expected !== null;
  }

  /** True until the first load has answered, one way or the other. */
  readonly unknown = $derived(this.registrations === null && this.error === null);

  get loading(): boolean {
    return this.listRequest.loading;
  }

  get error(): IpcError | null {
    return this.listRequest.error;
  }

  get history(): Event[] | null {
    return this.historyRequest.data;
  }

  get historyError(): IpcError | null {
    return this.historyRequest.error;
  }

  /** The connection being refreshed (or verified) by hand, or 'all'. */
  get refreshing(): string | null {
    if (this.refreshAllRequest.loading || this.verifyAllRequest.loading) return 'all';
    return this.checkRequest.loading ? this.checkRequest.progress : null;
  }

  /** Why the open connection's refresh or verify could not run. */
  get refreshError(): IpcError | null {
    return this.checkRequest.error;
  }

  /** The last "refresh now" (or "check now") of the open connection. */
  get lastRefresh(): RefreshReport | null {
    const check = this.checkRequest.data;
    return check?.kind === 'refresh' ? check.report : null;
  }

  /** The last "verify" of the open connection. */
  get lastVerify(): Verification | null {
    const check = this.checkRequest.data;
    return check?.kind === 'verify' ? check.report : null;
  }

  /** Why "Refresh all" could not run. */
  get refreshAllError(): IpcError | null {
    return this.refreshAllRequest.error;
  }

  /** Refresh all: how many of how many failed. */
  get refreshAllResult(): { total: number; failed: number } | null {
    const reports = this.refreshAllRequest.data;
    if (!reports) return null;
    return { total: reports.length, failed: reports.filter((r) => r.error !== null).length };
  }

  /** Whether "Verify all" is running (the buttons wait for it). */
  get verifyingAll(): boolean {
    return this.verifyAllRequest.loading;
  }

  /** Why "Verify all" could not run. */
  get verifyAllError(): IpcError | null {
    return this.verifyAllRequest.error;
  }

  /** Verify all: how many of how many failed, and for each failure core's first message. */
  get verifyAllResult(): {
    total: number;
    failures: { id: string; address: string; message: string }[];
  } | null {
    const reports = this.verifyAllRequest.data;
    if (!reports) return null;
    const failures = reports
      .filter((r) => r.error !== null || (r.steps ?? []).some((s) => s.outcome === 'failed'))
      .map((r) => ({
        id: r.connection.id,
        address: r.connection.address,
        message:
          r.error?.message ?? (r.steps ?? []).find((s) => s.outcome === 'failed')?.message ?? '',
      }));
    return { total: reports.length, failures };
  }

  get disconnecting(): boolean {
    return this.disconnectRequest.loading;
  }

  get disconnectError(): IpcError | null {
    return this.disconnectRequest.error;
  }

  async load(): Promise<void> {
    // At start, the first screen's one call; afterwards both lists again.
    const first = startup.take('connections');
    let rest = false;
    await this.listRequest.run(async (ticket) => {
      // A failed first call is asked again the usual way (its error then shows here).
      const start = first ? await first.catch(() => null) : null;
      const [registrations, connections] = start
        ? [start.registrations, start.connections]
        : await Promise.all([listRegistrations(), listConnections()]);
      // Only the newest load may replace the lists.
      if (!ticket.current) return;
      this.registrations = registrations;
      this.connections = connections;
      rest = start !== null && connections.length < start.connections_total;
      this.#expected = rest ? start!.connections_total : null;
      this.#held = rest ? [] : null;
    });
    if (rest) await this.#loadRest();
  }

  /** The rest of a long list, once its first rows are painted (the live changes meanwhile
   * are applied to it again, so none is lost to the older read). */
  async #loadRest(): Promise<void> {
    await afterPaint();
    await this.listRequest.run(async (ticket) => {
      const all = await listConnections();
      if (!ticket.current) return;
      const held = this.#held ?? [];
      this.#held = null;
      this.#expected = null;
      this.connections = all;
      for (const event of held) this.apply(event);
    });
  }

  /** Follows the background engine: each change replaces its row as it happens. */
  async watch(): Promise<void> {
    try {
      await watchConnections((event) => this.apply(event));
    } catch {
      // Without live updates the page still works; it reloads after every action.
    }
  }

  apply(event: ConnectionEvent): void {
    if (event.kind !== 'changed' || this.connections === null) return;
    this.#held?.push(event);
    const changed = event.connection;
    const at = this.connections.findIndex((c) => c.id === changed.id);
    // Only the first rows are here: one beyond them waits for the rest of the list.
    if (at < 0 && this.#held) return;
    if (at >= 0) {
      const next = this.connections.slice();
      next[at] = changed;
      this.connections = next;
    } else this.connections = [...this.connections, changed].sort((a, b) =>
      a.address.localeCompare(b.address, undefined, { sensitivity: 'base' }),
    );
    if (this.selectedId === changed.id) void this.reloadHistory(changed.id);
  }

  /**
   * "Refresh now": the new state arrives with the report (and through `watch`); it replaces the
   * row even when the report itself comes too late to be shown.
   */
  async refresh(id: string): Promise<void> {
    await this.checkRequest.run(async () => {
      const report = await refreshConnection(id);
      this.apply({ kind: 'changed', connection: report.connection });
      return { kind: 'refresh', report };
    }, id);
  }

  /** "Verify": core's checks as the scopes allow (Graph, IMAP, POP, SMTP), each a step; the
   * outcome also enters the history. */
  async verify(id: string): Promise<void> {
    await this.checkRequest.run(async () => {
      const report = await verifyConnection(id);
      this.apply({ kind: 'changed', connection: report.connection });
      void this.reloadHistory(id);
      return { kind: 'verify', report };
    }, id);
  }

  async refreshAll(): Promise<void> {
    await this.refreshAllRequest.run(async () => {
      const reports = await refreshAllConnections();
      for (const r of reports) this.apply({ kind: 'changed', connection: r.connection });
      return reports;
    });
  }

  /** "Verify all": every connection's checks, as one connection's "Verify" does. */
  async verifyAll(): Promise<void> {
    await this.verifyAllRequest.run(async () => {
      const reports = await verifyAllConnections();
      for (const r of reports) this.apply({ kind: 'changed', connection: r.connection });
      return reports;
    });
  }

  /** Reads the open connection's history again; the timeline keeps what it shows meanwhile. */
  private async reloadHistory(id: string): Promise<void> {
    const request = this.historyRequest;
    const shown = request.data;
    const ticket = request.begin();
    request.data = shown;
    try {
      const events = await connectionHistory(id);
      if (ticket.current && this.selectedId === id) request.resolve(events);
    } catch (raw) {
      // The timeline keeps what it shows.
      if (!ticket.current) return;
      if (shown) request.resolve(shown);
      else request.reject(raw);
    }
  }

  /** Opens the detail view of one connection and loads its history. */
  async open(id: string): Promise<void> {
    this.selectedId = id;
    this.disconnectRequest.reset();
    this.checkRequest.reset();
    await this.historyRequest.run(() => connectionHistory(id));
  }

  close(): void {
    this.selectedId = null;
    this.historyRequest.reset();
    this.disconnectRequest.reset();
    this.checkRequest.reset();
  }

  /** Deletes the connection and its refresh token, then shows the refreshed list. */
  async disconnect(id: string): Promise<boolean> {
    await this.disconnectRequest.run(() => disconnectConnection(id));
    if (!this.disconnectRequest.ok) return false;
    // Gone at once; the reload then brings anything else that changed meanwhile.
    this.connections = this.connections?.filter((c) => c.id !== id) ?? null;
    if (this.selectedId === id) this.close();
    await this.load();
    return true;
  }
}
