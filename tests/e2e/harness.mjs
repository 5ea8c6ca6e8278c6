// Starts the real Mail Connections app under Xvfb and drives it over WebDriver (tauri-driver in
// front of WebKitWebDriver). Each app gets its own temporary HOME and data directory, so nothing
// leaks into the user's files. Run inside scripts/with-keyring.sh for a real Secret Service.
import { spawn, execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, mkdirSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { remote } from 'webdriverio';

const ROOT = resolve(import.meta.dirname, '../..');
export const ARTIFACTS = process.env.MAILCONN_ARTIFACTS ?? join(ROOT, 'artifacts');
const CARGO_TARGET = process.env.CARGO_TARGET_DIR ?? join(process.env.HOME ?? '', '.cache/mailconn/target');
export const APP = process.env.MAILCONN_APP ?? join(CARGO_TARGET, 'debug/mailconn-desktop');
export const CLI = process.env.MAILCONN_CLI ?? join(CARGO_TARGET, 'debug/mailconn');

/** Every helper process a test started; killed when the test process exits, whatever happens. */
const children = new Set();
export function track(proc) {
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return proc;
}
process.once('exit', () => {
  for (const proc of children) proc.kill('SIGKILL');
});

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

async function waitForPort(port, ms = 15000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const open = await new Promise((ok) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); ok(true); });
      s.once('error', () => ok(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listened on port ${port} within ${ms} ms`);
}

/** Starts Xvfb on a free display number; resolves to { display, stop }. */
export function startXvfb() {
  return new Promise((ok, fail) => {
    const proc = track(spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x860x24', '-nolisten', 'tcp'], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    }));
    let out = '';
    proc.stdio[3].on('data', (d) => {
      out += d;
      if (out.includes('\n')) ok({ display: `:${out.trim()}`, stop: () => proc.kill('SIGTERM') });
    });
    proc.once('error', fail);
    proc.once('exit', (code) => fail(new Error(`Xvfb exited with ${code}`)));
  });
}

/**
 * Starts the app. Options: env (extra environment for the app), args (extra app arguments),
 * dataDir (reuse a data directory), exe (another Tauri program, e.g. the benchmark's bare window).
 * Returns { browser, dataDir, home, display, screenshot, stop }.
 */
export async function startApp({ env = {}, args = [], dataDir, name = 'app', exe = APP } = {}) {
  const home = mkdtempSync(join(tmpdir(), 'mailconn-e2e-home-'));
  dataDir ??= join(home, 'data');
  mkdirSync(ARTIFACTS, { recursive: true });
  const xvfb = await startXvfb();
  const port = await freePort();
  const nativePort = await freePort();
  const driverLog = [];
  const driver = track(spawn('tauri-driver', ['--port', String(port), '--native-port', String(nativePort),
    '--native-driver', process.env.WEBKIT_WEBDRIVER ?? '/usr/bin/WebKitWebDriver'], {
    env: { ...process.env, DISPLAY: xvfb.display, HOME: home, MAILCONN_DATA_DIR: dataDir,
      MAILCONN_LOG: process.env.MAILCONN_LOG ?? 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  }));
  driver.stdout.on('data', (d) => driverLog.push(String(d)));
  driver.stderr.on('data', (d) => driverLog.push(String(d)));
  let browser;
  try {
    // tauri-driver forwards to WebKitWebDriver, which starts a moment later on the native port.
    await waitForPort(port);
    await waitForPort(nativePort);
    // A loaded machine can be slow to bring WebKitWebDriver up: one retry before giving up.
    for (let attempt = 1; ; attempt++) {
      try {
        browser = await remote({
          hostname: '127.0.0.1',
          port,
          logLevel: 'warn',
          connectionRetryCount: 0,
          capabilities: {
            browserName: 'wry',
            'wdio:enforceWebDriverClassic': true,
            'tauri:options': { application: exe, args },
          },
        });
        break;
      } catch (e) {
        if (attempt >= 2) throw e;
        await new Promise((r) => setTimeout(r, 1500));
      }
    }
  } catch (e) {
    driver.kill('SIGTERM');
    xvfb.stop();
    throw new Error(`the app did not start: ${e.message}\n${driverLog.join('')}`);
  }

  return {
    browser,
    dataDir,
    home,
    display: xvfb.display,
    driverLog,
    /** Saves the webview as ARTIFACTS/<name>.png and the whole X screen as <name>-screen.png. */
    async screenshot(shot) {
      const base = join(ARTIFACTS, `${name}-${shot}`);
      // WebKit's snapshot can trail the last paint by a frame; give it one.
      await new Promise((r) => setTimeout(r, 300));
      // Without accelerated compositing (how the app has WebKit paint without a GPU device, as
      // here: src-tauri/src/rendering.rs) WebKit answers a snapshot only after its next paint,
      // and a page where nothing changes never paints: the request would wait forever. So a
      // 1-pixel mark nobody sees (opacity 0.001 and 0.002: no visible pixel changes) is
      // repainted for a moment while the snapshot is asked for, then removed.
      await browser.execute(() => {
        const mark = document.createElement('div');
        mark.style.cssText = 'position:fixed;left:0;top:0;width:1px;height:1px;pointer-events:none;'
          + 'background:#000;opacity:0.001;z-index:2147483647';
        mark.setAttribute('aria-hidden', 'true');
        document.documentElement.append(mark);
        let flips = 0;
        const timer = setInterval(() => {
          mark.style.opacity = flips++ % 2 ? '0.001' : '0.002';
          if (flips > 30) { clearInterval(timer); mark.remove(); }
        }, 50);
      });
      await browser.saveScreenshot(`${base}.png`);
      // For the secret-leak scan: the text on screen (and non-password field values), and the
      // IPC answers recorded since the last screenshot.
      try {
        const seen = await browser.execute(() => {
          const fields = [...document.querySelectorAll('input, textarea')]
            .filter((e) => e.type !== 'password').map((e) => e.value).filter(Boolean);
          const t = window.__TAURI_INTERNALS__;
          if (t && !t.__leakScan) {
            const invoke = t.invoke.bind(t);
            t.__leakScan = [];
            const recorded = async (cmd, args, opts) => {
              const result = await invoke(cmd, args, opts).catch((e) => { t.__leakScan.push({ cmd, error: e }); throw e; });
              t.__leakScan.push({ cmd, result });
              return result;
            };
            try { Object.defineProperty(t, 'invoke', { value: recorded, writable: true, configurable: true }); } catch { /* fixed */ }
          }
          const ipc = t?.__leakScan?.splice(0) ?? [];
          return { text: document.body.innerText, fields, ipc: JSON.stringify(ipc) };
        });
        writeFileSync(`${base}.dom.txt`, `${seen.text}\n${seen.fields.join('\n')}\n`);
        appendFileSync(join(ARTIFACTS, `${name}.ipc.jsonl`), `${seen.ipc}\n`);
      } catch { /* the page is gone: the screenshot is all there is */ }
      try {
        execFileSync('import', ['-display', xvfb.display, '-window', 'root', `${base}-screen.png`]);
      } catch { /* ImageMagick missing: the webview screenshot is enough */ }
      return `${base}.png`;
    },
    /** The app's log files, joined. */
    logs() {
      try {
        const dir = join(dataDir, 'logs');
        return execFileSync('sh', ['-c', `cat "${dir}"/* 2>/dev/null || true`]).toString();
      } catch { return ''; }
    },
    async stop() {
      try { await browser.deleteSession(); } catch { /* already gone */ }
      driver.kill('SIGTERM');
      xvfb.stop();
      // The database and logs stay in the artifacts for the secret-leak scan.
      try { cpSync(dataDir, join(ARTIFACTS, 'data', `${name}-${Date.now()}`), { recursive: true }); } catch { /* no data */ }
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Waits for an element by data-testid and returns it. */
export async function byTestId(browser, id, timeout = 10000) {
  const el = await browser.$(`[data-testid="${id}"]`);
  await el.waitForDisplayed({ timeout });
  return el;
}

/**
 * The element's text content, trimmed. (WebKitWebDriver's own "get element text" reads a
 * rendering snapshot that can trail the DOM, and fails on some clipped elements.)
 */
export async function textOf(el) {
  return (await el.parent.execute((e) => e.textContent, el)).replace(/\s+/g, ' ').trim();
}

/** Waits until the element's text matches; returns the text. */
export async function waitForText(el, pattern, timeout = 10000) {
  let last = '';
  await el.waitUntil(async () => pattern.test((last = await textOf(el))), {
    timeout,
    timeoutMsg: `text never matched ${pattern}; last: ${JSON.stringify(last)}`,
  });
  return last;
}

export function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}
