import { afterEach, describe, expect, it, vi } from 'vitest';

vi.mock('@tauri-apps/api/core', () => ({
  invoke: vi.fn(),
  // The bridge's signals arrive through a Channel; tests push into it by hand.
  Channel: class {
    onmessage: (signal: unknown) => void = () => {};
  },
}));

import type {
  BridgePassword,
  BridgeSettings,
  BridgeStatus,
  ErrorBody,
  ProgramSetting,
  SessionInfo,
  ShownOnce,
} from '../ipc/bindings';
import { connection } from '../connections/testdata';
import { answer } from '../test/ipc';
import { BridgeState } from './bridge.svelte';
import { draftOf, draftProblem, formatBytes, settingsOf, settingsText } from './format';

const settings: BridgeSettings = {
  imap: { starttls: 1143, tls: 1993 },
  pop: { starttls: 1110, tls: 1995 },
  smtp: { starttls: 1587, tls: 1465 },
  allow_plain: true,
  network: null,
  start_with_app: false,
  sessions_per_program: 25,
};

const scanner: BridgePassword = {
  id: 'K7mP2qRs',
  connection_id: 'conn-ada',
  address: 'ada@contoso.com',
  program: 'Office scanner',
  created_at: '2025-03-02T10:00:00Z',
  last_used_at: null,
  last_peer: null,
  use_count: 0,
};

const session: SessionInfo = {
  id: 1,
  protocol: 'imap',
  security: 'start_tls',
  encrypted: false,
  peer: '127.0.0.1:50412',
  started_at: '2025-03-02T10:01:00Z',
  connection_id: 'conn-ada',
  address: 'ada@contoso.com',
  program: 'Office scanner',
  stage: 'relaying',
  bytes_from_client: 120,
  bytes_to_client: 2048,
};

function status(overrides: Partial<BridgeStatus> = {}): BridgeStatus {
  return {
    running: false,
    settings,
    listeners: [],
    sessions: [],
    passwords: [],
    certificate_fingerprint: null,
    warnings: [],
    ...overrides,
  };
}

const PASSWORD = 'K7mP2qRsabcdefghijkmnopqrstu';
const imapSetting: ProgramSetting = {
  protocol: 'imap',
  server: '127.0.0.1',
  port: 1993,
  security: 'tls',
  security_label: 'SSL/TLS',
  user: 'ada@contoso.com',
};

const refused = (message: string, fix?: string): ErrorBody =>
  ({ code: 'validation', message, detail: fix ? { fix } : undefined }) as ErrorBody;

afterEach(() => vi.clearAllMocks());

describe('the bridge page’s state', () => {
  it('reads the status, starts and stops', async () => {
    let running = false;
    const handlers = {
      bridge_status: vi.fn(() => status({ running })),
      start_bridge: vi.fn(() => ((running = true), status({ running, sessions: [session] }))),
      stop_bridge: vi.fn(() => ((running = false), status())),
    };
    answer(handlers);
    const bridge = new BridgeState();
    await bridge.load();
    expect(bridge.running).toBe(false);
    await bridge.start();
    expect(handlers.start_bridge).toHaveBeenCalledOnce();
    expect(bridge.running).toBe(true);
    expect(bridge.sessions).toEqual([session]);
    await bridge.stop();
    expect(bridge.running).toBe(false);
    expect(bridge.sessions).toEqual([]);
  });

  it('a start that fails keeps the status and says why', async () => {
    answer({
      bridge_status: () => status(),
      start_bridge: () => Promise.reject(refused('Port 1143 is given to two listeners.', 'Give every listener its own port.')),
    });
    const bridge = new BridgeState();
    await bridge.load();
    await bridge.start();
    expect(bridge.running).toBe(false);
    expect(bridge.runRequest.error?.message).toBe('Port 1143 is given to two listeners.');
    expect(bridge.runRequest.error?.detail?.fix).toBe('Give every listener its own port.');
  });

  it('shows a new password once, with the program’s settings, until dismissed', async () => {
    let passwords: BridgePassword[] = [];
    const handlers = {
      bridge_status: vi.fn(() => status({ passwords })),
      add_bridge_password: vi.fn((): ShownOnce => {
        passwords = [scanner];
        return { entry: scanner, password: PASSWORD };
      }),
      bridge_program_settings: vi.fn(() => [imapSetting]),
    };
    answer(handlers);
    const bridge = new BridgeState();
    await bridge.load();
    expect(await bridge.add('conn-ada', 'Office scanner')).toBe(true);
    expect(handlers.add_bridge_password).toHaveBeenCalledWith({ connection: 'conn-ada', program: 'Office scanner' });
    expect(bridge.justAdded?.shown.password).toBe(PASSWORD);
    await vi.waitFor(() => expect(bridge.justAdded?.settings).toEqual([imapSetting]));
    expect(handlers.bridge_program_settings).toHaveBeenCalledWith({ id: 'K7mP2qRs' });
    await vi.waitFor(() => expect(bridge.passwords).toEqual([scanner]));
    // The list never carries the password; once dismissed it is nowhere.
    expect(JSON.stringify(bridge.status)).not.toContain(PASSWORD);
    bridge.dismiss();
    expect(bridge.justAdded).toBeNull();
    expect(JSON.stringify(bridge.status)).not.toContain(PASSWORD);
  });

  it('a refused program name says why and shows nothing', async () => {
    answer({
      bridge_status: () => status(),
      add_bridge_password: () =>
        Promise.reject(refused('"" is not a usable program or device name.', 'Name the program or device in one line of at most 64 characters.')),
    });
    const bridge = new BridgeState();
    expect(await bridge.add('conn-ada', '  ')).toBe(false);
    expect(bridge.justAdded).toBeNull();
    expect(bridge.addRequest.error?.message).toContain('not a usable program');
    expect(bridge.addRequest.error?.detail?.fix).toContain('at most 64 characters');
  });

  it('removes a password after asking, and a refusal keeps the question open', async () => {
    let passwords = [scanner];
    let fail = true;
    answer({
      bridge_status: () => status({ passwords }),
      remove_bridge_password: () => {
        if (fail) return Promise.reject({ code: 'not_found', message: 'There is no bridge password with the id K7mP2qRs.' });
        passwords = [];
        return scanner;
      },
    });
    const bridge = new BridgeState();
    await bridge.load();
    bridge.ask(scanner.id);
    await bridge.remove(scanner.id);
    expect(bridge.asking).toBe(scanner.id);
    expect(bridge.removeRequest.error?.message).toContain('no bridge password');
    fail = false;
    bridge.ask(scanner.id);
    expect(bridge.removeRequest.error).toBeNull();
    await bridge.remove(scanner.id);
    expect(bridge.asking).toBeNull();
    expect(bridge.passwords).toEqual([]);
  });

  it('saves settings, and shows core’s refusal with its fix', async () => {
    const handlers = {
      bridge_status: () => status(),
      set_bridge_settings: vi.fn((args?: Record<string, unknown>) => {
        const s = args?.settings as BridgeSettings;
        if (s.network && s.network.allow.length === 0) {
          return Promise.reject(refused('Devices on the network need an allowlist.', 'Add the address of each device.'));
        }
        return status({ settings: s });
      }),
    };
    answer(handlers);
    const bridge = new BridgeState();
    await bridge.load();
    const draft = draftOf(settings);
    draft.ports.imap.starttls = '21143';
    expect(await bridge.saveSettings(settingsOf(draft))).toBe(true);
    expect(bridge.status?.settings.imap.starttls).toBe(21143);
    draft.network = true;
    draft.address = '192.168.1.20';
    expect(await bridge.saveSettings(settingsOf(draft))).toBe(false);
    expect(bridge.settingsRequest.error?.message).toBe('Devices on the network need an allowlist.');
    expect(bridge.settingsRequest.error?.detail?.fix).toBe('Add the address of each device.');
    expect(bridge.status?.settings.network).toBeNull();
  });

  it('follows core’s signals: changed reads again once shown, show opens the page', async () => {
    let channel: { onmessage: (s: unknown) => void } | undefined;
    const handlers = {
      bridge_status: vi.fn(() => status()),
      watch_bridge: vi.fn((args?: Record<string, unknown>) => {
        channel = args?.onSignal as typeof channel;
      }),
    };
    answer(handlers);
    const bridge = new BridgeState();
    const onShow = vi.fn();
    await bridge.watch(onShow);
    channel!.onmessage('changed');
    expect(handlers.bridge_status).not.toHaveBeenCalled();
    await bridge.load();
    channel!.onmessage('changed');
    await vi.waitFor(() => expect(handlers.bridge_status).toHaveBeenCalledTimes(2));
    channel!.onmessage('show');
    expect(onShow).toHaveBeenCalledOnce();
  });

  it('offers only connections someone signed in to', async () => {
    answer({
      list_connections: () => [connection(), connection({ id: 'conn-app', kind: 'application', address: 'shared@contoso.com' })],
    });
    const bridge = new BridgeState();
    await bridge.loadConnections();
    expect(bridge.servable.map((c) => c.id)).toEqual(['conn-ada']);
  });
});

describe('the settings form and the texts', () => {
  it('round-trips the settings and the allowlist', () => {
    const draft = draftOf({ ...settings, network: { address: '192.168.1.20', allow: ['192.168.1.30', '10.0.0.0/8'] } });
    expect(draft.allow).toBe('192.168.1.30\n10.0.0.0/8');
    draft.allow = '192.168.1.30, 10.0.0.0/8\n\n 172.16.0.1 ';
    expect(settingsOf(draft).network).toEqual({ address: '192.168.1.20', allow: ['192.168.1.30', '10.0.0.0/8', '172.16.0.1'] });
    draft.network = false;
    expect(settingsOf(draft).network).toBeNull();
    expect(settingsOf(draftOf(settings))).toEqual(settings);
  });

  it('names a port that is not one before anything is sent', () => {
    const draft = draftOf(settings);
    expect(draftProblem(draft)).toBeNull();
    draft.ports.pop.tls = 'abc';
    expect(draftProblem(draft)).toBe('The POP SSL/TLS port must be a number from 1 to 65535 (0 turns that listener off).');
    draft.ports.pop.tls = '70000';
    expect(draftProblem(draft)).toContain('POP SSL/TLS');
    draft.ports.pop.tls = '0';
    expect(draftProblem(draft)).toBeNull();
    draft.sessionsPerProgram = 'many';
    expect(draftProblem(draft)).toContain('Sessions per program');
  });

  it('writes bytes and the copy-ready settings', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(52 * 1024 * 1024)).toBe('52 MB');
    expect(settingsText([imapSetting], PASSWORD)).toBe(
      `IMAP: server 127.0.0.1, port 1993, SSL/TLS, user name ada@contoso.com\nPassword: ${PASSWORD}`,
    );
  });
});
