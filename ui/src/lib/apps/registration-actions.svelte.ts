// What one registration row (and its panels) asks core: test it, delete it, export it. Each
// action holds its own request state; the components only read it.
import type { PlanInfo, ProbeReport, Registration } from '../ipc/bindings';
import { deleteRegistration, registrationPlan, testRegistration } from '../ipc/commands';
import { Request } from '../ipc/request.svelte';

/** "Test": signs in as the app with Microsoft and reports each check. */
export class RegistrationTest {
  readonly request = new Request<ProbeReport>({ clearOnRun: true });

  /** Runs the test; true when core answered with a report (passed or not). */
  async run(id: string): Promise<boolean> {
    return (await this.request.run(() => testRegistration(id))) !== undefined;
  }
}

/** "Delete": core refuses with Conflict when connections appeared since the list was loaded. */
export class RegistrationDeletion {
  readonly request = new Request<void>();
  /** Core found connections the list did not show yet. */
  conflict = $state(false);

  async run(id: string, cascade: boolean): Promise<boolean> {
    await this.request.run(() => deleteRegistration(id, cascade));
    if (this.request.error?.code === 'conflict') this.conflict = true;
    return this.request.ok;
  }
}

/** "Export": the stored registration as core's plan (script and manifest). */
export class RegistrationExport {
  readonly request = new Request<PlanInfo>();

  async load(reg: Registration): Promise<void> {
    await this.request.run(() =>
      registrationPlan({
        name: reg.name,
        kind: reg.kind,
        usage: reg.usage,
        audience: reg.audience,
        preset: reg.preset,
        cloud: reg.cloud,
        ...(reg.authority_url ? { authority_url: reg.authority_url } : {}),
        ...(reg.graph_url ? { graph_url: reg.graph_url } : {}),
        redirect_uri: reg.redirect_uri,
      }),
    );
  }
}
