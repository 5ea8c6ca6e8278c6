// Benchmark (not a test): how long the real window takes to show the Connections page with every
// connection of a data directory, e.g. 1,000 seeded by scripts/bench.py. Prints one JSON line:
// {"rows": N, "first_ms": .., "median_ms": ..} (navigating Apps -> Connections, 5 times).
import { startApp, byTestId } from './harness.mjs';

const dataDir = process.argv[2];
const expected = Number(process.argv[3]);
const app = await startApp({ name: 'bench-list', dataDir });
const { browser } = app;
const times = [];
try {
  for (let i = 0; i < 6; i++) {
    await (await byTestId(browser, 'nav-apps')).click();
    await byTestId(browser, 'page-apps');
    const started = Date.now();
    await (await byTestId(browser, 'nav-connections')).click();
    await browser.waitUntil(
      async () => (await browser.execute(() => document.querySelector('[data-testid="connections-list"]')?.dataset.windowed === 'true'
        ? document.querySelector('[data-testid="connection-row"]') !== null
        : document.querySelectorAll('[data-testid="connection-row"]').length)) === (expected >= 150 ? true : expected),
      { timeout: 60000, interval: 20 },
    );
    times.push(Date.now() - started);
  }
  // The same 20 frames without scrolling: what a frame costs here at all (software rendering).
  const idleStarted = Date.now();
  await browser.execute(async () => {
    for (let i = 1; i <= 20; i++) await new Promise((r) => requestAnimationFrame(() => r()));
  });
  const idleMs = Date.now() - idleStarted;
  // Scrolling through the whole list, top to bottom, in 20 steps.
  const scrollStarted = Date.now();
  await browser.execute(async () => {
    const main = document.querySelector('main');
    for (let i = 1; i <= 20; i++) {
      main.scrollTop = (main.scrollHeight * i) / 20;
      await new Promise((r) => requestAnimationFrame(() => r()));
    }
  });
  const scrollMs = Date.now() - scrollStarted;
  // Wheel-like scrolling: 60 frames of 300 px each.
  const wheelFrames = await browser.execute(() => {
    const main = document.querySelector('main');
    main.scrollTop = 0;
    return Math.min(60, Math.floor((main.scrollHeight - main.clientHeight) / 300));
  });
  const wheelStarted = Date.now();
  await browser.execute(async (frames) => {
    const main = document.querySelector('main');
    for (let i = 1; i <= frames; i++) {
      main.scrollTop = i * 300;
      await new Promise((r) => requestAnimationFrame(() => r()));
    }
  }, wheelFrames);
  const wheelMs = Date.now() - wheelStarted;
  // The script and layout part of a frame (no paint): scroll, let Svelte update, force layout.
  const layoutMs = await browser.execute(async (frames) => {
    const main = document.querySelector('main');
    main.scrollTop = 0;
    let total = 0;
    for (let i = 1; i <= frames; i++) {
      const t = performance.now();
      main.scrollTop = i * 300;
      main.dispatchEvent(new Event('scroll'));
      await Promise.resolve();
      await new Promise((r) => queueMicrotask(r));
      void document.body.offsetHeight;
      total += performance.now() - t;
      await new Promise((r) => requestAnimationFrame(() => r()));
    }
    return Math.round(total / frames);
  }, wheelFrames);
  await browser.execute(() => { document.querySelector('main').scrollTop = 600 * 172; });
  await app.screenshot('scrolled');
  const sorted = times.slice(1).sort((a, b) => a - b);
  console.log(JSON.stringify({ rows: expected, first_ms: times[0], median_ms: sorted[Math.floor(sorted.length / 2)], scroll_ms: scrollMs, idle_frames_ms: idleMs, wheel_frame_ms: Math.round(wheelMs / Math.max(1, wheelFrames)), wheel_frames: wheelFrames, wheel_script_layout_ms: layoutMs, idle_frame_ms: Math.round(idleMs / 20), jump_frame_ms: Math.round(scrollMs / 20) }));
} finally {
  await app.stop();
  process.exit(0);
}
