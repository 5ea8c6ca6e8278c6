import type { About } from '../ipc/bindings';
import { about } from '../ipc/commands';
import { Request } from '../ipc/request.svelte';

/** The About page's facts: versions, licence, links, where data and logs are. */
export class AboutState {
  readonly request = new Request<About>({ loading: true });

  get info(): About | null {
    return this.request.data;
  }

  async load(): Promise<void> {
    await this.request.run(about);
  }
}
