import { render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn() }));

import App from './App.svelte';
import { deferred, longListStart, registration } from './lib/connections/testdata';
import { ROW_HEIGHT } from './lib/connections/window';
import { answer, shellAnswers, stubResizeObserver } from './lib/test/ipc';

// Its own file: the start-up call is made once per window, as in the app.
const { rows, first } = longListStart(200, 3);

describe('start-up with a long list', () => {
  it('paints a long list from its first rows and takes the rest after the first frame', async () => {
    const rest = deferred<typeof rows>();
    let restAskedWhenInteractive: string | undefined = 'never asked';
    answer({
      dashboard: first,
      list_connections: () => {
        restAskedWhenInteractive = document.documentElement.dataset.interactive;
        return rest.promise;
      },
      ...shellAnswers(),
    });
    stubResizeObserver();
    render(App);

    await vi.waitFor(() => expect(document.documentElement.dataset.interactive).toBe(''));
    const addresses = () => screen.getAllByTestId('connection-row').map((r) => r.dataset.address);
    expect(addresses()).toEqual(['user000@contoso.com', 'user001@contoso.com', 'user002@contoso.com']);
    // The count is the whole list's; search and order wait for the rest.
    expect(screen.getByTestId('connection-count').textContent?.trim()).toBe('200 connections');
    expect(screen.getByTestId<HTMLInputElement>('connection-search').disabled).toBe(true);
    expect(screen.getByTestId<HTMLSelectElement>('connection-sort').disabled).toBe(true);
    // Already as tall as the whole list (windowed: 200 rows of ROW_HEIGHT).
    expect(screen.getByTestId('connections-list').dataset.windowed).toBe('true');
    const spacer = screen.getByTestId('connections-list').querySelector<HTMLElement>('li.spacer');
    expect(spacer?.style.height).toBe(`${(200 - 3) * ROW_HEIGHT}px`);

    await vi.waitFor(() => expect(restAskedWhenInteractive).toBe(''));
    rest.resolve(rows);
    await vi.waitFor(() =>
      expect(screen.getByTestId<HTMLInputElement>('connection-search').disabled).toBe(false),
    );
    expect(screen.getByTestId('connection-count').textContent?.trim()).toBe('200 connections');
    expect(addresses().length).toBeGreaterThan(3);
    expect(addresses()[0]).toBe('user000@contoso.com');
  });
});
