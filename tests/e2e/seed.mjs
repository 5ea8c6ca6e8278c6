// A data directory with many connections for the list's tests and the benchmark: two apps added
// through the CLI, then `n` connections written straight into SQLite (display only: the rows say
// they have a refresh token, none is in the keychain, and nothing is due for a refresh for 30
// days, so the engine stays asleep), as scripts/bench.py does.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, fixtures } from './idp.mjs';

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Margaret', 'Tim'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson', 'Hamilton', 'Berners-Lee'];
/** One in twenty needs someone, one in twenty is retrying, the rest are fine. */
const STATES = [...Array(18).fill('active'), 'retrying', 'needs_sign_in'];
const HOUR = 3_600_000;

const sql = (v) => (v === null ? 'NULL' : typeof v === 'number' ? String(v) : `'${String(v).replaceAll("'", "''")}'`);
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * Seeds `n` connections; resolves to the data directory. Connection `i` is
 * `user{i}@contoso.test` (app "Contoso Mail") or, every fourth, `user{i}@fabrikam.test` (app
 * "Fabrikam"); every tenth (i % 10 == 5) is application access; names, states and times vary with `i`.
 */
export function seedConnections(n, { dataDir } = {}) {
  dataDir ??= join(mkdtempSync(join(tmpdir(), 'mailconn-seed-')), 'data');
  const common = ['--tenant', 'common', '--public', '--authority-url', 'http://127.0.0.1:9', '--graph-url', 'http://127.0.0.1:9'];
  cli(dataDir, ['app', 'add', '--name', 'Contoso Mail', '--client-id', fixtures.clients.public.client_id, ...common]);
  cli(dataDir, ['app', 'add', '--name', 'Fabrikam', '--client-id', fixtures.clients.public.client_id, ...common]);
  const db = join(dataDir, 'mailconn.sqlite3');
  const apps = Object.fromEntries(
    execFileSync('sqlite3', [db, 'SELECT name, id FROM registrations'], { encoding: 'utf8' })
      .trim().split('\n').map((l) => l.split('|')),
  );
  const now = Date.now();
  const lines = ['BEGIN;'];
  for (let i = 0; i < n; i++) {
    const fabrikam = i % 4 === 3;
    const application = i % 10 === 5;
    const state = application ? 'active' : STATES[i % STATES.length];
    const address = `user${String(i).padStart(5, '0')}@${fabrikam ? 'fabrikam' : 'contoso'}.test`;
    const name = `${FIRST[i % FIRST.length]} ${LAST[Math.floor(i / FIRST.length) % LAST.length]}`;
    const scopes = 'openid offline_access User.Read Mail.Read';
    // What Microsoft says was granted: never offline_access (docs/MICROSOFT.md).
    const granted = 'openid User.Read Mail.Read';
    // Tokens expiring over the next 90 minutes (some already expired), refreshed over the last day.
    const expires = state === 'needs_sign_in' ? null : iso(now + ((i * 7919) % 100 - 10) * 54_000);
    const refreshed = iso(now - ((i * 104_729) % 24) * HOUR - (i % 60) * 60_000);
    lines.push(
      'INSERT INTO connections (id, registration_id, kind, account_key, address, display_name, tenant_id, '
      + 'account_type, preset, scopes_requested, scopes_granted, state, state_reason, created_at, updated_at, '
      + 'last_refresh_at, access_expires_at, has_refresh_token, next_refresh_at) VALUES ('
      + [`seed-${i}`, apps[fabrikam ? 'Fabrikam' : 'Contoso Mail'], application ? 'application' : 'delegated',
        `key-${i}`, address, name, null, 'work', 'read', scopes, granted, state,
        state === 'needs_sign_in' ? 'The refresh token has expired.' : null, iso(now), iso(now), refreshed, expires,
        1, iso(now + 30 * 24 * HOUR)].map(sql).join(', ')
      + ');',
    );
  }
  lines.push('COMMIT;');
  const script = join(dataDir, 'seed.sql');
  writeFileSync(script, lines.join('\n'));
  execFileSync('sqlite3', [db, `.read ${script}`]);
  return dataDir;
}
