// How the Bridge page writes core's values: the settings form's draft, byte counts, labels.
import type {
  BridgeSettings,
  ListenerSecurity,
  MailProtocol,
  ProgramSetting,
} from '../ipc/bindings';

export const PROTOCOLS: MailProtocol[] = ['imap', 'pop', 'smtp'];

export function protocolLabel(p: MailProtocol): string {
  return p === 'imap' ? 'IMAP' : p === 'pop' ? 'POP' : 'SMTP';
}

export function securityLabel(s: ListenerSecurity): string {
  return s === 'tls' ? 'SSL/TLS' : 'STARTTLS';
}

/** The settings form as typed: ports and counts as text, the allowlist as lines. */
export interface SettingsDraft {
  ports: Record<MailProtocol, { starttls: string; tls: string }>;
  allowPlain: boolean;
  startWithApp: boolean;
  sessionsPerProgram: string;
  network: boolean;
  address: string;
  allow: string;
}

export function draftOf(s: BridgeSettings): SettingsDraft {
  const ports = (p: MailProtocol) => ({ starttls: String(s[p].starttls), tls: String(s[p].tls) });
  return {
    ports: { imap: ports('imap'), pop: ports('pop'), smtp: ports('smtp') },
    allowPlain: s.allow_plain,
    startWithApp: s.start_with_app,
    sessionsPerProgram: String(s.sessions_per_program),
    network: s.network !== null,
    address: s.network?.address ?? '',
    allow: (s.network?.allow ?? []).join('\n'),
  };
}

/** A whole number as typed, or -1 when it is not one (`draftProblem` says so). */
function number(text: string): number {
  const n = Number(text.trim());
  return Number.isInteger(n) && text.trim() !== '' ? n : -1;
}

/** Problems core cannot name (a port that is not a number never reaches it). */
export function draftProblem(d: SettingsDraft): string | null {
  for (const p of PROTOCOLS) {
    for (const kind of ['starttls', 'tls'] as const) {
      const n = number(d.ports[p][kind]);
      if (n < 0 || n > 65535) {
        return `The ${protocolLabel(p)} ${securityLabel(kind === 'tls' ? 'tls' : 'start_tls')} port must be a number from 1 to 65535 (0 turns that listener off).`;
      }
    }
  }
  if (number(d.sessionsPerProgram) < 0) return 'Sessions per program must be a whole number.';
  return null;
}

/** The settings to send; call after `draftProblem` found nothing. */
export function settingsOf(d: SettingsDraft): BridgeSettings {
  const ports = (p: MailProtocol) => ({
    starttls: number(d.ports[p].starttls),
    tls: number(d.ports[p].tls),
  });
  return {
    imap: ports('imap'),
    pop: ports('pop'),
    smtp: ports('smtp'),
    allow_plain: d.allowPlain,
    start_with_app: d.startWithApp,
    sessions_per_program: number(d.sessionsPerProgram),
    network: d.network
      ? {
          address: d.address.trim(),
          allow: d.allow
            .split(/[\s,]+/)
            .map((a) => a.trim())
            .filter((a) => a !== ''),
        }
      : null,
  };
}

/** 1536 reads "1.5 KB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 10 ? Math.round(v) : Math.round(v * 10) / 10} ${units[i]}`;
}

/** The text "Copy all" puts on the clipboard: every setting, then the password. */
export function settingsText(settings: ProgramSetting[], password: string): string {
  const lines = settings.map(
    (s) =>
      `${protocolLabel(s.protocol)}: server ${s.server}, port ${s.port}, ${s.security_label}, user name ${s.user}`,
  );
  return [...lines, `Password: ${password}`].join('\n');
}
