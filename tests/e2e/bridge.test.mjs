// The mail bridge in the real window: the Bridge page adds a program for a signed-in mailbox and
// shows its password once with the settings to type in; the settings form moves the listeners
// to free ports; Start opens them; an IMAP program (a plain socket here) logs in to the bridge
// with the address and that password, is relayed to a real Dovecot with XOAUTH2, and shows up as
// a live session with its bytes; the program's row counts the login, and the connection's
// history says so. Saved with "Start the bridge with the app", it runs at the next launch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARTIFACTS, startApp, byTestId, freePort, textOf } from './harness.mjs';
import { startIdp, cliConnect } from './idp.mjs';
import { addMailApp, startMailServers } from './mail-servers.mjs';

const ADDRESS = 'alice@contoso.test';

/** A line-reading IMAP client on a plain socket: `send` a command, `until` a line matches. */
function imapClient(port) {
  const socket = connect(port, '127.0.0.1');
  let buffer = '';
  const lines = [];
  let wake = () => {};
  socket.setEncoding('utf8');
  socket.on('data', (d) => {
    buffer += d;
    let i;
    while ((i = buffer.indexOf('\r\n')) >= 0) {
      lines.push(buffer.slice(0, i));
      buffer = buffer.slice(i + 2);
    }
    wake();
  });
  const closed = new Promise((ok) => socket.once('close', ok));
  socket.on('error', () => {});
  return {
    /** Resolves to the first unread line matching `pattern`, failing when the socket closes. */
    async until(pattern) {
      for (;;) {
        const at = lines.findIndex((l) => pattern.test(l));
        if (at >= 0) return lines.splice(0, at + 1).at(-1);
        const more = new Promise((ok) => { wake = ok; });
        const ended = await Promise.race([more.then(() => false), closed.then(() => true)]);
        if (ended && !lines.some((l) => pattern.test(l))) {
          throw new Error(`the bridge closed the session before ${pattern}; it said: ${JSON.stringify(lines)}`);
        }
      }
    },
    send(line) {
      socket.write(`${line}\r\n`);
    },
    close() {
      socket.destroy();
    },
  };
}

/** The files under `dir` (recursively) that contain `secret`. */
function filesWith(dir, secret) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path, e.name))
    .filter((f) => readFileSync(f).includes(secret));
}

/** Waits until `read` (run in the page) returns something truthy; returns it. */
async function waitInPage(browser, read, arg, message, timeout = 20000) {
  let last;
  await browser.waitUntil(async () => (last = await browser.execute(read, arg)), {
    timeout, interval: 200, timeoutMsg: `${message}; last: ${JSON.stringify(last)}`,
  });
  return last;
}

/** Scrolls the element with this test id into view and waits until it is there (for a screenshot). */
async function scrollTo(browser, id, block) {
  await waitInPage(browser, ([tid, where]) => {
    const el = document.querySelector(`[data-testid="${tid}"]`);
    el.scrollIntoView({ block: where });
    const r = el.getBoundingClientRect();
    return r.top >= 0 && r.top < window.innerHeight - 40;
  }, [id, block], `${id} did not scroll into view`);
  // The scroll is painted a frame later.
  await new Promise((r) => setTimeout(r, 200));
}

async function setField(browser, id, value) {
  const el = await byTestId(browser, id);
  await el.clearValue();
  await el.setValue(String(value));
}

test('the Bridge page adds a program, shows its password once, and lists its live session', async (t) => {
  const idp = await startIdp();
  t.after(() => idp.stop());
  const mail = await startMailServers(idp.base);
  t.after(() => mail.stop());
  const dataDir = join(mkdtempSync(join(tmpdir(), 'mailconn-e2e-')), 'data');
  const plain = (port) => `plain://127.0.0.1:${port}`;
  addMailApp(dataDir, idp.base, 'Dovecot mail', {
    imap: plain(mail.dovecot.imap), pop: plain(mail.dovecot.pop), smtp: plain(mail.dovecot.submission),
  });
  await cliConnect(dataDir, 'Dovecot mail', ADDRESS);

  const app = await startApp({ name: 'bridge', dataDir });
  const { browser } = app;
  let imap;
  let password;
  try {
    await (await byTestId(browser, 'nav-bridge')).click();
    await byTestId(browser, 'page-bridge');
    await byTestId(browser, 'bridge-start');
    assert.equal(await (await byTestId(browser, 'bridge-running')).getAttribute('data-running'), 'false');
    // The certificate programs may check, made on first use (its key in the keychain).
    assert.match(await textOf(await byTestId(browser, 'bridge-fingerprint')), /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);

    // Free ports for this run, through the settings form.
    const ports = {};
    for (const p of ['imap', 'pop', 'smtp']) {
      for (const kind of ['starttls', 'tls']) {
        ports[`${p}-${kind}`] = await freePort();
        await setField(browser, `bridge-port-${p}-${kind}`, ports[`${p}-${kind}`]);
      }
    }
    // The office-network opt-in is off, and turning it on warns before anything is saved.
    const network = await byTestId(browser, 'bridge-network');
    assert.equal(await network.isSelected(), false, 'devices on the network are off by default');
    await network.click();
    assert.match(await textOf(await byTestId(browser, 'bridge-network-warning')), /must use TLS/);
    await scrollTo(browser, 'bridge-network-warning', 'center');
    await app.screenshot('network-opt-in');
    await network.click();
    await (await byTestId(browser, 'bridge-settings-save')).click();
    await byTestId(browser, 'bridge-settings-saved');

    // Add a program: its password once, with what to type into the program.
    await byTestId(browser, 'bridge-add-connection');
    await waitInPage(browser, () => document.querySelector('[data-testid="bridge-add-connection"]')?.value,
      undefined, 'no mailbox to add a program to');
    await (await byTestId(browser, 'bridge-add-program')).setValue('Office scanner');
    await (await byTestId(browser, 'bridge-add-submit')).click();
    await byTestId(browser, 'bridge-shown', 15000);
    assert.match(await textOf(await byTestId(browser, 'bridge-shown-note')), /will not be shown again/);
    const field = await byTestId(browser, 'bridge-shown-password');
    assert.equal(await field.getAttribute('type'), 'password', 'masked until asked');
    // What "Copy" hands the program.
    password = await browser.execute((el) => el.value, field);
    assert.match(password, /^[2-9a-km-zA-HJ-NP-Z]{28}$/);
    // For the secret-leak scan of the artifacts (scripts/leak-scan.py).
    appendFileSync(join(ARTIFACTS, 'bridge-passwords.log'), `${password}\n`);
    const settings = await waitInPage(browser, () => {
      const rows = [...document.querySelectorAll('[data-testid="bridge-shown-setting"]')]
        .map((tr) => ({ protocol: tr.dataset.protocol, security: tr.dataset.security, port: Number(tr.dataset.port), text: tr.textContent }));
      return rows.length ? rows : null;
    }, undefined, 'no settings for the program');
    const imapSetting = settings.find((s) => s.protocol === 'imap' && s.security === 'start_tls');
    assert.equal(imapSetting?.port, ports['imap-starttls'], JSON.stringify(settings));
    assert.match(imapSetting.text, /127\.0\.0\.1.*STARTTLS.*alice@contoso\.test/);
    assert.ok(settings.some((s) => s.protocol === 'smtp' && s.port === ports['smtp-tls']), JSON.stringify(settings));
    await scrollTo(browser, 'bridge-programs', 'start');
    await app.screenshot('program-added');

    // Dismissed, it is gone for good: the row stays, the password is nowhere on the page.
    await (await byTestId(browser, 'bridge-shown-done')).click();
    await browser.waitUntil(async () => !(await (await browser.$('[data-testid="bridge-shown"]')).isExisting()),
      { timeout: 5000, timeoutMsg: 'the password stayed on screen' });
    const row = await browser.$('[data-testid="bridge-program"][data-program="Office scanner"]');
    await row.waitForExist({ timeout: 5000 });
    assert.ok(!(await browser.execute(() => document.body.innerHTML)).includes(password), 'the password left the page');

    // Start: every listener on its port.
    await (await byTestId(browser, 'bridge-start')).click();
    await byTestId(browser, 'bridge-stop', 15000);
    const listeners = await browser.execute(() => [...document.querySelectorAll('[data-testid="bridge-listener"]')]
      .map((tr) => ({ protocol: tr.dataset.protocol, security: tr.dataset.security, state: tr.dataset.state, text: tr.textContent })));
    assert.equal(listeners.length, 6, JSON.stringify(listeners));
    for (const l of listeners) assert.equal(l.state, 'listening', JSON.stringify(l));
    assert.match(listeners.find((l) => l.protocol === 'imap' && l.security === 'start_tls').text,
      new RegExp(String(ports['imap-starttls'])));

    // A program logs in with the address and its password, and stays connected.
    imap = imapClient(ports['imap-starttls']);
    await imap.until(/^\* OK/);
    imap.send(`a LOGIN ${ADDRESS} ${password}`);
    const login = await imap.until(/^a /);
    assert.match(login, /^a OK/, `the bridge's answer to the login: ${login}`);
    imap.send('b SELECT INBOX');
    assert.match(await imap.until(/^b /), /^b OK/);

    // The page lists it as a live session, relaying, with its bytes.
    const session = await waitInPage(browser, () => {
      const tr = document.querySelector('[data-testid="bridge-session"][data-program="Office scanner"][data-stage="relaying"]');
      return tr ? tr.textContent.replace(/\s+/g, ' ') : null;
    }, undefined, 'no live session on the page');
    assert.match(session, /alice@contoso\.test/);
    assert.match(session, /IMAP/);
    assert.match(session, /127\.0\.0\.1/);
    await waitInPage(browser, () => document.querySelector('[data-testid="bridge-program"] [data-testid="bridge-program-count"]')?.textContent?.trim() === '1',
      undefined, 'the login was not counted');
    await scrollTo(browser, 'page-bridge', 'start');
    await app.screenshot('live-session');

    // Stop ends it; the program sees the session close.
    await (await byTestId(browser, 'bridge-stop')).click();
    await byTestId(browser, 'bridge-start', 15000);
    await byTestId(browser, 'bridge-sessions-empty');
    await assert.rejects(imap.until(/^never$/), /closed the session/);

    // The connection's history says a program logged in through the bridge.
    await (await byTestId(browser, 'nav-connections')).click();
    const conn = await browser.$(`[data-testid="connection-row"][data-address="${ADDRESS}"]`);
    await conn.waitForExist({ timeout: 10000 });
    await (await conn.$('[data-testid="connection-open"]')).click();
    const history = await waitInPage(browser, () => {
      const text = document.querySelector('[data-testid="history"]')?.textContent ?? '';
      return /Logged in through the bridge/.test(text) ? text.replace(/\s+/g, ' ') : null;
    }, undefined, 'no bridge login in the history');
    assert.match(history, /Office scanner logged in through the bridge over IMAP/);
    assert.match(history, /Bridge password added/);

    // "Start the bridge with the app", saved here, is obeyed at the next launch.
    await (await byTestId(browser, 'nav-bridge')).click();
    await (await byTestId(browser, 'bridge-start-with-app')).click();
    await (await byTestId(browser, 'bridge-settings-save')).click();
    await byTestId(browser, 'bridge-settings-saved');
  } finally {
    imap?.close();
    await app.stop();
  }

  const again = await startApp({ name: 'bridge-again', dataDir });
  try {
    await (await byTestId(again.browser, 'nav-bridge')).click();
    await byTestId(again.browser, 'bridge-stop', 15000);
    const states = await again.browser.execute(() => [...document.querySelectorAll('[data-testid="bridge-listener"]')]
      .map((tr) => tr.dataset.state));
    assert.deepEqual(states, Array(6).fill('listening'));
  } finally {
    await again.stop();
  }
  // Shown once means kept nowhere: not in the database, the logs, the screenshots' text or the
  // answers recorded since.
  assert.deepEqual(filesWith(dataDir, password), [], 'the password was kept');
  const kept = filesWith(ARTIFACTS, password).filter((f) => /bridge/.test(f) && !f.endsWith('bridge-passwords.log'));
  assert.deepEqual(kept, [], 'the password is in the artifacts');
});
