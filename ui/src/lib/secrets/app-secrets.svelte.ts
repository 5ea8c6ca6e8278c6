// An app's client secrets as Microsoft Graph lists them (when the app may read them), or why
// Graph could not be asked. When core took the stored secret's end date from Graph, the
// registration list and the reminders are read again.
import { registrations } from '../apps/registrations.svelte';
import type { AppSecrets } from '../ipc/bindings';
import { appSecrets } from '../ipc/commands';
import { Request } from '../ipc/request.svelte';
import { reminders } from './reminders.svelte';

export class AppSecretsList {
  readonly request = new Request<AppSecrets>();

  async load(registrationId: string): Promise<AppSecrets | undefined> {
    const known = await this.request.run(() => appSecrets(registrationId));
    if (known?.expires_updated) {
      void registrations.load();
      void reminders.load();
    }
    return known;
  }
}
