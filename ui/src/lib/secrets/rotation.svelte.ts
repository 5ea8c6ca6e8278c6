// The rotation wizard's state: which app, the step, what was pasted, and what core answered.
// The pasted secret is dropped as soon as core has it (or the wizard closes); core verifies it
// before anything is stored.
import { addDays } from '../apps/labels';
import { registrations } from '../apps/registrations.svelte';
import { EXPIRY_DAYS, type ExpiryChoice } from '../apps/wizard.svelte';
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
import { reminders } from './reminders.svelte';

export type RotationStep = 'explain' | 'paste' | 'verifying' | 'done';

export class RotationState {
  registration = $state<Registration | null>(null);
  step = $state<RotationStep>('explain');
  secret = $state('');
  expiry = $state<ExpiryChoice>('6');
  customExpires = $state('');
  portalUrl = $state<string | null>(null);
  known = $state<AppSecrets | null>(null);
  knownError = $state<IpcError | null>(null);
  checking = $state(false);
  error = $state<IpcError | null>(null);
  report = $state<RotationReport | null>(null);
  /** Set after the swap: the old secret is no longer among Graph's (when Graph can tell). */
  oldGone = $state<boolean | null>(null);

  expires = $derived(
    this.expiry === 'custom' ? this.customExpires : addDays(new Date(), EXPIRY_DAYS[this.expiry]),
  );

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
    this.report = null;
    this.known = null;
    this.knownError = null;
    this.oldGone = null;
    this.portalUrl = null;
    const id = registration.id;
    secretPortalUrl(id).then(
      (url) => {
        if (this.registration?.id === id) this.portalUrl = url;
      },
      () => {},
    );
    void this.refreshKnown();
  }

  /** Opens the wizard for a registration known only by id (banner, a failing connection). */
  async startById(id: string): Promise<void> {
    try {
      const reg = (await listRegistrations()).find((r) => r.id === id);
      if (reg) this.start(reg);
    } catch (raw) {
      this.error = toIpcError(raw);
    }
  }

  close(): void {
    this.registration = null;
    this.secret = '';
  }

  /** Reads the app's secrets through Graph (when the app may); says why not otherwise. */
  async refreshKnown(): Promise<void> {
    const id = this.registration?.id;
    if (!id) return;
    this.checking = true;
    try {
      const known = await appSecrets(id);
      if (this.registration?.id !== id) return;
      this.known = known;
      this.knownError = null;
      const old = this.report?.old_hint;
      if (this.report && known.graph_read && old) {
        this.oldGone = !known.credentials.some((c) => c.hint === old && !c.stored);
      }
    } catch (raw) {
      this.knownError = toIpcError(raw);
    } finally {
      this.checking = false;
    }
  }

  /** Corrects the stored secret's end date (when Graph cannot tell it). */
  async correctDate(expires: string): Promise<void> {
    const reg = this.registration;
    if (!reg || !expires) return;
    try {
      this.registration = await setSecretExpiry(reg.id, expires);
      this.known = this.known ? { ...this.known, secret_expires: expires } : null;
      void reminders.load();
      void registrations.load();
    } catch (raw) {
      this.error = toIpcError(raw);
    }
  }

  /** Verify, swap, re-verify: the pasted value goes to core once and is dropped here. */
  async rotate(): Promise<void> {
    const reg = this.registration;
    if (!reg) return;
    this.step = 'verifying';
    this.error = null;
    const input = { secret: this.secret.trim(), expires: this.expires };
    try {
      this.report = await rotateSecret(reg.id, input);
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
      this.report = await rotateSecretViaGraph(reg.id, this.expires);
      this.step = 'done';
      this.oldGone = this.report.old_removed ? true : null;
      void reminders.load();
      void registrations.load();
    } catch (raw) {
      this.error = toIpcError(raw);
      this.step = 'explain';
    }
  }
}

export const rotation = new RotationState();
