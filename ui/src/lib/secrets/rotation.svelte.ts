// The rotation wizard's state: which app, the step, what was pasted, and what core answered.
// The pasted secret is dropped as soon as core has it (or the wizard closes); core verifies it
// before anything is stored.
import { addDays } from '../apps/labels';
import { registrations } from '../apps/registrations.svelte';
import { EXPIRY_DAYS, type ExpiryChoice } from '../apps/expiry';
import type { AppSecrets, Registration, RotationReport } from '../ipc/bindings';
import {
  appSecrets,
  listRegistrations,
  rotateSecret,
  rotateSecretViaGraph,
  secretPortalUrl,
  setSecretExpiry,
} from '../ipc/commands';
import { type IpcError, toIpcError } from '../ipc/invoke';
import { Request } from '../ipc/request.svelte';
import { reminders } from './reminders.svelte';

export type RotationStep = 'explain' | 'paste' | 'verifying' | 'done';

export class RotationState {
  registration = $state<Registration | null>(null);
  step = $state<RotationStep>('explain');
  secret = $state('');
  expiry = $state<ExpiryChoice>('6');
  customExpires = $state('');
  /** The portal's page for the app's secrets; a failure leaves the link out. */
  readonly portal = new Request<string>();
  /** The app's secrets through Graph (when the app may read them). */
  readonly knownRequest = new Request<AppSecrets>();
  /** The verify-and-swap call. */
  readonly rotation = new Request<RotationReport>();
  /** Finding the registration the wizard is opened for by id. */
  readonly lookup = new Request<Registration[]>();
  /** Correcting the stored secret's end date. */
  readonly dateChange = new Request<Registration>();
  error = $state<IpcError | null>(null);
  /** Set after the swap: the old secret is no longer among Graph's (when Graph can tell). */
  oldGone = $state<boolean | null>(null);

  expires = $derived(
    this.expiry === 'custom' ? this.customExpires : addDays(new Date(), EXPIRY_DAYS[this.expiry]),
  );

  get portalUrl(): string | null {
    return this.portal.data;
  }

  get known(): AppSecrets | null {
    return this.knownRequest.data;
  }

  get knownError(): IpcError | null {
    return this.knownRequest.error;
  }

  get checking(): boolean {
    return this.knownRequest.loading;
  }

  get report(): RotationReport | null {
    return this.rotation.data;
  }

  get open(): boolean {
    return this.registration !== null;
  }

  /** Opens the wizard for one registration; loads the portal link and the app's known secrets. */
  start(registration: Registration): void {
    this.registration = registration;
    this.step = 'explain';
    this.secret = '';
    this.expiry = '6';
    this.customExpires = '';
    this.error = null;
    this.rotation.reset();
    this.dateChange.reset();
    this.knownRequest.reset();
    this.oldGone = null;
    this.portal.reset();
    const id = registration.id;
    void this.portal.run(() => secretPortalUrl(id));
    void this.refreshKnown();
  }

  /** Opens the wizard for a registration known only by id (banner, a failing connection). */
  async startById(id: string): Promise<void> {
    const list = await this.lookup.run(listRegistrations);
    const reg = list?.find((r) => r.id === id);
    if (reg) this.start(reg);
    else if (this.lookup.failed) this.error = this.lookup.error;
  }

  close(): void {
    this.registration = null;
    this.secret = '';
    // A late answer must not reopen the wizard.
    this.dateChange.reset();
  }

  /** Reads the app's secrets through Graph (when the app may); says why not otherwise. */
  async refreshKnown(): Promise<void> {
    const id = this.registration?.id;
    if (!id) return;
    const known = await this.knownRequest.run(() => appSecrets(id));
    if (!known || this.registration?.id !== id) return;
    const old = this.report?.old_hint;
    if (this.report && known.graph_read && old) {
      this.oldGone = !known.credentials.some((c) => c.hint === old && !c.stored);
    }
  }

  /** Corrects the stored secret's end date (when Graph cannot tell it). */
  async correctDate(expires: string): Promise<void> {
    const reg = this.registration;
    if (!reg || !expires) return;
    const updated = await this.dateChange.run(() => setSecretExpiry(reg.id, expires));
    if (!updated) {
      if (this.dateChange.failed) this.error = this.dateChange.error;
      return;
    }
    this.registration = updated;
    if (this.known) this.knownRequest.resolve({ ...this.known, secret_expires: expires });
    void reminders.load();
    void registrations.load();
  }

  /** Verify, swap, re-verify: the pasted value goes to core once and is dropped here. */
  async rotate(): Promise<void> {
    const reg = this.registration;
    if (!reg) return;
    this.step = 'verifying';
    this.error = null;
    const input = { secret: this.secret.trim(), expires: this.expires };
    try {
      await this.#swap(() => rotateSecret(reg.id, input));
      this.secret = '';
      this.step = 'done';
      this.oldGone = null;
      void reminders.load();
      void registrations.load();
      void this.refreshKnown();
    } catch (raw) {
      this.error = toIpcError(raw);
      this.step = 'paste';
    }
  }

  /** In-app rotation: Graph creates the secret; core verifies it, swaps, removes the old one. */
  async rotateThroughGraph(): Promise<void> {
    const reg = this.registration;
    if (!reg) return;
    this.step = 'verifying';
    this.error = null;
    try {
      const report = await this.#swap(() => rotateSecretViaGraph(reg.id, this.expires));
      this.step = 'done';
      this.oldGone = report.old_removed ? true : null;
      void reminders.load();
      void registrations.load();
    } catch (raw) {
      this.error = toIpcError(raw);
      this.step = 'explain';
    }
  }

  /** Runs one swap; rethrows its failure so the step can go back. */
  async #swap(call: () => Promise<RotationReport>): Promise<RotationReport> {
    const report = await this.rotation.run(call);
    if (report === undefined) throw this.rotation.error ?? new Error('The rotation was superseded.');
    return report;
  }
}

export const rotation = new RotationState();
