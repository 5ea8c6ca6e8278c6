import { describe, expect, it } from 'vitest';
import type { ErrorBody } from '../ipc/bindings';
import { IpcError } from '../ipc/invoke';
import { fixesFor } from './fixes';

const error = (code: ErrorBody['code'], aadsts?: number) =>
  new IpcError({ code, message: 'm', detail: aadsts === undefined ? undefined : { aadsts } });

describe('fixes offered for a failed sign-in', () => {
  it.each([
    ['needs_consent', 90094, ['admin-consent']],
    ['needs_consent', 65001, ['admin-consent']],
    ['identity_provider', 7000229, ['admin-consent']],
    ['needs_consent', 50105, ['admin-consent']],
    ['needs_consent', 65004, ['retry']],
    ['identity_provider', 50194, ['tenant']],
    ['identity_provider', 50020, ['tenant']],
    ['identity_provider', 9002332, ['tenant']],
    ['identity_provider', 54005, ['retry']],
    ['identity_provider', 501481, ['retry']],
    ['identity_provider', 700025, ['app']],
    ['identity_provider', 7000218, ['app']],
    ['identity_provider', 50011, ['app']],
    ['identity_provider', 500113, ['app']],
    ['identity_provider', 53003, []],
  ] as const)('%s AADSTS%i: %j', (code, aadsts, fixes) => {
    expect(fixesFor(error(code, aadsts))).toEqual(fixes);
  });

  it.each([
    ['timeout', ['retry']],
    ['cancelled', ['retry']],
    ['network', ['retry']],
    ['needs_consent', []],
    ['internal', []],
  ] as const)('%s without an AADSTS code: %j', (code, fixes) => {
    expect(fixesFor(error(code))).toEqual(fixes);
  });
});
