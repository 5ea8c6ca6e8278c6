import { SvelteSet } from 'svelte/reactivity';
import type {
  Audience,
  ClientKind,
  CloudId,
  FieldIssue,
  PlanInfo,
  PlanInput,
  Preset,
  PresetInfo,
  Registration,
  RegistrationInput,
  ProbeReport,
  Usage,
  ValidationReport,
} from '../ipc/bindings';
import {
  createRegistration,
  registrationPlan,
  scopePresets,
  testRegistration,
  updateRegistration,
  validateRegistration,
} from '../ipc/commands';
import { type IpcError, toIpcError } from '../ipc/invoke';
import { addDays } from './labels';

export type StepNumber = 1 | 2 | 3 | 4 | 5 | 6 | 7;

export const STEPS: { n: StepNumber; label: string; title: string }[] = [
  { n: 1, label: 'Who and what', title: 'Who will sign in, and what the app may do' },
  { n: 2, label: 'Register', title: 'Register the app in the Azure portal' },
  { n: 3, label: 'Permissions', title: 'Add the API permissions' },
  { n: 4, label: 'Secret', title: 'Create a client secret' },
  { n: 5, label: 'Paste back', title: 'Paste the app’s IDs back here' },
  { n: 6, label: 'Test', title: 'Test the registration' },
  { n: 7, label: 'Done', title: 'Set-up finished' },
];

export function stepLabel(n: StepNumber): string {
  return STEPS[n - 1]?.label ?? String(n);
}

/** The step whose screen holds each RegistrationInput field, for "go back and fix it" links. */
export const FIELD_STEP: Readonly<Record<string, StepNumber>> = {
  name: 1,
  audience: 1,
  usage: 1,
  preset: 1,
  kind: 1,
  cloud: 1,
  authority_url: 1,
  graph_url: 1,
  redirect_uri: 2,
  secret_expires: 4,
  secret_label: 4,
  client_id: 5,
  tenant: 5,
  secret: 5,
};

export type ExpiryChoice = '6' | '12' | '18' | '24' | 'custom';

/** The portal's own choices, which it counts in days ("Recommended: 180 days (6 months)"). */
export const EXPIRY_DAYS: Record<Exclude<ExpiryChoice, 'custom'>, number> = {
  '6': 180,
  '12': 365,
  '18': 545,
  '24': 730,
};

/** Typing pauses this long before the core checks the form again. */
export const VALIDATE_DELAY_MS = 300;
/** Choices settle this long before the portal instructions are fetched again. */
export const PLAN_DELAY_MS = 150;

const DEFAULT_NAME = 'Mail Connections';

/**
 * The set-up wizard: every choice and every pasted value, kept while the user goes back and forth,
 * plus what core answered (plan, validation, saved registration, test report). Protocol answers
 * come from core; this class only carries them. The client secret is dropped as soon as it is
 * saved or the wizard closes.
 */
/** The app's custom-scheme redirect URI (core: flow::deep_link::REDIRECT_URI). */
export const DEEP_LINK_REDIRECT = 'mailconn://auth';

export class WizardState {
  open = $state(false);
  step = $state<StepNumber>(1);
  /** The furthest step reached; errors of fields on earlier steps are always shown. */
  furthest = $state<StepNumber>(1);
  /** Opened from a registration's Edit button (rather than "Set up"). */
  editing = $state(false);
  /** The stored registration this wizard updates: the one being edited, or the one it created. */
  registration = $state<Registration | null>(null);

  // Step 1
  name = $state(DEFAULT_NAME);
  audience = $state<Audience>('my_organization');
  preset = $state<Preset>('read');
  /** Delegated presets only: also use the app for organisation and shared mailboxes. */
  alsoApplication = $state(false);
  /** Delegated presets only: a Web app with a client secret instead of a desktop app. */
  webApp = $state(false);
  cloud = $state<CloudId>('global');
  authorityUrl = $state('');
  graphUrl = $state('');

  // Step 4
  expiry = $state<ExpiryChoice>('12');
  customExpires = $state('');

  // Step 5
  clientId = $state('');
  tenant = $state('');
  secret = $state('');

  // Core's answers
  presets = $state<PresetInfo[] | null>(null);
  presetsError = $state<IpcError | null>(null);
  plan = $state<PlanInfo | null>(null);
  planError = $state<IpcError | null>(null);
  report = $state<ValidationReport | null>(null);
  /** A field error core returned when saving. */
  serverIssue = $state<FieldIssue | null>(null);
  saveError = $state<IpcError | null>(null);
  saving = $state(false);
  savedWarnings = $state<FieldIssue[]>([]);
  testReport = $state<ProbeReport | null>(null);
  testError = $state<IpcError | null>(null);
  testing = $state(false);

  /** Fields the user has changed; their errors show before the step is left. */
  readonly touched = new SvelteSet<string>();
  /** The user tried to save; every error shows. */
  attempted = $state(false);

  private validateSeq = 0;
  private planSeq = 0;
  private testSeq = 0;

  usage = $derived<Usage>(
    this.preset === 'application' ? 'application' : this.alsoApplication ? 'both' : 'delegated',
  );

  // Application access authenticates with a secret, so only a delegated-only app can be public.
  kind = $derived<ClientKind>(this.usage !== 'delegated' || this.webApp ? 'confidential' : 'public');

  secretExpires = $derived(
    this.expiry === 'custom' ? this.customExpires : addDays(new Date(), EXPIRY_DAYS[this.expiry]),
  );

  /** Desktop apps may receive the sign-in through the app's own mailconn:// link instead. */
  deepLink = $state(false);

  /**
   * The deep link when chosen (desktop apps only); else the stored redirect URI while the client
   * kind stays the same; otherwise core's default.
   */
  private redirectUri = $derived(
    this.kind === 'public' && this.deepLink
      ? DEEP_LINK_REDIRECT
      : this.registration && this.registration.kind === this.kind
        ? this.registration.redirect_uri
        : undefined,
  );

  planInput = $derived<PlanInput>({
    name: this.name,
    kind: this.kind,
    usage: this.usage,
    audience: this.audience,
    preset: this.preset,
    cloud: this.cloud,
    ...(this.cloud === 'custom' ? { authority_url: this.authorityUrl, graph_url: this.graphUrl } : {}),
    ...(this.redirectUri ? { redirect_uri: this.redirectUri } : {}),
  });

  input = $derived<RegistrationInput>({
    name: this.name,
    client_id: this.clientId,
    kind: this.kind,
    tenant: this.tenant,
    cloud: this.cloud,
    ...(this.cloud === 'custom' ? { authority_url: this.authorityUrl, graph_url: this.graphUrl } : {}),
    usage: this.usage,
    audience: this.audience,
    preset: this.preset,
    ...(this.redirectUri ? { redirect_uri: this.redirectUri } : {}),
    ...(this.kind === 'confidential' && this.secret !== '' ? { secret: this.secret } : {}),
    ...(this.kind === 'confidential' && this.secretExpires
      ? { secret_expires: this.secretExpires }
      : {}),
  });

  /** Saving with an empty secret field keeps the secret already stored for this registration. */
  keepsStoredSecret = $derived(
    this.registration?.has_secret === true && this.kind === 'confidential' && this.secret === '',
  );

  /** Every current error, core's save answer included; at most one per field. */
  errors = $derived.by<FieldIssue[]>(() => {
    const out: FieldIssue[] = [];
    const seen = new Set<string>();
    const issues = [...(this.serverIssue ? [this.serverIssue] : []), ...(this.report?.errors ?? [])];
    for (const issue of issues) {
      if (seen.has(issue.field)) continue;
      // Core stands the stored secret in for an empty field when updating.
      if (issue.field === 'secret' && this.keepsStoredSecret) continue;
      seen.add(issue.field);
      out.push(issue);
    }
    return out;
  });

  warnings = $derived.by<FieldIssue[]>(() => {
    const out: FieldIssue[] = [];
    for (const warning of this.report?.warnings ?? []) {
      if (!out.some((w) => w.field === warning.field)) out.push(warning);
    }
    return out;
  });

  /** Whether a field's problems are shown yet: not while the user is still on their first pass. */
  shows(field: string): boolean {
    const step = FIELD_STEP[field];
    return this.attempted || this.touched.has(field) || step === undefined || this.furthest > step;
  }

  errorFor(field: string): string | undefined {
    if (!this.shows(field)) return undefined;
    return this.errors.find((e) => e.field === field)?.message;
  }

  warningFor(field: string): string | undefined {
    if (!this.shows(field)) return undefined;
    return this.warnings.find((w) => w.field === field)?.message;
  }

  touch(...fields: string[]): void {
    for (const field of fields) this.touched.add(field);
  }

  /** Opens a fresh wizard at step 1. */
  start(): void {
    this.reset();
    this.open = true;
  }

  /** Opens the wizard on a stored registration at the paste-back step; saving updates it. */
  edit(registration: Registration): void {
    this.reset();
    this.registration = registration;
    this.editing = true;
    this.name = registration.name;
    this.audience = registration.audience;
    this.preset = registration.usage === 'application' ? 'application' : registration.preset;
    this.alsoApplication = registration.usage === 'both';
    this.webApp = registration.kind === 'confidential';
    this.deepLink = registration.redirect_uri === DEEP_LINK_REDIRECT;
    this.cloud = registration.cloud;
    this.authorityUrl = registration.authority_url ?? '';
    this.graphUrl = registration.graph_url ?? '';
    // A desktop app that becomes a Web app gets a new secret today; otherwise keep the stored date.
    this.expiry = registration.kind === 'public' && !registration.secret_expires ? '12' : 'custom';
    this.customExpires = registration.secret_expires ?? '';
    this.clientId = registration.client_id;
    this.tenant = registration.tenant;
    this.step = 5;
    this.furthest = 5;
    this.open = true;
  }

  close(): void {
    this.reset();
    this.open = false;
  }

  reset(): void {
    this.step = 1;
    this.furthest = 1;
    this.editing = false;
    this.registration = null;
    this.name = DEFAULT_NAME;
    this.audience = 'my_organization';
    this.preset = 'read';
    this.alsoApplication = false;
    this.webApp = false;
    this.deepLink = false;
    this.cloud = 'global';
    this.authorityUrl = '';
    this.graphUrl = '';
    this.expiry = '12';
    this.customExpires = '';
    this.clientId = '';
    this.tenant = '';
    this.secret = '';
    this.plan = null;
    this.planError = null;
    this.report = null;
    this.serverIssue = null;
    this.saveError = null;
    this.saving = false;
    this.savedWarnings = [];
    this.testReport = null;
    this.testError = null;
    this.testing = false;
    this.touched.clear();
    this.attempted = false;
    // Answers still in flight belong to the old wizard.
    this.validateSeq++;
    this.planSeq++;
    this.testSeq++;
  }

  /** Whether the step indicator may jump to a step. Test and Done come only after saving. */
  canVisit(n: StepNumber): boolean {
    if (n === this.step) return false;
    if (n <= 5) return n <= this.furthest || n < this.step;
    return this.registration !== null && n <= this.furthest && this.step >= 6;
  }

  goTo(n: StepNumber): void {
    this.step = n;
    if (n > this.furthest) this.furthest = n;
  }

  back(): void {
    if (this.step > 1) this.step = (this.step - 1) as StepNumber;
  }

  async next(): Promise<void> {
    if (this.step === 5) return this.save();
    if (this.step < 7) this.goTo((this.step + 1) as StepNumber);
  }

  async loadPresets(): Promise<void> {
    this.presetsError = null;
    try {
      this.presets = await scopePresets();
    } catch (raw) {
      this.presetsError = toIpcError(raw);
    }
  }

  /** Asks core for the portal instructions after the choices settle; returns the cancel. */
  schedulePlan(input: PlanInput): () => void {
    // Instructions for the previous choices must not be copied meanwhile.
    this.plan = null;
    const seq = ++this.planSeq;
    const timer = setTimeout(() => void this.fetchPlan(input, seq), PLAN_DELAY_MS);
    return () => clearTimeout(timer);
  }

  private async fetchPlan(input: PlanInput, seq: number): Promise<void> {
    try {
      const plan = await registrationPlan(input);
      if (seq !== this.planSeq) return;
      this.plan = plan;
      this.planError = null;
    } catch (raw) {
      if (seq !== this.planSeq) return;
      this.planError = toIpcError(raw);
    }
  }

  /** Checks the form with core once typing pauses; returns the cancel. */
  scheduleValidate(input: RegistrationInput): () => void {
    this.serverIssue = null;
    const seq = ++this.validateSeq;
    const timer = setTimeout(() => void this.validate(input, seq), VALIDATE_DELAY_MS);
    return () => clearTimeout(timer);
  }

  private async validate(input: RegistrationInput, seq: number): Promise<ValidationReport | null> {
    try {
      const report = await validateRegistration(input);
      if (seq === this.validateSeq) this.report = report;
      return report;
    } catch {
      // Saving then lets core's own check answer; an old report must not block it.
      if (seq === this.validateSeq) this.report = null;
      return null;
    }
  }

  /** Step 5's Next: check everything, then create (or update) the registration and test it. */
  async save(): Promise<void> {
    if (this.saving) return;
    this.attempted = true;
    this.saveError = null;
    this.serverIssue = null;
    this.saving = true;
    try {
      const input = this.input;
      await this.validate(input, ++this.validateSeq);
      if (this.errors.length > 0) return;
      const existing = this.registration;
      const saved = existing
        ? await updateRegistration(existing.id, input)
        : await createRegistration(input);
      this.registration = saved.registration;
      this.savedWarnings = saved.warnings.warnings;
      this.secret = '';
      this.attempted = false;
      this.goTo(6);
      void this.runTest();
    } catch (raw) {
      const error = toIpcError(raw);
      if (error.field) this.serverIssue = { field: error.field, message: error.message };
      else this.saveError = error;
    } finally {
      this.saving = false;
    }
  }

  async runTest(): Promise<void> {
    const registration = this.registration;
    if (!registration) return;
    const seq = ++this.testSeq;
    this.testing = true;
    this.testError = null;
    try {
      const report = await testRegistration(registration.id);
      if (seq === this.testSeq) this.testReport = report;
    } catch (raw) {
      if (seq === this.testSeq) {
        this.testReport = null;
        this.testError = toIpcError(raw);
      }
    } finally {
      if (seq === this.testSeq) this.testing = false;
    }
  }
}

export const wizard = new WizardState();
