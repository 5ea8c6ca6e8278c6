import { cleanup, fireEvent, render, screen } from '@testing-library/svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';

vi.mock('@tauri-apps/api/core', () => ({
  invoke: vi.fn(),
  Channel: class {
    onmessage: (signal: unknown) => void = () => {};
  },
}));

import type { BridgePassword, BridgeStatus, ErrorBody } from '../ipc/bindings';
import { connection } from '../connections/testdata';
import { answer } from '../test/ipc';
import { bridge } from './bridge.svelte';
import BridgePage from './BridgePage.svelte';

const PASSWORD = 'K7mP2qRsabcdefghijkmnopqrstu';
const scanner: BridgePassword = {
  id: 'K7mP2qRs',
  connection_id: 'conn-ada',
  address: 'ada@contoso.com',
  program: 'Office scanner',
  created_at: '2025-03-02T10:00:00Z',
  last_used_at: '2025-03-02T10:05:00Z',
  last_peer: '127.0.0.1',
  use_count: 3,
};

function status(passwords: BridgePassword[], running = false): BridgeStatus {
  return {
    running,
    settings: {
      imap: { starttls: 1143, tls: 1993 },
      pop: { starttls: 1110, tls: 1995 },
      smtp: { starttls: 1587, tls: 1465 },
      allow_plain: true,
      network: null,
      start_with_app: false,
      sessions_per_program: 25,
    },
    listeners: running
      ? [{ protocol: 'imap', security: 'start_tls', address: '127.0.0.1', port: 1143, network: false, state: 'failed', message: 'Port 1143 is taken by another program.' }]
      : [],
    sessions: [],
    passwords,
    certificate_fingerprint: 'AB:CD',
    warnings: running ? ['Port 1143 is taken by another program.'] : [],
  };
}

function serve() {
  let passwords: BridgePassword[] = [];
  let running = false;
  const handlers = {
    bridge_status: vi.fn(() => status(passwords, running)),
    list_connections: () => [connection()],
    bridge_certificate: () => ({ pem: '-----BEGIN CERTIFICATE-----', fingerprint: 'AB:CD', names: ['localhost', '127.0.0.1'] }),
    add_bridge_password: vi.fn(() => {
      passwords = [scanner];
      return { entry: { ...scanner, last_used_at: null, last_peer: null, use_count: 0 }, password: PASSWORD };
    }),
    bridge_program_settings: () => [
      { protocol: 'imap', server: '127.0.0.1', port: 1993, security: 'tls', security_label: 'SSL/TLS', user: 'ada@contoso.com' },
    ],
    remove_bridge_password: vi.fn(() => {
      passwords = [];
      return scanner;
    }),
    start_bridge: () => ((running = true), status(passwords, running)),
    set_bridge_settings: () =>
      Promise.reject({ code: 'validation', message: 'Port 1143 is given to two listeners.', detail: { fix: 'Give every listener its own port (or 0 to turn one off).' } } as ErrorBody),
  };
  answer(handlers);
  return handlers;
}

afterEach(() => {
  cleanup();
  bridge.dismiss();
  bridge.status = null;
});

describe('the Bridge page', () => {
  it('adds a program and shows its password once, masked until asked', async () => {
    const handlers = serve();
    render(BridgePage);
    await screen.findByTestId('bridge-programs-empty');
    const name = await screen.findByTestId('bridge-add-program');
    await vi.waitFor(() => expect((screen.getByTestId('bridge-add-connection') as HTMLSelectElement).value).toBe('conn-ada'));
    await fireEvent.input(name, { target: { value: 'Office scanner' } });
    await fireEvent.click(screen.getByTestId('bridge-add-submit'));
    const field = (await screen.findByTestId('bridge-shown-password')) as HTMLInputElement;
    expect(handlers.add_bridge_password).toHaveBeenCalledWith({ connection: 'conn-ada', program: 'Office scanner' });
    expect(field.type).toBe('password');
    expect(field.value).toBe(PASSWORD);
    expect(screen.getByTestId('bridge-shown-note').textContent).toContain('will not be shown again');
    await fireEvent.click(screen.getByTestId('bridge-shown-reveal'));
    expect(field.type).toBe('text');
    expect((await screen.findByTestId('bridge-shown-setting')).textContent).toContain('1993');

    await fireEvent.click(screen.getByTestId('bridge-shown-done'));
    expect(screen.queryByTestId('bridge-shown')).toBeNull();
    expect(document.body.innerHTML).not.toContain(PASSWORD);
    expect((await screen.findByTestId('bridge-program')).textContent).toContain('Office scanner');
  });

  it('asks before removing a password', async () => {
    const handlers = serve();
    render(BridgePage);
    await screen.findByTestId('bridge-programs-empty');
    await fireEvent.input(screen.getByTestId('bridge-add-program'), { target: { value: 'Office scanner' } });
    await vi.waitFor(() => expect((screen.getByTestId('bridge-add-connection') as HTMLSelectElement).value).toBe('conn-ada'));
    await fireEvent.click(screen.getByTestId('bridge-add-submit'));
    await screen.findByTestId('bridge-shown');
    await fireEvent.click(screen.getByTestId('bridge-shown-done'));
    await fireEvent.click(await screen.findByTestId('bridge-program-remove'));
    expect(screen.getByTestId('bridge-remove-ask').textContent).toContain('its sessions end now');
    await fireEvent.click(screen.getByTestId('bridge-remove-keep'));
    expect(handlers.remove_bridge_password).not.toHaveBeenCalled();
    await fireEvent.click(screen.getByTestId('bridge-program-remove'));
    await fireEvent.click(screen.getByTestId('bridge-remove-confirm'));
    expect(await screen.findByTestId('bridge-programs-empty')).toBeTruthy();
    expect(handlers.remove_bridge_password).toHaveBeenCalledWith({ id: 'K7mP2qRs' });
  });

  it('shows a listener that could not bind, and core’s refusal of the settings with its fix', async () => {
    serve();
    render(BridgePage);
    await fireEvent.click(await screen.findByTestId('bridge-start'));
    expect((await screen.findByTestId('bridge-warning')).textContent).toContain('taken by another program');
    const failed = screen.getAllByTestId('bridge-listener').find((r) => r.dataset.state === 'failed');
    expect(failed?.textContent).toContain('Failed');
    await fireEvent.click(screen.getByTestId('bridge-settings-save'));
    const alert = await screen.findByText('Port 1143 is given to two listeners.');
    expect(alert.closest('[role="alert"]')?.textContent).toContain('Give every listener its own port');
  });

  it('warns before devices on the network may connect', async () => {
    serve();
    render(BridgePage);
    const box = (await screen.findByTestId('bridge-network')) as HTMLInputElement;
    expect(box.checked).toBe(false);
    expect(screen.queryByTestId('bridge-network-warning')).toBeNull();
    await fireEvent.click(box);
    expect(screen.getByTestId('bridge-network-warning').textContent).toContain('must use TLS');
  });
});
