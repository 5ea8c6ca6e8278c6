// Starts the Graph stand-in (tests/graph) for an end-to-end test, against a running identity
// provider (tests/e2e/idp.mjs startIdp), and drives its control API.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join, resolve } from 'node:path';
import { track } from './harness.mjs';

const ROOT = resolve(import.meta.dirname, '../..');

/** A start takes well under a second; one that takes longer has hung and is retried once. */
const START_TIMEOUT_MS = 15000;

export async function startGraph(idpBase, env = {}) {
  for (let attempt = 1; ; attempt++) {
    const proc = track(spawn('node', [join(ROOT, 'tests/graph/server.mjs'), '--port', '0', '--idp', idpBase], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'ignore'],
    }));
    let timer;
    const line = await Promise.race([
      new Promise((ok, fail) => {
        createInterface({ input: proc.stdout }).once('line', ok);
        proc.once('exit', (code) => fail(new Error(`Graph stand-in exited with ${code}`)));
      }),
      new Promise((ok) => { timer = setTimeout(() => ok(null), START_TIMEOUT_MS); }),
    ]).finally(() => clearTimeout(timer));
    if (line === null) {
      proc.kill('SIGKILL');
      if (attempt >= 2) throw new Error('the Graph stand-in did not start');
      continue;
    }
    const { base } = JSON.parse(line);
    const control = async (method, path, body) => {
      const r = await fetch(`${base}/_control${path}`, {
        method,
        headers: body ? { 'content-type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined,
      });
      return r.json();
    };
    return {
      base,
      stop: () => proc.kill('SIGTERM'),
      /** Every Graph request: {t_start, t_sent, t_end, method, path, query, mailbox, app_id, auth, status, error_code, ...}. */
      log: () => control('GET', '/log'),
      clearLog: () => control('DELETE', '/log'),
      /** e.g. {status: 429, retry_after: 2, count: 1, mailbox: 'bob@contoso.test'} or {delay_ms: 500, path: '/messages$'} */
      fault: (f) => control('POST', '/faults', f),
      clearFaults: () => control('DELETE', '/faults'),
      accessDenied: (mailboxes) => control('POST', '/access-denied', { mailboxes }),
      clearAccessDenied: () => control('DELETE', '/access-denied'),
      limits: (l) => control('POST', '/limits', l),
      sent: () => control('GET', '/sent'),
      /** Any control request, e.g. ('POST', '/tenant-settings', {...}) or ('GET', '/created'). */
      control,
    };
  }
}
