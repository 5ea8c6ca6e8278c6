import type { Program, Snippet } from '../ipc/bindings';
import { mailProgramSettings } from '../ipc/commands';
import { Request } from '../ipc/request.svelte';

/**
 * "Use in a mail program" for one connection: core's settings for each program (the texts the
 * tests run), and which one is shown.
 */
export class MailPrograms {
  readonly request = new Request<Snippet[]>();
  chosen = $state<Program>('thunderbird');

  readonly snippets = $derived(this.request.data ?? []);
  readonly shown = $derived(this.snippets.find((s) => s.program === this.chosen) ?? this.snippets[0] ?? null);

  async load(connectionId: string): Promise<void> {
    await this.request.run(() => mailProgramSettings(connectionId));
  }

  choose(program: Program): void {
    this.chosen = program;
  }
}
