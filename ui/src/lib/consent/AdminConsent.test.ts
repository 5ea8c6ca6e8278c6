import { cleanup, fireEvent, render, screen } from '@testing-library/svelte';
import { invoke } from '@tauri-apps/api/core';
import { createRawSnippet } from 'svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { answer } from '../test/ipc';
import AdminConsent from './AdminConsent.svelte';
import { AdminConsentLink } from './consent.svelte';

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn() }));

const URL = 'https://login.example/contoso.com/v2.0/adminconsent?client_id=x';
const children = createRawSnippet(() => ({ render: () => '<span>Send it to an admin.</span>' }));

afterEach(cleanup);

describe('the admin consent link', () => {
  it('shows nothing until asked, then the link to copy and open', async () => {
    answer({ admin_consent_url: () => URL, open_url: () => undefined });
    const consent = new AdminConsentLink();
    render(AdminConsent, { consent, children });
    expect(screen.queryByTestId('admin-consent')).toBeNull();

    await consent.load('reg-1');
    expect(vi.mocked(invoke)).toHaveBeenCalledWith('admin_consent_url', { id: 'reg-1' });
    const link = (await screen.findByTestId('admin-consent-url')) as HTMLInputElement;
    expect(link.value).toBe(URL);
    expect(screen.getByTestId('admin-consent').textContent).toContain('Send it to an admin.');
    await fireEvent.click(screen.getByTestId('admin-consent-open'));
    expect(vi.mocked(invoke)).toHaveBeenCalledWith('open_url', { url: URL });
  });

  it('says why when core cannot build the link', async () => {
    answer({
      admin_consent_url: () => {
        throw { code: 'validation', message: 'Personal accounts have no administrator.' };
      },
    });
    const consent = new AdminConsentLink();
    render(AdminConsent, { consent, children, testid: 'consent-panel' });
    await consent.load('reg-1');
    const notice = await screen.findByTestId('error-notice');
    expect(notice.textContent).toContain('Personal accounts have no administrator.');
    expect(screen.queryByTestId('admin-consent-url')).toBeNull();
  });

  it('forgets a link that arrives after a reset', async () => {
    let release!: (url: string) => void;
    answer({ admin_consent_url: () => new Promise<string>((ok) => (release = ok)) });
    const consent = new AdminConsentLink();
    const loading = consent.load('reg-1');
    consent.reset();
    release(URL);
    await loading;
    expect(consent.request.status).toBe('idle');
    expect(consent.request.data).toBeNull();
  });
});
