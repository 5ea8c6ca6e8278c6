// Every screen of the real window in both themes, at 800x600 and 1280x800, saved as
// docs/screenshots/screens/<screen>-<theme>-<width>.png for review. Checked on each: the theme
// is the one chosen, nothing overflows sideways, body text keeps its contrast. Also: the
// appearance set with the CLI is the first paint's, "System" follows the desktop's dark
// preference, the keyboard shortcuts work in the window, focus is visible, and About names the
// versions of the app, Tauri and WebKitGTK.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startApp, byTestId, textOf } from './harness.mjs';
import { cli } from './idp.mjs';
import { seedConnections } from './seed.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const SHOTS = join(ROOT, 'docs/screenshots/screens');
const SIZES = [[800, 600], [1280, 800]];

async function interactive(browser) {
  await browser.waitUntil(
    () => browser.execute(() => document.documentElement.dataset.interactive !== undefined),
    { timeout: 30000, timeoutMsg: 'the first screen was never marked interactive' },
  );
}

/** Relative luminance contrast of two CSS colours (rgb()/rgba() as getComputedStyle gives). */
function contrast(a, b) {
  const lum = (c) => {
    const [r, g, bl] = c.match(/[\d.]+/g).slice(0, 3).map((v) => {
      const s = Number(v) / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** What the page looks like now: theme, sideways overflow, colours of the text and ground. */
async function look(browser) {
  return browser.execute(() => {
    const main = document.querySelector('main');
    const body = getComputedStyle(document.body);
    const muted = document.querySelector('.muted, header p');
    return {
      theme: document.documentElement.dataset.theme,
      preference: document.documentElement.dataset.themePreference,
      pageOverflow: document.documentElement.scrollWidth - window.innerWidth,
      // Anything cut off at the window's right edge, outside a box that scrolls sideways.
      cut: [...document.querySelectorAll('body *')].filter((e) => {
        const r = e.getBoundingClientRect();
        if (r.width === 0 || r.right <= window.innerWidth + 1) return false;
        for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
          if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(a).overflowX) && a.tagName !== 'MAIN') return false;
        }
        return true;
      }).map((e) => e.dataset.testid ?? `${e.tagName.toLowerCase()}.${e.className}`).slice(0, 5),
      mainOverflow: main ? main.scrollWidth - main.clientWidth : 0,
      text: body.color,
      ground: body.backgroundColor,
      muted: muted ? getComputedStyle(muted).color : body.color,
      width: window.innerWidth,
    };
  });
}

/**
 * Tabs through the page (up to `stops` times) and returns the controls that got focus without a
 * visible ring: no outline, and no box-shadow in the focus ring's colour on the control, its
 * ::before/::after, or the two elements around it (a radio card rings its whole label).
 */
async function unringed(browser, stops = 80) {
  await browser.execute(() => document.querySelector('main')?.focus());
  const seen = new Set();
  const bad = [];
  for (let i = 0; i < stops; i++) {
    await browser.keys(['Tab']);
    const r = await readFocus(browser);
    if (!r) continue;
    if (seen.has(r.key)) break; // round the page once
    seen.add(r.key);
    if (!r.ok) bad.push(r.key);
  }
  return bad;
}

/** The focused control and whether its focus ring shows (null: nothing focused). */
async function readFocus(browser, attempt = 0) {
  try {
    return await browser.execute(async () => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      // The ring may fade in (a transition): read it once it has.
      await Promise.all(document.getAnimations().map((a) => a.finished.catch(() => {})));
      const ring = getComputedStyle(document.documentElement).getPropertyValue('--focus-ring')
        .match(/rgb\((\d+) (\d+) (\d+)/).slice(1, 4).join(', ');
      const shows = (s) => (s.outlineStyle !== 'none' && s.outlineWidth !== '0px') || s.boxShadow.includes(ring);
      const styles = [getComputedStyle(el), getComputedStyle(el, '::after'), getComputedStyle(el, '::before')];
      if (el.parentElement) styles.push(getComputedStyle(el.parentElement));
      if (el.parentElement?.parentElement) styles.push(getComputedStyle(el.parentElement.parentElement));
      const id = el.dataset.testid ?? el.getAttribute('aria-label') ?? el.id ?? '';
      return { key: `${el.tagName}:${id}:${el.textContent?.trim().slice(0, 30)}`, ok: styles.some(shows) };
    });
  } catch (e) {
    // WebKitWebDriver now and then loses an asynchronous script's answer on a busy machine
    // ("Could not parse script result"): the question is asked again, once.
    if (attempt > 0 || !/Could not parse script result/.test(String(e))) throw e;
    return readFocus(browser, attempt + 1);
  }
}

/** Controls a screen reader would announce without a name (no text, label, aria-label or title). */
async function unnamed(browser) {
  return browser.execute(() => [...document.querySelectorAll('button, input, select, textarea, a[href], [role="radio"], [role="tab"]')]
    .filter((e) => e.type !== 'hidden' && e.getClientRects().length > 0)
    .filter((e) => {
      const by = e.getAttribute('aria-labelledby');
      const named = e.getAttribute('aria-label')?.trim() || e.title?.trim()
        || (by && by.split(/\s+/).map((id) => document.getElementById(id)?.textContent ?? '').join('').trim())
        || [...(e.labels ?? [])].map((l) => l.textContent).join('').trim()
        || (!['INPUT', 'SELECT', 'TEXTAREA'].includes(e.tagName) && e.textContent.trim());
      return !named;
    })
    .map((e) => `${e.tagName.toLowerCase()}:${e.dataset.testid ?? e.className}`));
}

async function resize(browser, width, height) {
  await browser.setWindowSize(width, height);
  await browser.waitUntil(
    () => browser.execute((w) => Math.abs(window.innerWidth - w) < 40, width),
    { timeout: 5000, timeoutMsg: `the window did not become ${width} wide` },
  );
}

test('every screen in both themes at two sizes; shortcuts, focus and About in the window', async (t) => {
  mkdirSync(SHOTS, { recursive: true });
  const dataDir = seedConnections(24);
  // A desktop that prefers dark (GTK's own setting, as GNOME's dark style sets it).
  const config = mkdtempSync(join(tmpdir(), 'mailconn-gtk-'));
  mkdirSync(join(config, 'gtk-3.0'), { recursive: true });
  writeFileSync(join(config, 'gtk-3.0', 'settings.ini'), '[Settings]\ngtk-application-prefer-dark-theme=1\n');
  const app = await startApp({ name: 'screens', dataDir, env: { XDG_CONFIG_HOME: config } });
  const { browser } = app;
  t.after(() => app.stop());
  await interactive(browser);

  // "System" follows the desktop: dark here.
  let now = await look(browser);
  assert.equal(now.preference, 'system');
  assert.equal(now.theme, 'dark', 'the desktop prefers dark, and System follows it');

  // About names the parts and their versions.
  await (await byTestId(browser, 'nav-about')).click();
  await byTestId(browser, 'page-about');
  const parts = await browser.execute(() => Object.fromEntries(
    [...document.querySelectorAll('[data-testid="about-component"]')].map((e) => [e.dataset.name, e.textContent])));
  assert.match(parts.Tauri, /^2\.\d+\.\d+$/);
  assert.match(parts.WebKitGTK, /^2\.\d+\.\d+$/, 'the web view is WebKitGTK on Linux');
  assert.match(await textOf(await byTestId(browser, 'about-licence')), /MIT or Apache-2\.0/);
  assert.equal(await (await byTestId(browser, 'about-data-dir')).getValue(), dataDir);

  // Keyboard: Ctrl+1 to Connections, Ctrl+F to the search, focus visible when tabbing on.
  await browser.keys(['Control', '1']);
  await byTestId(browser, 'page-connections');
  await browser.keys(['Control', 'f']);
  await browser.waitUntil(() => browser.execute(() => document.activeElement?.dataset.testid === 'connection-search'),
    { timeout: 5000, timeoutMsg: 'Ctrl+F did not reach the search' });
  await browser.keys(['Tab']);
  const ring = await browser.execute(() => {
    const s = getComputedStyle(document.activeElement);
    return { tag: document.activeElement.tagName, outline: s.outlineStyle, shadow: s.boxShadow };
  });
  assert.ok(ring.outline !== 'none' || ring.shadow !== 'none', `no visible focus on ${ring.tag}: ${JSON.stringify(ring)}`);
  await browser.keys(['Control', 'n']);
  await byTestId(browser, 'connect-dialog');
  await browser.keys(['Escape']);
  await browser.waitUntil(() => browser.execute(() => !document.querySelector('[data-testid="connect-dialog"]')),
    { timeout: 5000, timeoutMsg: 'Escape did not close the dialog' });

  // Focus is visible on every control of every page, in both themes.
  const unfocused = [];
  for (const chosen of ['light', 'dark']) {
    await (await byTestId(browser, `theme-${chosen}`)).click();
    for (const page of ['connections', 'apps', 'bridge', 'settings', 'about']) {
      await (await byTestId(browser, `nav-${page}`)).click();
      await byTestId(browser, `page-${page}`);
      for (const key of await unringed(browser)) unfocused.push(`${page} (${chosen}): ${key}`);
      if (chosen === 'light') for (const key of await unnamed(browser)) unfocused.push(`${page}: no accessible name: ${key}`);
    }
  }
  assert.deepEqual(unfocused, [], `controls without a visible focus ring or a name:\n${unfocused.join('\n')}`);

  // The screens. Each one is reached the way a person would, in each theme and size.
  const screens = [
    ['connections', async () => { await (await byTestId(browser, 'nav-connections')).click(); await byTestId(browser, 'connection-row'); }],
    ['connection-detail', async () => {
      await (await byTestId(browser, 'nav-connections')).click();
      await (await (await byTestId(browser, 'connection-row')).$('button')).click();
      await byTestId(browser, 'connection-detail');
    }],
    ['connect-dialog', async () => {
      await (await byTestId(browser, 'detail-back')).click();
      await (await byTestId(browser, 'connect-open')).click();
      await byTestId(browser, 'connect-dialog');
    }, async () => { await browser.keys(['Escape']); }],
    ['apps', async () => { await (await byTestId(browser, 'nav-apps')).click(); await byTestId(browser, 'registrations'); }],
    ['wizard', async () => { await (await byTestId(browser, 'apps-add')).click(); await byTestId(browser, 'wizard'); },
      async () => { await (await byTestId(browser, 'wizard-cancel')).click(); await byTestId(browser, 'registrations'); }],
    ['create-app', async () => { await (await byTestId(browser, 'apps-create')).click(); await byTestId(browser, 'create-plan'); },
      async () => { await (await byTestId(browser, 'create-close')).click(); await byTestId(browser, 'registrations'); }],
    ['bridge', async () => { await (await byTestId(browser, 'nav-bridge')).click(); await byTestId(browser, 'bridge-running'); }],
    ['settings', async () => { await (await byTestId(browser, 'nav-settings')).click(); await byTestId(browser, 'setting-theme'); }],
    ['about', async () => { await (await byTestId(browser, 'nav-about')).click(); await byTestId(browser, 'about-versions'); }],
    ['shortcuts', async () => { await (await byTestId(browser, 'nav-shortcuts')).click(); await byTestId(browser, 'shortcuts-dialog'); },
      async () => { await browser.keys(['Escape']); }],
  ];
  const problems = [];
  for (const chosen of ['light', 'dark']) {
    await (await byTestId(browser, `theme-${chosen}`)).click();
    await browser.waitUntil(() => browser.execute((c) => document.documentElement.dataset.theme === c, chosen),
      { timeout: 5000, timeoutMsg: `the ${chosen} theme was not applied` });
    assert.equal(cli(dataDir, ['settings', 'get', 'theme']).trim(), chosen, 'the switch saved the setting');
    for (const [width, height] of SIZES) {
      await resize(browser, width, height);
      for (const [name, reach, leave] of screens) {
        await reach();
        now = await look(browser);
        assert.equal(now.theme, chosen, `${name}: theme`);
        if (now.pageOverflow > 0 || now.mainOverflow > 0 || now.cut.length > 0) {
          problems.push(`${name} at ${width}x${height} (${chosen}) overflows sideways by ${Math.max(now.pageOverflow, now.mainOverflow)}px; cut off: ${now.cut.join(', ')}`);
        }
        const body = contrast(now.text, now.ground);
        const muted = contrast(now.muted, now.ground);
        if (body < 7 || muted < 4.5) problems.push(`${name} (${chosen}): text contrast ${body.toFixed(1)}, muted ${muted.toFixed(1)}`);
        if (chosen === 'light' && width === 1280) {
          for (const key of await unnamed(browser)) problems.push(`${name}: no accessible name: ${key}`);
        }
        const shot = await app.screenshot(`${name}-${chosen}-${width}`);
        copyFileSync(shot, join(SHOTS, `${name}-${chosen}-${width}.png`));
        await leave?.();
      }
    }
  }
  assert.deepEqual(problems, [], problems.join('\n'));
});

test('the appearance set with the CLI is the first paint\'s, and an empty start says what to do', async (t) => {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'mailconn-e2e-')), 'data');
  cli(dataDir, ['settings', 'set', 'theme', 'dark']);
  const refused = (() => {
    try { cli(dataDir, ['settings', 'set', 'theme', 'sepia']); return null; } catch (e) { return String(e.stderr ?? e.message); }
  })();
  assert.match(refused, /"sepia" is not a theme/);
  assert.match(refused, /system, light or dark/);
  const app = await startApp({ name: 'screens-empty', dataDir });
  const { browser } = app;
  t.after(() => app.stop());
  // Before the first data arrives the window may only have the cached choice; by the first
  // data it has core's.
  await interactive(browser);
  assert.equal((await look(browser)).theme, 'dark');
  for (const chosen of ['dark', 'light']) {
    await (await byTestId(browser, `theme-${chosen}`)).click();
    for (const [width, height] of SIZES) {
      await resize(browser, width, height);
      await byTestId(browser, 'connections-empty');
      const now = await look(browser);
      assert.equal(now.theme, chosen);
      assert.ok(now.pageOverflow <= 0 && now.mainOverflow <= 0 && now.cut.length === 0,
        `the first-run screen overflows at ${width}: ${now.cut.join(', ')}`);
      const shot = await app.screenshot(`first-run-${chosen}-${width}`);
      copyFileSync(shot, join(SHOTS, `first-run-${chosen}-${width}.png`));
    }
  }
});
