import { describe, expect, it, vi } from 'vitest';

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn() }));

import { answer } from '../test/ipc';
import { call, IpcError, toIpcError } from './invoke';

describe('toIpcError', () => {
  it('keeps the code and detail of an error body', () => {
    const error = toIpcError({
      code: 'validation',
      message: 'The client ID is not a GUID.',
      detail: { field: 'client_id', fix: 'Copy the Application (client) ID from the portal.' },
    });
    expect(error).toBeInstanceOf(IpcError);
    expect(error.code).toBe('validation');
    expect(error.message).toBe('The client ID is not a GUID.');
    expect(error.field).toBe('client_id');
    expect(error.detail?.fix).toBe('Copy the Application (client) ID from the portal.');
  });

  it('turns a plain string into an internal error', () => {
    const error = toIpcError('command app_info not found');
    expect(error.code).toBe('internal');
    expect(error.message).toBe('command app_info not found');
    expect(error.detail).toBeUndefined();
  });

  it('keeps the message of a thrown Error', () => {
    expect(toIpcError(new TypeError('boom'))).toMatchObject({ code: 'internal', message: 'boom' });
  });

  it('returns an IpcError unchanged', () => {
    const original = new IpcError({ code: 'timeout', message: 'took too long' });
    expect(toIpcError(original)).toBe(original);
  });
});

describe('call', () => {
  it('rejects with an IpcError when the command fails', async () => {
    answer({
      run_doctor: () => {
        throw { code: 'database', message: 'database is locked' };
      },
    });
    await expect(call('run_doctor')).rejects.toMatchObject({ name: 'IpcError', code: 'database' });
  });
});
