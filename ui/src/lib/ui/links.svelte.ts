// Opening a link in the system browser (through core, which allows http(s) only).
import { openUrl } from '../ipc/commands';
import { Request } from '../ipc/request.svelte';

export class LinkOpener {
  readonly request = new Request<void>();

  async open(url: string): Promise<void> {
    await this.request.run(() => openUrl(url));
  }
}
