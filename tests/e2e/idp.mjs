// Starts the local identity provider (tests/idp) for an end-to-end test and plays the browser leg.
import { spawn, execFileSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CLI, track } from './harness.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
export const fixtures = JSON.parse(readFileSync(join(ROOT, 'tests/idp/fixtures.json'), 'utf8'));

/** A start takes well under a second; one that takes longer has hung and is retried once. */
const START_TIMEOUT_MS = 15000;

export async function startIdp(env = {}, { port = 0 } = {}) {
  for (let attempt = 1; ; attempt++) {
    const proc = track(spawn('node', [join(ROOT, 'tests/idp/server.mjs'), '--port', String(port)], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'ignore'],
    }));
    let timer;
    const line = await Promise.race([
      new Promise((ok, fail) => {
        createInterface({ input: proc.stdout }).once('line', ok);
        proc.once('exit', (code) => fail(new Error(`identity provider exited with ${code}`)));
      }),
      new Promise((ok) => { timer = setTimeout(() => ok(null), START_TIMEOUT_MS); }),
    ]).finally(() => clearTimeout(timer));
    if (line === null) {
      proc.kill('SIGKILL');
      if (attempt >= 2) throw new Error('the identity provider did not start');
      continue;
    }
    const ready = JSON.parse(line);
    const { base } = ready;
    return {
      base,
      port: ready.port,
      /** Stops it and resolves once the process has exited (its port is free again). */
      stop: () =>
        new Promise((ok) => {
          if (proc.exitCode !== null) return ok();
          proc.once('exit', () => ok());
          proc.kill('SIGTERM');
        }),
      async log() {
        return (await fetch(`${base}/_control/log`)).json();
      },
    };
  }
}

/** Plays the user's browser: follows redirects from the authorization URL to the last page. */
export async function browse(url) {
  const res = await fetch(url, { redirect: 'follow' });
  return { status: res.status, url: res.url, body: await res.text() };
}

/** Runs the CLI against a data directory; returns stdout. Secrets go through stdin. */
export function cli(dataDir, args, input) {
  return execFileSync(CLI, ['--data-dir', dataDir, ...args], { input: input ?? '', encoding: 'utf8' });
}

/** `mailconn connect --no-browser`: plays the browser for its `open:` line; resolves to the
 * connection (parsed `--json` output). */
export async function cliConnect(dataDir, appName, loginHint) {
  const proc = track(spawn(CLI, ['--data-dir', dataDir, '--json', 'connect', '--no-browser', '--app', appName,
    '--login-hint', loginHint], { stdio: ['ignore', 'pipe', 'pipe'] }));
  const lines = createInterface({ input: proc.stdout });
  let out = '';
  let browsed = null;
  for await (const line of lines) {
    if (line.startsWith('open: ')) browsed = browse(line.slice(6).trim());
    else out += `${line}\n`;
  }
  await browsed;
  const code = proc.exitCode ?? await new Promise((ok) => proc.once('exit', ok));
  if (code !== 0) throw new Error(`mailconn connect exited with ${code}: ${out}`);
  return JSON.parse(out);
}

/** Follows redirects by hand until one points at the app's custom scheme; returns that URL. */
export async function browseToScheme(url, scheme = 'mailconn:') {
  let next = url;
  for (let hops = 0; hops < 20; hops++) {
    const res = await fetch(next, { redirect: 'manual' });
    const location = res.headers.get('location');
    if (!location) throw new Error(`no redirect to ${scheme} (HTTP ${res.status}): ${await res.text()}`);
    const target = new URL(location, next);
    if (target.protocol === scheme) return target.toString();
    next = target.toString();
  }
  throw new Error('too many redirects');
}
