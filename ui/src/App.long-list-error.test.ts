import { render, screen } from '@testing-library/svelte';
import { describe, expect, it, vi } from 'vitest';

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn() }));

import App from './App.svelte';
import { longListStart, registration } from './lib/connections/testdata';
import { answer, shellAnswers, stubResizeObserver } from './lib/test/ipc';

// Its own file: the start-up call is made once per window, as in the app.
const { rows, first } = longListStart(200, 3);

describe('start-up with a long list', () => {
  it('says why the rest of the list could not be read, and reads it all on "Try again"', async () => {
    let fail = true;
    answer({
      dashboard: first,
      list_connections: () => {
        if (fail) throw { code: 'storage', message: 'The database is locked by another program.' };
        return rows;
      },
      list_registrations: () => [registration()],
      ...shellAnswers(),
    });
    stubResizeObserver();
    render(App);

    const notice = await screen.findByText('The database is locked by another program.');
    expect(notice).toBeTruthy();
    // The first rows stay, and so does the count of all.
    expect(screen.getAllByTestId('connection-row')).toHaveLength(3);
    expect(screen.getByTestId('connection-count').textContent?.trim()).toBe('200 connections');

    fail = false;
    screen.getByTestId('connections-retry').click();
    await vi.waitFor(() =>
      expect(screen.getByTestId<HTMLInputElement>('connection-search').disabled).toBe(false),
    );
    expect(screen.queryByText('The database is locked by another program.')).toBeNull();
    expect(screen.getAllByTestId('connection-row').length).toBeGreaterThan(3);
  });
});
