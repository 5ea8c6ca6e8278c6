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

/**
 * The Connections page's data: registrations (to know whether anyone can sign in), connections,
 * and the one connection open in the detail view with its history. Answers to an older request
 * than the latest are dropped, so a slow reply never overwrites a newer one.
 */
export class ConnectionsState {
  registrations = $state<Registration[] | null>(null);
  connections = $state<Connection[] | null>(null);
  loading = $state(false);
  error = $state<IpcError | null>(null);

  selectedId = $state<string | null>(null);
  history = $state<Event[] | null>(null);
  historyError = $state<IpcError | null>(null);
  disconnecting = $state(false);
  disconnectError = $state<IpcError | null>(null);

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

  #load = 0;
  #history = 0;

  async load(): Promise<void> {
    const run = ++this.#load;
    this.loading = true;
    try {
      const [registrations, connections] = await Promise.all([
        listRegistrations(),
        listConnections(),
      ]);
      if (run !== this.#load) return;
      this.registrations = registrations;
      this.connections = connections;
      this.error = null;
    } catch (raw) {
      if (run !== this.#load) return;
      this.error = toIpcError(raw);
    } finally {
      if (run === this.#load) this.loading = false;
    }
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

  private async reloadHistory(id: string): Promise<void> {
    const run = ++this.#history;
    try {
      const events = await connectionHistory(id);
      if (run === this.#history && this.selectedId === id) this.history = events;
    } catch {
      // The timeline keeps what it shows.
    }
  }

  /** Opens the detail view of one connection and loads its history. */
  async open(id: string): Promise<void> {
    const run = ++this.#history;
    this.selectedId = id;
    this.history = null;
    this.historyError = null;
    this.disconnectError = null;
    this.lastRefresh = null;
    this.lastVerify = null;
    this.refreshError = null;
    try {
      const events = await connectionHistory(id);
      if (run === this.#history) this.history = events;
    } catch (raw) {
      if (run === this.#history) this.historyError = toIpcError(raw);
    }
  }

  close(): void {
    this.#history++;
    this.selectedId = null;
    this.history = null;
    this.historyError = null;
    this.disconnectError = null;
  }

  /** Deletes the connection and its refresh token, then shows the refreshed list. */
  async disconnect(id: string): Promise<boolean> {
    this.disconnecting = true;
    this.disconnectError = null;
    try {
      await disconnectConnection(id);
    } catch (raw) {
      this.disconnectError = toIpcError(raw);
      return false;
    } finally {
      this.disconnecting = false;
    }
    // Gone at once; the reload then brings anything else that changed meanwhile.
    this.connections = this.connections?.filter((c) => c.id !== id) ?? null;
    if (this.selectedId === id) this.close();
    await this.load();
    return true;
  }
}
