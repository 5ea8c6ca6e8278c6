// The connection list with many connections in the real window: the first screen is marked
// interactive once its data is shown; search by address, name and app; filters by status, app and
// kind; the orders; and the empty state when nothing matches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, byTestId, waitForText, textOf } from './harness.mjs';
import { seedConnections } from './seed.mjs';

const COUNT = 400;

/** The rows in the DOM (the list is windowed: those in view and a margin). */
async function rows(browser) {
  return browser.execute(() => [...document.querySelectorAll('[data-testid="connection-row"]')]
    .map((r) => ({ address: r.dataset.address, state: r.dataset.state, text: r.textContent })));
}

async function choose(browser, testid, value) {
  const select = await byTestId(browser, testid);
  await select.selectByAttribute('value', value);
}

test('search, filter and sort many connections', async () => {
  const dataDir = seedConnections(COUNT);
  const app = await startApp({ name: 'list', dataDir });
  const { browser } = app;
  try {
    await browser.waitUntil(
      () => browser.execute(() => document.documentElement.dataset.interactive !== undefined),
      { timeout: 30000, timeoutMsg: 'the first screen was never marked interactive' },
    );
    const atMarker = await browser.execute(() => ({
      rows: [...document.querySelectorAll('[data-testid="connection-row"]')].map((r) => r.dataset.address),
      mark: performance.getEntriesByName('interactive').length,
      count: document.querySelector('[data-testid="connection-count"]')?.textContent.trim(),
      list: document.querySelector('[data-testid="connections-list"]').scrollHeight,
    }));
    assert.ok(atMarker.rows.length > 0, 'the rows are on screen when the marker is set');
    assert.equal(atMarker.rows[0], 'user00000@contoso.test', 'the list\'s first row first');
    assert.equal(atMarker.mark, 1, 'one performance mark');
    // The first screen came with the first rows only; the count and the list's height are the
    // whole list's from the first frame, and the rest follows.
    assert.equal(atMarker.count, '400 connections');
    const search = await byTestId(browser, 'connection-search');
    await search.waitForEnabled({ timeout: 30000, timeoutMsg: 'the rest of the list never came' });
    const after = await browser.execute(() => ({
      more: document.querySelector('[data-testid="connections-list"]').dataset.more,
      list: document.querySelector('[data-testid="connections-list"]').scrollHeight,
    }));
    assert.equal(after.more, '0');
    assert.equal(after.list, atMarker.list, 'the list kept its height when the rest came');

    const count = await byTestId(browser, 'connection-count');
    assert.match(await textOf(count), /400 connections/);
    assert.equal(await search.getAttribute('type'), 'search');

    // By address.
    await search.setValue('user00012@');
    await waitForText(count, /^1 of 400$/);
    assert.deepEqual((await rows(browser)).map((r) => r.address), ['user00012@contoso.test']);

    // By name (any case): connection i is FIRST[i % 10] LAST[floor(i / 10) % 10].
    await search.setValue('grace TURING');
    await waitForText(count, /^\d+ of 400$/);
    const graces = await rows(browser);
    assert.ok(graces.length > 0);
    for (const r of graces) assert.match(r.text, /Grace Turing/);

    // By app, with a status filter on top.
    await search.setValue('fabrikam');
    await waitForText(count, /^100 of 400$/);
    await choose(browser, 'connection-filter-status', 'needs_sign_in');
    const stuck = await rows(browser);
    assert.ok(stuck.length > 0);
    for (const r of stuck) {
      assert.equal(r.state, 'needs_sign_in');
      assert.match(r.address, /@fabrikam\.test$/);
    }

    // Nothing matches: the empty state says so and clears the search.
    await search.setValue('nobody-at-all');
    const none = await byTestId(browser, 'connections-no-match');
    assert.match(await textOf(none), /No connection matches “nobody-at-all” with these filters — clear the search/);
    await app.screenshot('no-match');
    await (await byTestId(browser, 'connections-clear-filters')).click();
    await waitForText(count, /^400 connections$/);
    assert.equal(await search.getValue(), '');

    // App and kind filters.
    await choose(browser, 'connection-filter-kind', 'application');
    await waitForText(count, /^40 of 400$/);
    await choose(browser, 'connection-filter-kind', 'all');
    const apps = await browser.execute(() => [...document.querySelectorAll('[data-testid="connection-filter-app"] option')]
      .map((o) => [o.value, o.textContent]));
    const fabrikam = apps.find(([, name]) => name === 'Fabrikam');
    assert.ok(fabrikam, JSON.stringify(apps));
    await choose(browser, 'connection-filter-app', fabrikam[0]);
    await waitForText(count, /^100 of 400$/);
    await choose(browser, 'connection-filter-app', 'all');

    // Orders: by address (default), then by status (what needs someone first).
    assert.equal((await rows(browser))[0].address, 'user00000@contoso.test');
    await choose(browser, 'connection-sort', 'status');
    await browser.waitUntil(async () => (await rows(browser))[0].state === 'needs_sign_in',
      { timeout: 10000, timeoutMsg: 'sorting by status did not put a stuck connection first' });
    await choose(browser, 'connection-sort', 'refresh');
    const newest = (await rows(browser))[0];
    assert.match(newest.text, /Last refresh\s*(now|this minute|\d+ minutes? ago)/, newest.text);
    await app.screenshot('sorted');
  } finally {
    await app.stop();
  }
});
