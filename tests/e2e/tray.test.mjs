// With a tray icon, closing the window keeps the app (and its refreshes) running; opening it
// again (a second launch, as the desktop's launcher does) shows the same window.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { APP, startApp, byTestId } from './harness.mjs';

function mapState(display) {
  try {
    const out = execFileSync('xwininfo', ['-display', display, '-name', 'Mail Connections'], { encoding: 'utf8' });
    return /Map State: (\w+)/.exec(out)?.[1] ?? 'unknown';
  } catch {
    return 'absent';
  }
}

test('closing the window keeps the app in the tray; opening it again shows it', async () => {
  const app = await startApp({ name: 'tray' });
  const { browser } = app;
  try {
    await byTestId(browser, 'page-connections');
    assert.equal(mapState(app.display), 'IsViewable');
    assert.doesNotMatch(app.logs(), /no tray icon/);

    // The window manager's close button (Xvfb has no window manager, so the same message by hand).
    execFileSync('python3', [join(import.meta.dirname, 'wm_close.py'), app.display, 'Mail Connections']);
    await browser.waitUntil(() => mapState(app.display) !== 'IsViewable', {
      timeout: 10000, timeoutMsg: 'the window did not go away',
    });
    assert.equal(mapState(app.display), 'IsUnMapped', 'hidden, not destroyed');
    // Still running: a second launch hands over to it and exits, and the window comes back.
    const second = spawnSync(APP, [], {
      env: { ...process.env, DISPLAY: app.display, HOME: app.home, MAILCONN_DATA_DIR: app.dataDir },
      timeout: 20000,
    });
    assert.equal(second.status, 0, `second launch failed: ${second.stderr}`);
    await browser.waitUntil(() => mapState(app.display) === 'IsViewable', {
      timeout: 10000, timeoutMsg: 'the window did not come back',
    });
    await byTestId(browser, 'page-connections');
    await app.screenshot('shown-again');
  } finally {
    await app.stop();
  }
});
