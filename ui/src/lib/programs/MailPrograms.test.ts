import { cleanup, fireEvent, render, screen } from '@testing-library/svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn() }));

import type { Connection, ErrorBody, Snippet } from '../ipc/bindings';
import { connection } from '../connections/testdata';
import { answer } from '../test/ipc';
import MailPrograms from './MailPrograms.svelte';

function snippet(program: Snippet['program'], title: string, text: string, notes: string[] = []): Snippet {
  return { program, title, place: `~/.${program}rc`, text, notes, ready: notes.length === 0 };
}

const closed: Snippet[] = [
  snippet('thunderbird', 'Thunderbird', 'Incoming server (IMAP)\n  Server name: outlook.office365.com\n'),
  snippet('msmtp', 'msmtp (sending)', 'account ada@contoso.com\npasswordeval "mailconn token ada@contoso.com --resource smtp"\n', [
    'Programs may not fetch this connection\'s tokens yet: turn on "Programs may use this connection" on its page, or run mailconn programs ada@contoso.com allow.',
  ]),
];

const open: Snippet[] = [
  closed[0]!,
  snippet('msmtp', 'msmtp (sending)', 'account ada@contoso.com\npasswordeval "mailconn token work --resource smtp"\n'),
];

function serve(overrides: Record<string, (args?: Record<string, unknown>) => unknown> = {}) {
  let current: Snippet[] = closed;
  const handlers = {
    mail_program_settings: vi.fn(() => current),
    set_program_access: vi.fn((args?: Record<string, unknown>) => {
      current = open;
      return connection({ programs_allowed: args?.allowed === true, updated_at: '2025-03-02T10:05:00Z' });
    }),
    set_connection_alias: vi.fn((args?: Record<string, unknown>) =>
      connection({ alias: (args?.alias as string | null) ?? null, updated_at: '2025-03-02T10:06:00Z' }),
    ),
    ...overrides,
  };
  answer(handlers);
  return handlers;
}

function show(c: Connection = connection()) {
  const changed = vi.fn();
  const view = render(MailPrograms, { connection: c, onchanged: changed });
  return { changed, view };
}

afterEach(cleanup);

describe('use in a mail program', () => {
  it('shows core’s settings per program, what stands in the way first', async () => {
    const handlers = serve();
    show();
    const text = await screen.findByTestId('mail-programs-text');
    expect(handlers.mail_program_settings).toHaveBeenCalledWith({ id: 'conn-ada' });
    expect(text.textContent).toContain('outlook.office365.com');
    expect(screen.queryByTestId('mail-programs-note')).toBeNull();

    await fireEvent.change(screen.getByTestId('mail-programs-choose'), { target: { value: 'msmtp' } });
    expect(screen.getByTestId('mail-programs-text').textContent).toContain('passwordeval');
    const note = screen.getByTestId('mail-programs-note');
    expect(note.textContent).toContain('Programs may not fetch');
    expect(note.className).toContain('callout-warn');
  });

  it('the switch lets programs in, and the settings follow', async () => {
    const handlers = serve();
    const { changed } = show();
    await screen.findByTestId('mail-programs-text');
    const box = screen.getByTestId('programs-allowed') as HTMLInputElement;
    expect(box.checked).toBe(false);
    await fireEvent.click(box);
    await vi.waitFor(() => expect(changed).toHaveBeenCalled());
    expect(handlers.set_program_access).toHaveBeenCalledWith({ id: 'conn-ada', allowed: true });
    expect(changed.mock.calls[0]![0].programs_allowed).toBe(true);
    await vi.waitFor(() => expect(handlers.mail_program_settings).toHaveBeenCalledTimes(2));
  });

  it('a refused switch says why and shows the connection as it is', async () => {
    serve({
      set_program_access: () =>
        Promise.reject({ code: 'keychain_locked', message: 'The system keychain is locked.' } satisfies ErrorBody),
    });
    const { changed } = show();
    await screen.findByTestId('mail-programs-text');
    const box = screen.getByTestId('programs-allowed') as HTMLInputElement;
    await fireEvent.click(box);
    expect((await screen.findByRole('alert')).textContent).toContain('The system keychain is locked.');
    await vi.waitFor(() => expect(box.checked).toBe(false));
    expect(changed).not.toHaveBeenCalled();
  });

  it('saves and clears the alias, and shows core’s refusal', async () => {
    const taken: ErrorBody = {
      code: 'conflict',
      message: '"work" already names the connection bob@contoso.com (conn-bob).',
      detail: { field: 'alias' },
    } as ErrorBody;
    const handlers = serve();
    const { changed } = show();
    const input = (await screen.findByTestId('programs-alias')) as HTMLInputElement;
    const save = screen.getByTestId('programs-alias-save') as HTMLButtonElement;
    expect(save.disabled).toBe(true);
    await fireEvent.input(input, { target: { value: ' work ' } });
    expect(save.disabled).toBe(false);
    await fireEvent.click(save);
    await vi.waitFor(() => expect(changed).toHaveBeenCalled());
    expect(handlers.set_connection_alias).toHaveBeenCalledWith({ id: 'conn-ada', alias: 'work' });

    handlers.set_connection_alias.mockImplementation((() => Promise.reject(taken)) as never);
    await fireEvent.input(input, { target: { value: 'other' } });
    await fireEvent.click(save);
    expect((await screen.findByRole('alert')).textContent).toContain('already names the connection');
    expect(input.getAttribute('aria-invalid')).toBe('true');
  });

  it('says so when the settings cannot be written', async () => {
    serve({
      mail_program_settings: () =>
        Promise.reject({ code: 'not_found', message: 'No connection conn-ada.' } satisfies ErrorBody),
    });
    show();
    expect((await screen.findByRole('alert')).textContent).toContain('No connection conn-ada.');
  });
});
