import { cleanup, fireEvent, render, screen } from '@testing-library/svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn(), Channel: class {} }));

import type { About } from '../ipc/bindings';
import { answer } from '../test/ipc';
import AboutPage from './AboutPage.svelte';

const about: About = {
  name: 'Mail Connections',
  version: '0.1.0',
  licence: 'MIT OR Apache-2.0',
  components: [
    { name: 'mailconn-core', version: '0.1.0' },
    { name: 'Tauri', version: '2.11.6' },
    { name: 'WebKitGTK', version: '2.48.3' },
  ],
  platform: 'linux x86_64',
  data_dir: '/home/ada/.local/share/mailconn',
  database: '/home/ada/.local/share/mailconn/mailconn.sqlite3',
  logs_dir: '/home/ada/.local/share/mailconn/logs',
  links: [{ label: 'MIT licence', url: 'https://opensource.org/license/mit' }],
};

afterEach(cleanup);

describe('About', () => {
  it('shows the versions, licence, folders and links', async () => {
    const opened: unknown[] = [];
    answer({ about: () => about, open_url: (args) => void opened.push(args), open_folder: (args) => void opened.push(args) });
    render(AboutPage);
    expect((await screen.findByTestId('about-version')).textContent).toBe('0.1.0');
    const parts = screen.getAllByTestId('about-component').map((e) => [e.dataset.name, e.textContent]);
    expect(parts).toContainEqual(['Tauri', '2.11.6']);
    expect(parts).toContainEqual(['WebKitGTK', '2.48.3']);
    expect(screen.getByTestId('about-licence').textContent).toBe('MIT or Apache-2.0');
    expect((screen.getByTestId('about-logs-dir') as HTMLInputElement).value).toBe(about.logs_dir);
    await fireEvent.click(screen.getByTestId('about-link'));
    await fireEvent.click(screen.getByTestId('about-open-logs'));
    await vi.waitFor(() =>
      expect(opened).toEqual([{ url: 'https://opensource.org/license/mit' }, { folder: 'logs' }]),
    );
  });

  it('says why when the facts cannot be read', async () => {
    answer({
      about: () => {
        throw { code: 'internal', message: 'The app is shutting down.' };
      },
    });
    render(AboutPage);
    await screen.findByText('The app is shutting down.');
  });
});
