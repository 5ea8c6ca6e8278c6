import type { Connection, Program, Snippet } from '../ipc/bindings';
import { mailProgramSettings, setConnectionAlias, setProgramAccess } from '../ipc/commands';
import { Request } from '../ipc/request.svelte';

/**
 * "Use in a mail program" for one connection: whether programs may fetch its tokens, its alias
 * for the command line, and core's settings for each program (the texts the tests run).
 */
export class MailPrograms {
  readonly request = new Request<Snippet[]>();
  readonly accessRequest = new Request<Connection>();
  readonly aliasRequest = new Request<Connection>();
  chosen = $state<Program>('thunderbird');
  readonly #changed: (connection: Connection) => void;

  readonly snippets = $derived(this.request.data ?? []);
  readonly shown = $derived(
    this.snippets.find((s) => s.program === this.chosen) ?? this.snippets[0] ?? null,
  );

  /** `changed` takes the connection core returns after a change (the list shows it). */
  constructor(changed: (connection: Connection) => void) {
    this.#changed = changed;
  }

  async load(connectionId: string): Promise<void> {
    await this.request.run(() => mailProgramSettings(connectionId));
  }

  choose(program: Program): void {
    this.chosen = program;
  }

  /** The switch: lets programs fetch the connection's tokens, or stops them. */
  async setAccess(connectionId: string, allowed: boolean): Promise<void> {
    const changed = await this.accessRequest.run(() => setProgramAccess(connectionId, allowed));
    if (changed) this.#settled(changed);
  }

  /** Saves the alias; an empty one clears it. Core checks it (letters, digits, unique). */
  async saveAlias(connectionId: string, alias: string): Promise<void> {
    const value = alias.trim();
    const changed = await this.aliasRequest.run(() =>
      setConnectionAlias(connectionId, value === '' ? null : value),
    );
    if (changed) this.#settled(changed);
  }

  #settled(connection: Connection): void {
    this.#changed(connection);
    void this.load(connection.id);
  }
}
