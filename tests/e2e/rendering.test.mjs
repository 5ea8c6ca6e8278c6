// Without a GPU device the app has WebKit paint with the CPU (src-tauri/src/rendering.rs): its web
// process gets WEBKIT_SKIA_ENABLE_CPU_RENDERING=1 and WEBKIT_DISABLE_COMPOSITING_MODE=1. With a GPU,
// WebKit's defaults stay; any of WebKit's painting variables set by whoever started the app means
// the app sets none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { startApp, byTestId } from './harness.mjs';

const VAR = 'WEBKIT_SKIA_ENABLE_CPU_RENDERING';
const NO_COMPOSITING = 'WEBKIT_DISABLE_COMPOSITING_MODE';
const PAINTING = [VAR, NO_COMPOSITING, 'WEBKIT_FORCE_COMPOSITING_MODE'];
const hasGpu = (() => {
  try {
    if (readdirSync('/dev/dri').some((n) => n.startsWith('renderD'))) return true;
  } catch { /* no /dev/dri */ }
  return existsSync('/dev/nvidia0');
})();

/** The environment of the web process of the app whose HOME is `home`. */
function webProcessEnv(home) {
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (!readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('WebKitWebProces')) continue;
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (env.includes(`HOME=${home}`)) return Object.fromEntries(env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    } catch { /* gone, or not ours */ }
  }
  throw new Error(`no web process with HOME=${home}`);
}

test('the web view paints with the CPU and without GL compositing without a GPU device, and a choice set is kept', async () => {
  // As the app is started here (the test's own environment may set the variable already).
  const given = PAINTING.some((v) => process.env[v] !== undefined);
  const plain = await startApp({ name: 'rendering' });
  try {
    await byTestId(plain.browser, 'page-connections');
    const env = webProcessEnv(plain.home);
    for (const v of [VAR, NO_COMPOSITING]) {
      const expected = given ? process.env[v] : hasGpu ? undefined : '1';
      assert.equal(env[v], expected,
        `${v}: ${given ? 'kept as set' : hasGpu ? 'a GPU device: WebKit\'s default' : 'no GPU device: CPU rendering, no GL compositing'}`);
    }
    const why = given ? 'AsSet' : hasGpu ? 'Gpu' : 'CpuWithoutGpu';
    assert.match(plain.logs(), new RegExp(`how the web view paints.*rendering=${why}\\b`));
  } finally {
    await plain.stop();
  }
  const set = await startApp({ name: 'rendering-set', env: { [VAR]: '0' } });
  try {
    await byTestId(set.browser, 'page-connections');
    const env = webProcessEnv(set.home);
    assert.equal(env[VAR], '0');
    assert.equal(env[NO_COMPOSITING], process.env[NO_COMPOSITING], 'one painting variable set: the app sets no other');
    assert.match(set.logs(), /how the web view paints.*rendering=AsSet\b/);
  } finally {
    await set.stop();
  }
});
