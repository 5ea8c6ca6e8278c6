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
      async () => (await browser.execute(() => document.querySelectorAll('[data-testid="connection-row"]').length)) === expected,
      { timeout: 60000, interval: 20 },
    );
    times.push(Date.now() - started);
  }
  // Scrolling through the whole list, top to bottom, in 20 steps.
  const scrollStarted = Date.now();
  await browser.execute(async () => {
    const main = document.scrollingElement;
    for (let i = 1; i <= 20; i++) {
      main.scrollTop = (main.scrollHeight * i) / 20;
      await new Promise((r) => requestAnimationFrame(() => r()));
    }
  });
  const scrollMs = Date.now() - scrollStarted;
  const sorted = times.slice(1).sort((a, b) => a - b);
  console.log(JSON.stringify({ rows: expected, first_ms: times[0], median_ms: sorted[Math.floor(sorted.length / 2)], scroll_ms: scrollMs }));
} finally {
  await app.stop();
  process.exit(0);
}
