import { render, screen } from '@testing-library/svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import ConnectionList from './ConnectionList.svelte';
import { connection, longListStart } from './testdata';
import { OVERSCAN, ROW_HEIGHT } from './window';
import { stubResizeObserver } from '../test/ipc';

/** The ids of the rows in the DOM, in order. */
function ids(): string[] {
  return screen.getAllByTestId('connection-row').map((r) => r.dataset.id ?? '');
}

/** A windowed list of 1,000 in a <main> (where the app scrolls it), settled with its margin. */
async function settledList() {
  stubResizeObserver();
  const { rows } = longListStart(1000, 1000);
  const main = document.body.appendChild(document.createElement('main'));
  const view = render(ConnectionList, {
    target: main,
    props: { connections: rows, onopen: () => {} },
  });
  // jsdom lays nothing out: the view is the window's height.
  const inView = Math.ceil(window.innerHeight / ROW_HEIGHT);
  await vi.waitFor(() => expect(ids()).toHaveLength(inView + OVERSCAN));
  return { rows, main, view, inView };
}

describe('a windowed list', () => {
  afterEach(() => document.querySelectorAll('main').forEach((m) => m.remove()));

  it('paints the rows in view first and adds the margin for scrolling after that frame', async () => {
    stubResizeObserver();
    const { rows } = longListStart(1000, 1000);
    const main = document.body.appendChild(document.createElement('main'));
    render(ConnectionList, { target: main, props: { connections: rows, onopen: () => {} } });
    const inView = Math.ceil(window.innerHeight / ROW_HEIGHT);
    expect(ids()).toHaveLength(inView);
    await vi.waitFor(() => expect(ids()).toHaveLength(inView + OVERSCAN));
  });

  it('renders only the new rows in view when another order or a search replaces them, then the margin', async () => {
    const { rows, view, inView } = await settledList();
    const reversed = [...rows].reverse();
    await view.rerender({ connections: reversed, onopen: () => {} });
    expect(ids()).toEqual(reversed.slice(0, inView).map((c) => c.id));
    await vi.waitFor(() => expect(ids()).toHaveLength(inView + OVERSCAN));
    expect(ids()).toEqual(reversed.slice(0, inView + OVERSCAN).map((c) => c.id));
  });

  it('keeps the margin when a live update changes a row in view or the view moves into the margin', async () => {
    const { rows, main, view, inView } = await settledList();
    const updated = rows.slice();
    updated[0] = connection({ ...rows[0]!, display_name: 'Ada, renamed' });
    await view.rerender({ connections: updated, onopen: () => {} });
    expect(ids()).toHaveLength(inView + OVERSCAN);
    expect(screen.getAllByTestId('connection-row')[0]!.textContent).toContain('Ada, renamed');
    // One row down: every row now in view was rendered already.
    // jsdom moves nothing when scrolling: the list's box is put where a browser would put it.
    Object.defineProperty(main, 'scrollTop', { value: ROW_HEIGHT, configurable: true });
    const list = screen.getByTestId('connections-list');
    list.getBoundingClientRect = () => ({ top: -ROW_HEIGHT }) as DOMRect;
    main.dispatchEvent(new Event('scroll'));
    // In the same update, not after a frame: the margin never left.
    await Promise.resolve();
    expect(ids()).toEqual(rows.slice(0, 1 + inView + OVERSCAN).map((c) => c.id));
  });
});
