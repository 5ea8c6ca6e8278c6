import { cleanup, fireEvent, render, screen } from '@testing-library/svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { IpcError } from '../ipc/invoke';
import ErrorNotice from './ErrorNotice.svelte';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const consentError = new IpcError({
  code: 'needs_consent',
  message: 'An administrator has not approved this app.',
  detail: {
    aadsts: 65001,
    trace_id: '0f5e3a52-8c1e-4d7b-9a43-2b1c7d9e0a11',
    correlation_id: 'c2d4e6f8-1a3b-4c5d-8e7f-9a0b1c2d3e4f',
    fix: 'Ask an administrator to grant consent in the Entra admin center.',
  },
});

describe('ErrorNotice', () => {
  it('shows the message, the fix and the support identifiers', () => {
    render(ErrorNotice, { error: consentError });
    const notice = screen.getByTestId('error-notice');
    expect(notice.textContent).toContain('An administrator has not approved this app.');
    expect(notice.textContent).toContain('Ask an administrator to grant consent');
    const support = screen.getByTestId('error-support').textContent ?? '';
    expect(support).toContain('AADSTS65001');
    expect(support).toContain('0f5e3a52-8c1e-4d7b-9a43-2b1c7d9e0a11');
    expect(support).toContain('c2d4e6f8-1a3b-4c5d-8e7f-9a0b1c2d3e4f');
  });

  it('has no support block when there is nothing to quote', () => {
    render(ErrorNotice, { error: new IpcError({ code: 'internal', message: 'Something broke.' }) });
    expect(screen.getByTestId('error-notice').textContent).toContain('Something broke.');
    expect(screen.queryByTestId('error-support')).toBeNull();
  });

  it('copies the support details', async () => {
    const writeText = vi.fn().mockResolvedValue(undefined);
    vi.stubGlobal('navigator', { clipboard: { writeText } });
    render(ErrorNotice, { error: consentError });
    const copy = screen.getByTestId('error-copy');
    await fireEvent.click(copy);
    await vi.waitFor(() => expect(copy.textContent).toContain('Copied'));
    expect(writeText).toHaveBeenCalledWith(
      'Error: AADSTS65001\n' +
        'Trace ID: 0f5e3a52-8c1e-4d7b-9a43-2b1c7d9e0a11\n' +
        'Correlation ID: c2d4e6f8-1a3b-4c5d-8e7f-9a0b1c2d3e4f',
    );
  });

  it('says so when the clipboard is unavailable', async () => {
    vi.stubGlobal('navigator', {});
    render(ErrorNotice, { error: consentError });
    const copy = screen.getByTestId('error-copy');
    await fireEvent.click(copy);
    await vi.waitFor(() => expect(copy.textContent).toContain('Copy failed'));
  });
});
