import { describe, expect, it } from 'vitest';
import type { ErrorBody, ErrorDetail } from '../ipc/bindings';
import { IpcError } from '../ipc/invoke';
import { fixesFor } from './connect.svelte';

type Remedy = NonNullable<ErrorDetail['remedy']>;

const error = (code: ErrorBody['code'], remedy?: Remedy, aadsts?: number) =>
  new IpcError({
    code,
    message: 'm',
    detail: remedy === undefined && aadsts === undefined ? undefined : { remedy, aadsts },
  });

describe('fixes offered for a failed sign-in follow core’s remedy', () => {
  it.each([
    ['needs_consent', 'admin_consent', 90094, ['admin-consent']],
    ['identity_provider', 'admin_consent', 7000229, ['admin-consent']],
    ['needs_consent', 'retry', 65004, ['retry']],
    ['identity_provider', 'retry', 54005, ['retry']],
    ['identity_provider', 'change_tenant', 50194, ['tenant']],
    ['identity_provider', 'fix_redirect_uri', 50011, ['app']],
    ['identity_provider', 'fix_registration', 700025, ['app']],
    ['identity_provider', 'contact_admin', 53003, []],
    ['needs_sign_in', 'sign_in_again', 700082, []],
    ['identity_provider', 'rotate_secret', 7000222, []],
  ] as const)('%s with remedy %s (AADSTS%i): %j', (code, remedy, aadsts, fixes) => {
    expect(fixesFor(error(code, remedy, aadsts))).toEqual(fixes);
  });

  it('never reads the AADSTS number itself', () => {
    expect(fixesFor(error('needs_consent', undefined, 90094))).toEqual([]);
    expect(fixesFor(error('identity_provider', undefined, 50194))).toEqual([]);
  });

  it.each([
    ['timeout', ['retry']],
    ['cancelled', ['retry']],
    ['network', ['retry']],
    ['needs_consent', []],
    ['internal', []],
  ] as const)('%s without a remedy: %j', (code, fixes) => {
    expect(fixesFor(error(code))).toEqual(fixes);
  });
});
