import type { Connection, ConnectionEvent, Event, RefreshReport, Registration } from '../ipc/bindings';
import {
  connectionHistory,
  disconnectConnection,
  listConnections,
  listRegistrations,
  refreshAllConnections,
  refreshConnection,
  verifyConnection,
  watchConnections,
} from '../ipc/commands';
import { type IpcError, toIpcError } from '../ipc/invoke';
import { Request } from '../ipc/request.svelte';

/**
 * The Connections page's data: registrations (to know whether anyone can sign in), connections,
 * and the one connection open in the detail view with its history. Answers to an older request
 * than the latest are dropped, so a slow reply never overwrites a newer one.
 */
export class ConnectionsState {
  registrations = $state<Registration[] | null>(null);
  connections = $state<Connection[] | null>(null);
  /** Loading both lists; the rows themselves live above, changed by live updates too. */
  readonly listRequest = new Request<void>();

  selectedId = $state<string | null>(null);
  /** The open connection's history; cleared when another one opens. */
  readonly historyRequest = new Request<Event[]>({ clearOnRun: true });
  readonly disconnectRequest = new Request<void>();

  /** The connection being refreshed by hand, or 'all'. */
  refreshing = $state<string | null>(null);
  refreshError = $state<IpcError | null>(null);
  /** The last "refresh now" (or "check now") of the open connection. */
  lastRefresh = $state<RefreshReport | null>(null);
  /** The last "verify" of the open connection. */
  lastVerify = $state<RefreshReport | null>(null);
  /** Refresh all: how many of how many failed. */
  refreshAllResult = $state<{ total: number; failed: number } | null>(null);

  /** Registrations people can sign in with (usage delegated or both). */
  readonly delegated = $derived((this.registrations ?? []).filter((r) => r.usage !== 'application'));

  readonly selected = $derived(
    this.connections?.find((c) => c.id === this.selectedId) ?? null,
  );

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

  get disconnecting(): boolean {
    return this.disconnectRequest.loading;
  }

  get disconnectError(): IpcError | null {
    return this.disconnectRequest.error;
  }

  async load(): Promise<void> {
    await this.listRequest.run(async (ticket) => {
      const [registrations, connections] = await Promise.all([
        listRegistrations(),
        listConnections(),
      ]);
      // Only the newest load may replace the lists.
      if (!ticket.current) return;
      this.registrations = registrations;
      this.connections = connections;
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
    const changed = event.connection;
    const at = this.connections.findIndex((c) => c.id === changed.id);
    if (at >= 0) this.connections[at] = changed;
    else this.connections = [...this.connections, changed].sort((a, b) =>
      a.address.localeCompare(b.address, undefined, { sensitivity: 'base' }),
    );
    if (this.selectedId === changed.id) void this.reloadHistory(changed.id);
  }

  /** "Refresh now": the new state arrives with the report (and through `watch`). */
  async refresh(id: string): Promise<void> {
    this.refreshing = id;
    this.refreshError = null;
    this.lastRefresh = null;
    this.lastVerify = null;
    try {
      const report = await refreshConnection(id);
      this.lastRefresh = report;
      this.apply({ kind: 'changed', connection: report.connection });
    } catch (raw) {
      this.refreshError = toIpcError(raw);
    } finally {
      this.refreshing = null;
    }
  }

  /** "Verify": a Graph call with the connection's token; the outcome also enters the history. */
  async verify(id: string): Promise<void> {
    this.refreshing = id;
    this.refreshError = null;
    this.lastRefresh = null;
    this.lastVerify = null;
    try {
      const report = await verifyConnection(id);
      this.lastVerify = report;
      this.apply({ kind: 'changed', connection: report.connection });
      void this.reloadHistory(id);
    } catch (raw) {
      this.refreshError = toIpcError(raw);
    } finally {
      this.refreshing = null;
    }
  }

  async refreshAll(): Promise<void> {
    this.refreshing = 'all';
    this.refreshError = null;
    this.refreshAllResult = null;
    try {
      const reports = await refreshAllConnections();
      for (const r of reports) this.apply({ kind: 'changed', connection: r.connection });
      this.refreshAllResult = {
        total: reports.length,
        failed: reports.filter((r) => r.error !== null).length,
      };
    } catch (raw) {
      this.refreshError = toIpcError(raw);
    } finally {
      this.refreshing = null;
    }
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
    this.lastRefresh = null;
    this.lastVerify = null;
    this.refreshError = null;
    await this.historyRequest.run(() => connectionHistory(id));
  }

  close(): void {
    this.selectedId = null;
    this.historyRequest.reset();
    this.disconnectRequest.reset();
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
