// Which one-click remedies the error screen offers. The words come from core (message, fix);
// this only picks buttons from the error code and Microsoft's AADSTS number.
import type { IpcError } from '../ipc/invoke';

export type Fix = 'admin-consent' | 'tenant' | 'retry' | 'app';

// Admin approval is missing (need admin approval, consent missing, admin consent required).
const ADMIN_CONSENT = new Set([90094, 65001, 7000229]);
// The tenant or audience does not fit the account (single-tenant app on `common`, account not in
// the tenant, personal account on a work-only app).
const TENANT = new Set([50194, 50020, 9002332]);
// Starting over helps: consent declined, code redeemed twice, PKCE mismatch.
const RETRY = new Set([65004, 54005, 501481]);
// The app registration itself is wrong: secret sent or missing, redirect URI mismatch or absent.
const APP = new Set([700025, 7000218, 50011, 500113]);

export function fixesFor(error: IpcError): Fix[] {
  const aadsts = error.detail?.aadsts;
  const fixes: Fix[] = [];
  if (aadsts !== undefined) {
    if (ADMIN_CONSENT.has(aadsts) || (error.code === 'needs_consent' && !RETRY.has(aadsts))) {
      fixes.push('admin-consent');
    }
    if (TENANT.has(aadsts)) fixes.push('tenant');
    if (APP.has(aadsts)) fixes.push('app');
  }
  if (
    error.code === 'timeout' ||
    error.code === 'cancelled' ||
    error.code === 'network' ||
    (aadsts !== undefined && RETRY.has(aadsts))
  ) {
    fixes.push('retry');
  }
  return fixes;
}
