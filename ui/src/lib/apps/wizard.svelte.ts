import { SvelteMap, SvelteSet } from 'svelte/reactivity';
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
  Saved,
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
import { Request, type Ticket } from '../ipc/request.svelte';
import { EXPIRY_DAYS, type ExpiryChoice } from './expiry';
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
  imap_server: 1,
  pop_server: 1,
  smtp_server: 1,
  redirect_uri: 2,
  secret_expires: 4,
  secret_label: 4,
  client_id: 5,
  tenant: 5,
  secret: 5,
};

/** Typing pauses this long before the core checks the form again. */
export const VALIDATE_DELAY_MS = 300;
/** Choices settle this long before the portal instructions are fetched again. */
export const PLAN_DELAY_MS = 150;

const DEFAULT_NAME = 'Mail Connections';

/** What core's plan decided for one pair of choices (usage, kind asked for). */
interface KindAnswer {
  kind: ClientKind;
  fixed: boolean;
}

/**
 * The set-up wizard: every choice and every pasted value, kept while the user goes back and forth,
 * plus what core answered (plan, validation, saved registration, test report). Protocol answers
 * (client kind, redirect URIs, tenant suggestions) come from core's plan; this class only carries
 * them. The client secret is dropped as soon as it is saved or the wizard closes.
 */
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
  /** The app's own mail servers (`HOST:PORT`): needed outside the global cloud, where
   * Microsoft's are not built in; kept on edit whatever the cloud. */
  imapServer = $state('');
  popServer = $state('');
  smtpServer = $state('');

  // Step 4
  expiry = $state<ExpiryChoice>('12');
  customExpires = $state('');

  // Step 5
  clientId = $state('');
  tenant = $state('');
  secret = $state('');

  // Core's answers
  readonly presetsRequest = new Request<PresetInfo[]>();
  /** The portal instructions for the current choices; cleared while the choices change. */
  readonly planRequest = new Request<PlanInfo>({ clearOnRun: true });
  readonly testRequest = new Request<ProbeReport>();
  /** Core's check of the form as it is now. */
  readonly validation = new Request<ValidationReport>();
  /** A field error core returned when saving. */
  serverIssue = $state<FieldIssue | null>(null);
  /** Creating or updating the registration (after core's last check of the form). */
  readonly saveRequest = new Request<Saved>();
  savedWarnings = $state<FieldIssue[]>([]);

  /** Fields the user has changed; their errors show before the step is left. */
  readonly touched = new SvelteSet<string>();
  /** The user tried to save; every error shows. */
  attempted = $state(false);


  /**
   * Core's decisions about the client kind, by usage and the kind asked for; they never change,
   * so they are kept across wizards.
   */
  readonly #kinds = new SvelteMap<string, KindAnswer>();
  /** The app's own redirect URI, once core has named it. */
  deepLinkUri = $state<string | null>(null);
  /** The deep-link box as the user set it; unset, it shows whether the stored app uses it. */
  #deepLink = $state<boolean | null>(null);

  get saving(): boolean {
    return this.saveRequest.loading;
  }

  /** Why saving failed, unless core named a field (then it shows next to the field). */
  get saveError(): IpcError | null {
    return this.saveRequest.error;
  }

  get report(): ValidationReport | null {
    return this.validation.data;
  }

  get presets(): PresetInfo[] | null {
    return this.presetsRequest.data;
  }

  set presets(presets: PresetInfo[] | null) {
    this.presetsRequest.data = presets;
  }

  get presetsError(): IpcError | null {
    return this.presetsRequest.error;
  }

  get plan(): PlanInfo | null {
    return this.planRequest.data;
  }

  get planError(): IpcError | null {
    return this.planRequest.error;
  }

  get testReport(): ProbeReport | null {
    return this.testRequest.data;
  }

  get testError(): IpcError | null {
    return this.testRequest.error;
  }

  get testing(): boolean {
    return this.testRequest.loading;
  }

  usage = $derived<Usage>(
    this.preset === 'application' ? 'application' : this.alsoApplication ? 'both' : 'delegated',
  );

  /** The kind the user asks for: a Web app with a secret, or a desktop app. */
  askedKind = $derived<ClientKind>(this.webApp ? 'confidential' : 'public');

  #kindAnswer = $derived(this.#kinds.get(`${this.usage}/${this.askedKind}`));

  /** The client kind core planned for the choices (the one asked for until core has answered). */
  kind = $derived<ClientKind>(this.#kindAnswer?.kind ?? this.askedKind);

  /** The usage leaves no choice of kind (core: application access needs a Web app). */
  kindFixed = $derived(this.#kindAnswer?.fixed ?? false);

  /** Desktop apps may receive the sign-in through the app's own mailconn:// link instead. */
  get deepLink(): boolean {
    if (this.#deepLink !== null) return this.#deepLink;
    const stored = this.registration?.redirect_uri;
    return stored !== undefined && stored === this.deepLinkUri;
  }

  set deepLink(on: boolean) {
    this.#deepLink = on;
  }

  secretExpires = $derived(
    this.expiry === 'custom' ? this.customExpires : addDays(new Date(), EXPIRY_DAYS[this.expiry]),
  );

  /**
   * The redirect URI to ask for, for a client kind: the deep link core named when chosen (desktop
   * apps only); else the stored redirect URI while the client kind stays the same; otherwise
   * core's default.
   */
  #redirectFor(kind: ClientKind): string | undefined {
    if (kind === 'public' && this.deepLink && this.deepLinkUri) return this.deepLinkUri;
    return this.registration && this.registration.kind === kind
      ? this.registration.redirect_uri
      : undefined;
  }

  // The plan is asked for the kind the user chose (core decides the final one); the saved
  // registration gets the kind core decided.
  #planRedirect = $derived(this.#redirectFor(this.askedKind));
  #redirectUri = $derived(this.#redirectFor(this.kind));

  planInput = $derived<PlanInput>({
    name: this.name,
    kind: this.askedKind,
    usage: this.usage,
    audience: this.audience,
    preset: this.preset,
    cloud: this.cloud,
    ...(this.cloud === 'custom' ? { authority_url: this.authorityUrl, graph_url: this.graphUrl } : {}),
    ...(this.#planRedirect ? { redirect_uri: this.#planRedirect } : {}),
  });

  input = $derived<RegistrationInput>({
    name: this.name,
    client_id: this.clientId,
    kind: this.kind,
    tenant: this.tenant,
    cloud: this.cloud,
    ...(this.cloud === 'custom' ? { authority_url: this.authorityUrl, graph_url: this.graphUrl } : {}),
    ...(this.imapServer.trim() ? { imap_server: this.imapServer } : {}),
    ...(this.popServer.trim() ? { pop_server: this.popServer } : {}),
    ...(this.smtpServer.trim() ? { smtp_server: this.smtpServer } : {}),
    usage: this.usage,
    audience: this.audience,
    preset: this.preset,
    ...(this.#redirectUri ? { redirect_uri: this.#redirectUri } : {}),
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
    this.cloud = registration.cloud;
    this.authorityUrl = registration.authority_url ?? '';
    this.graphUrl = registration.graph_url ?? '';
    this.imapServer = registration.imap_server ?? '';
    this.popServer = registration.pop_server ?? '';
    this.smtpServer = registration.smtp_server ?? '';
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
    this.#deepLink = null;
    this.cloud = 'global';
    this.authorityUrl = '';
    this.graphUrl = '';
    this.imapServer = '';
    this.popServer = '';
    this.smtpServer = '';
    this.expiry = '12';
    this.customExpires = '';
    this.clientId = '';
    this.tenant = '';
    this.secret = '';
    this.planRequest.reset();
    this.validation.reset();
    this.serverIssue = null;
    this.saveRequest.reset();
    this.savedWarnings = [];
    // Answers still in flight belong to the old wizard.
    this.testRequest.reset();
    this.touched.clear();
    this.attempted = false;
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
    await this.presetsRequest.run(scopePresets);
  }

  /** Asks core for the portal instructions after the choices settle; returns the cancel. */
  schedulePlan(input: PlanInput): () => void {
    // Instructions for the previous choices must not be copied meanwhile.
    const ticket = this.planRequest.begin();
    const timer = setTimeout(() => void this.#fetchPlan(input, ticket), PLAN_DELAY_MS);
    return () => clearTimeout(timer);
  }

  /** Asks core for the portal instructions now. */
  async loadPlan(input: PlanInput = this.planInput): Promise<void> {
    await this.#fetchPlan(input, this.planRequest.begin());
  }

  async #fetchPlan(input: PlanInput, ticket: Ticket): Promise<void> {
    try {
      const plan = await registrationPlan(input);
      this.#learn(input, plan);
      if (ticket.current) this.planRequest.resolve(plan);
    } catch (raw) {
      if (ticket.current) this.planRequest.reject(raw);
    }
  }

  /** Keeps what core decided about the kind and the deep link; it holds for any later wizard. */
  #learn(input: PlanInput, plan: PlanInfo): void {
    const key = `${input.usage}/${input.kind}`;
    const known = this.#kinds.get(key);
    if (known?.kind !== plan.kind || known.fixed !== plan.kind_fixed) {
      this.#kinds.set(key, { kind: plan.kind, fixed: plan.kind_fixed });
    }
    if (this.deepLinkUri !== plan.deep_link_redirect_uri) {
      this.deepLinkUri = plan.deep_link_redirect_uri;
    }
  }

  /** Checks the form with core once typing pauses; returns the cancel. */
  scheduleValidate(input: RegistrationInput): () => void {
    this.serverIssue = null;
    const ticket = this.validation.begin();
    const timer = setTimeout(() => void this.validate(input, ticket), VALIDATE_DELAY_MS);
    return () => clearTimeout(timer);
  }

  private async validate(input: RegistrationInput, ticket: Ticket): Promise<void> {
    try {
      const report = await validateRegistration(input);
      if (ticket.current) this.validation.resolve(report);
    } catch (raw) {
      if (!ticket.current) return;
      // Saving then lets core's own check answer; an old report must not block it.
      this.validation.data = null;
      this.validation.reject(raw);
    }
  }

  /** Step 5's Next: check everything, then create (or update) the registration and test it. */
  async save(): Promise<void> {
    if (this.saving) return;
    this.attempted = true;
    this.serverIssue = null;
    // Closing the wizard meanwhile drops the answer.
    const ticket = this.saveRequest.begin();
    try {
      const input = this.input;
      await this.validate(input, this.validation.begin());
      if (!ticket.current) return;
      if (this.errors.length > 0) {
        this.saveRequest.reset();
        return;
      }
      const existing = this.registration;
      const saved = existing
        ? await updateRegistration(existing.id, input)
        : await createRegistration(input);
      if (!ticket.current) return;
      this.saveRequest.resolve(saved);
      this.registration = saved.registration;
      this.savedWarnings = saved.warnings.warnings;
      this.secret = '';
      this.attempted = false;
      this.goTo(6);
      void this.runTest();
    } catch (raw) {
      if (!ticket.current) return;
      const error = toIpcError(raw);
      if (error.field) {
        this.serverIssue = { field: error.field, message: error.message };
        this.saveRequest.reset();
      } else {
        this.saveRequest.reject(error);
      }
    }
  }

  async runTest(): Promise<void> {
    const registration = this.registration;
    if (!registration) return;
    await this.testRequest.run(() => testRegistration(registration.id));
    // A failed test shows the error, not an older report.
    if (this.testRequest.failed) this.testRequest.data = null;
  }
}

export const wizard = new WizardState();
