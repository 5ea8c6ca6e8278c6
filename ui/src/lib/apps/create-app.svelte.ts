// "Create it for me": the wizard's choices go to core, which shows every request it will send;
// an administrator signs in once (Microsoft Graph Command Line Tools) and core creates, saves and
// tests the app, reporting each step. Everything Microsoft-specific is core's answer; this holds
// what the screen shows.
import {
  azScript,
  azureCli,
  cancelCreateApp,
  createAppPlan,
  finishCreateApp,
  runAzScript,
  startCreateApp,
} from '../ipc/commands';
import type {
  AdminSignIn,
  AzScriptRun,
  AzureCli,
  CreateAppInput,
  CreateAppPlan,
  CreatedApp,
  CreateProgress,
  PlanInput,
} from '../ipc/bindings';
import type { IpcError } from '../ipc/invoke';
import { Request } from '../ipc/request.svelte';

export type CreatePhase = 'plan' | 'signing_in' | 'creating' | 'done' | 'failed';

/** The secret lifetimes offered, in months (the tenant's policy may allow less: core says so). */
export const SECRET_MONTHS = [3, 6, 12, 18, 24] as const;

export const PLAN_DELAY_MS = 150;

export class CreateAppState {
  /** The panel replaces the wizard's steps while it is open. */
  open = $state(false);
  phase = $state<CreatePhase>('plan');
  grantConsent = $state(true);
  secretMonths = $state(12);
  deviceCode = $state(false);
  loginHint = $state('');
  signIn = $state<AdminSignIn | null>(null);
  steps = $state<CreateProgress[]>([]);

  /** A local Azure CLI, when one is installed and signed in: the exported script can run there. */
  azure = $state<AzureCli | null>(null);
  /** The script shown in full before it runs (null until asked for). */
  azScript = $state<string | null>(null);
  readonly azRun = new Request<AzScriptRun>();

  readonly planRequest = new Request<CreateAppPlan>();
  readonly createRequest = new Request<CreatedApp, CreateProgress[]>();

  get plan(): CreateAppPlan | null {
    return this.planRequest.data;
  }

  get planError(): IpcError | null {
    return this.planRequest.error;
  }

  get created(): CreatedApp | null {
    return this.createRequest.data;
  }

  get error(): IpcError | null {
    return this.createRequest.error;
  }

  /** What core is asked for, from the wizard's choices. */
  input(plan: PlanInput): CreateAppInput {
    return {
      plan,
      grant_consent: this.grantConsent,
      secret_months: this.secretMonths,
      ...(this.loginHint.trim() ? { login_hint: this.loginHint.trim() } : {}),
    };
  }

  begin(): void {
    this.reset();
    this.open = true;
  }

  close(): void {
    this.cancel();
    this.reset();
    this.open = false;
  }

  reset(): void {
    this.azScript = null;
    this.azRun.reset();
    this.phase = 'plan';
    this.signIn = null;
    this.steps = [];
    this.planRequest.reset();
    this.createRequest.reset();
  }

  schedulePlan(input: CreateAppInput): () => void {
    const ticket = this.planRequest.begin();
    const timer = setTimeout(async () => {
      try {
        const plan = await createAppPlan(input);
        if (ticket.current) this.planRequest.resolve(plan);
      } catch (raw) {
        if (ticket.current) this.planRequest.reject(raw);
      }
    }, PLAN_DELAY_MS);
    return () => clearTimeout(timer);
  }

  /** Signs the administrator in, then creates, saves and tests the app. */
  async create(input: CreateAppInput): Promise<CreatedApp | undefined> {
    this.steps = [];
    this.signIn = null;
    this.phase = 'signing_in';
    const created = await this.createRequest.run(async (ticket) => {
      const started = await startCreateApp(input, this.deviceCode);
      ticket.onAbandon(() => void cancelCreateApp(started.attempt));
      if (ticket.current) this.signIn = started;
      return finishCreateApp(started.attempt, (p) => {
        if (!ticket.current) return;
        this.phase = 'creating';
        this.steps = [...this.steps, p];
      });
    });
    this.phase = created ? 'done' : this.createRequest.error ? 'failed' : this.phase;
    return created;
  }

  /** Stops a sign-in that is waiting (nothing has been created before it finished). */
  cancel(): void {
    if (this.phase !== 'signing_in') return;
    const attempt = this.signIn?.attempt;
    if (attempt) void cancelCreateApp(attempt);
    this.createRequest.reset();
    this.signIn = null;
    this.phase = 'plan';
  }

  async checkAzure(): Promise<void> {
    try {
      this.azure = await azureCli();
    } catch {
      this.azure = null;
    }
  }

  /** Shows the exported script in full; nothing runs yet. */
  async showAzScript(plan: PlanInput): Promise<void> {
    this.azRun.reset();
    this.azScript = await azScript(plan);
  }

  /** Runs the script shown, after the person confirmed. */
  async runAz(plan: PlanInput): Promise<AzScriptRun | undefined> {
    return this.azRun.run(() => runAzScript(plan));
  }

  /** The latest "waiting for Microsoft" step, while the test still waits. */
  get waiting(): CreateProgress | null {
    const last = this.steps[this.steps.length - 1];
    return last?.step === 'waiting_for_microsoft' ? last : null;
  }
}

export const createApp = new CreateAppState();
