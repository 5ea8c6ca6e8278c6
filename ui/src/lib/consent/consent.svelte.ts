// The admin consent link of one app registration, as core builds it (the tenant-specific
// /adminconsent URL). The connect dialog, a connection that needs consent, the registration's
// "Admin consent link" panel and the organisation-mailboxes panel all hold one of these.
import { adminConsentUrl } from '../ipc/commands';
import { Request } from '../ipc/request.svelte';

export class AdminConsentLink {
  readonly request = new Request<string>({ clearOnRun: true });

  /** Asks core for the link of `registrationId`; a newer call or a reset drops the answer. */
  async load(registrationId: string): Promise<string | undefined> {
    return this.request.run(() => adminConsentUrl(registrationId));
  }

  reset(): void {
    this.request.reset();
  }
}
