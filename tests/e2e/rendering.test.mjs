// Without a GPU device the app has WebKit paint with the CPU (src-tauri/src/rendering.rs): its web
// process gets WEBKIT_SKIA_ENABLE_CPU_RENDERING=1. With a GPU, WebKit's default stays; a value
// whoever started the app set is always kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { startApp, byTestId } from './harness.mjs';

const VAR = 'WEBKIT_SKIA_ENABLE_CPU_RENDERING';
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

test('the web view paints with the CPU without a GPU device, and a value set is kept', async () => {
  // As the app is started here (the test's own environment may set the variable already).
  const given = process.env[VAR];
  const plain = await startApp({ name: 'rendering' });
  try {
    await byTestId(plain.browser, 'page-connections');
    const expected = given ?? (hasGpu ? undefined : '1');
    assert.equal(webProcessEnv(plain.home)[VAR], expected,
      given !== undefined ? 'kept as set' : hasGpu ? 'a GPU device: WebKit\'s default' : 'no GPU device: CPU rendering');
    const why = given !== undefined ? 'AsSet' : hasGpu ? 'Gpu' : 'CpuWithoutGpu';
    assert.match(plain.logs(), new RegExp(`how the web view paints.*rendering=${why}\\b`));
  } finally {
    await plain.stop();
  }
  const set = await startApp({ name: 'rendering-set', env: { [VAR]: '0' } });
  try {
    await byTestId(set.browser, 'page-connections');
    assert.equal(webProcessEnv(set.home)[VAR], '0');
    assert.match(set.logs(), /how the web view paints.*rendering=AsSet\b/);
  } finally {
    await set.stop();
  }
});
