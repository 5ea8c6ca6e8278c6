import { render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';
import ConnectionList from './ConnectionList.svelte';
import { longListStart } from './testdata';
import { OVERSCAN, ROW_HEIGHT } from './window';
import { stubResizeObserver } from '../test/ipc';

describe('a windowed list', () => {
  it('paints the rows in view first and adds the margin for scrolling after that frame', async () => {
    stubResizeObserver();
    const { rows } = longListStart(1000, 1000);
    // In the app the list scrolls inside <main>.
    const main = document.body.appendChild(document.createElement('main'));
    render(ConnectionList, { target: main, props: { connections: rows, onopen: () => {} } });
    // jsdom lays nothing out: the view is the window's height.
    const inView = Math.ceil(window.innerHeight / ROW_HEIGHT);
    expect(screen.getAllByTestId('connection-row')).toHaveLength(inView);
    await vi.waitFor(() =>
      expect(screen.getAllByTestId('connection-row')).toHaveLength(inView + OVERSCAN),
    );
  });
});
