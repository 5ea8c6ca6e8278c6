import type {
  BridgeCertificate,
  BridgePassword,
  BridgeSettings,
  BridgeSignal,
  BridgeStatus,
  Connection,
  ProgramSetting,
  ShownOnce,
} from '../ipc/bindings';
import {
  addBridgePassword,
  bridgeCertificate,
  bridgeProgramSettings,
  bridgeStatus,
  listConnections,
  removeBridgePassword,
  setBridgeSettings,
  startBridge,
  stopBridge,
  watchBridge,
} from '../ipc/commands';
import { Request } from '../ipc/request.svelte';

/** A password just made, with what to type into the program; gone once dismissed. */
export interface JustAdded {
  shown: ShownOnce;
  settings: ProgramSetting[] | null;
}

/**
 * The Bridge page's data: core's status (listeners, sessions, passwords, settings, warnings),
 * start and stop, the settings, adding and removing a program's password, the certificate.
 * The password core makes is kept only here, until the page dismisses it.
 */
export class BridgeState {
  readonly statusRequest = new Request<BridgeStatus>();
  /** Start or stop (one at a time). */
  readonly runRequest = new Request<BridgeStatus>();
  readonly settingsRequest = new Request<BridgeStatus>();
  /** The connections a program may be added to. */
  readonly connectionsRequest = new Request<Connection[]>();
  readonly addRequest = new Request<ShownOnce>();
  readonly programSettingsRequest = new Request<ProgramSetting[]>({ clearOnRun: true });
  readonly removeRequest = new Request<BridgePassword>();
  readonly certificateRequest = new Request<BridgeCertificate>();

  status = $state<BridgeStatus | null>(null);
  justAdded = $state<JustAdded | null>(null);
  /** The password whose removal is being asked about. */
  asking = $state<string | null>(null);

  readonly running = $derived(this.status?.running ?? false);
  readonly sessions = $derived(this.status?.sessions ?? []);
  readonly passwords = $derived(this.status?.passwords ?? []);
  /** Connections someone signed in to (the bridge cannot serve application access). */
  readonly servable = $derived(
    (this.connectionsRequest.data ?? []).filter((c) => c.kind === 'delegated'),
  );

  /** Reads core's status. */
  async load(): Promise<void> {
    const status = await this.statusRequest.run(bridgeStatus);
    if (status) this.status = status;
  }

  async loadConnections(): Promise<void> {
    await this.connectionsRequest.run(listConnections);
  }

  async loadCertificate(): Promise<void> {
    await this.certificateRequest.run(bridgeCertificate);
  }

  async start(): Promise<void> {
    this.#took(await this.runRequest.run(startBridge));
  }

  async stop(): Promise<void> {
    this.#took(await this.runRequest.run(stopBridge));
  }

  /** Core checks the settings (the message names the field); a running bridge restarts. */
  async saveSettings(settings: BridgeSettings): Promise<boolean> {
    const status = await this.settingsRequest.run(() => setBridgeSettings(settings));
    this.#took(status);
    if (status && this.justAdded) void this.#loadProgramSettings(this.justAdded.shown.entry.id);
    return status !== undefined;
  }

  /** A new password for a program or device on a connection; shown until dismissed. */
  async add(connection: string, program: string): Promise<boolean> {
    this.justAdded = null;
    const shown = await this.addRequest.run(() => addBridgePassword(connection, program));
    if (!shown) return false;
    this.justAdded = { shown, settings: null };
    void this.#loadProgramSettings(shown.entry.id);
    void this.load();
    return true;
  }

  /** Forgets the password shown: it cannot be shown again. */
  dismiss(): void {
    this.justAdded = null;
    this.programSettingsRequest.reset();
  }

  ask(id: string | null): void {
    this.asking = id;
    if (id !== null) this.removeRequest.reset();
  }

  /** Removes a password (its sessions end at once). */
  async remove(id: string): Promise<void> {
    const removed = await this.removeRequest.run(() => removeBridgePassword(id));
    if (!removed) return;
    this.asking = null;
    if (this.justAdded?.shown.entry.id === id) this.dismiss();
    await this.load();
  }

  /**
   * Follows core's signals until the app closes: `changed` reads the status again (once the
   * page has read it), `show` calls `onShow` (the tray's "Bridge" entry).
   */
  async watch(onShow: () => void): Promise<void> {
    try {
      await watchBridge((signal: BridgeSignal) => {
        if (signal === 'show') onShow();
        else if (this.status !== null) void this.load();
      });
    } catch {
      // Without live updates the page still reads the status when it opens and on every action.
    }
  }

  async #loadProgramSettings(id: string): Promise<void> {
    const settings = await this.programSettingsRequest.run(() => bridgeProgramSettings(id));
    if (settings && this.justAdded?.shown.entry.id === id) {
      this.justAdded = { ...this.justAdded, settings };
    }
  }

  #took(status: BridgeStatus | undefined): void {
    if (status) this.status = status;
  }
}

export const bridge = new BridgeState();
