// Microsoft-shaped errors: the token endpoint's JSON body, the error parameters of a redirect,
// and the sign-in error page; plus the AADSTS code Microsoft would send for each error
// oidc-provider raises.
import { randomUUID } from 'node:crypto';

/** "2024-05-01 12:34:56Z", the format of Microsoft's error timestamps. */
export const msTimestamp = (d = new Date()) => `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`;

/**
 * A Microsoft error. `problem` is { error, code, message, status? }. Returns the JSON body
 * { error, error_description, error_codes, timestamp, trace_id, correlation_id, error_uri }.
 */
export function msErrorBody(problem, { base, correlationId } = {}) {
  const timestamp = msTimestamp();
  const trace = randomUUID();
  const correlation = correlationId || randomUUID();
  return {
    error: problem.error,
    error_description: `AADSTS${problem.code}: ${problem.message}\r\nTrace ID: ${trace}\r\nCorrelation ID: ${correlation}\r\nTimestamp: ${timestamp}`,
    error_codes: [problem.code],
    timestamp,
    trace_id: trace,
    correlation_id: correlation,
    error_uri: `${base ?? ''}/error?code=${problem.code}`,
  };
}

/** The HTTP status Microsoft uses for an error at the token endpoint. */
export const statusFor = (problem) => problem.status ?? (problem.error === 'invalid_client' ? 401 : 400);

/** The sign-in page Microsoft shows when it cannot send the user back to the app. */
export function errorPage(problem, { correlationId } = {}) {
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Sign in to your account</title></head>
<body><h1>Sign in</h1><p>Sorry, but we're having trouble signing you in.</p>
<p id="error">AADSTS${problem.code}: ${esc(problem.message)}</p>
<p>Error: ${esc(problem.error)}<br>Correlation ID: ${esc(correlationId || randomUUID())}<br>Timestamp: ${msTimestamp()}</p>
</body></html>
`;
}

/** The AADSTS code (and Microsoft's error name) for an error oidc-provider raised. */
export function fromProviderError(route, out, detail = '') {
  const error = out.error;
  const desc = `${out.error_description ?? ''} ${detail ?? ''}`;
  const p = (code, message, name = error) => ({ error: name, code, message });

  switch (error) {
    case 'invalid_grant':
      if (/code_verifier|PKCE/i.test(desc)) return p(501481, 'The Code_Verifier does not match the code_challenge supplied in the authorization request.');
      if (/redirect_uri mismatch/.test(desc)) return p(500112, 'The reply address does not match the reply address provided when requesting the authorization code.');
      if (/authorization code is expired/.test(desc)) return p(70008, 'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.');
      if (/already consumed/.test(desc)) return p(54005, 'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.');
      if (/refresh token is expired/.test(desc)) return p(700082, 'The refresh token has expired due to inactivity. The token was issued long ago and was inactive for longer than the allowed lifetime.');
      if (/device code not found/.test(desc)) return p(70000, "The provided value for the input parameter 'device_code' is not valid.", 'bad_verification_code');
      if (/refresh token/.test(desc)) return p(70000, 'Provided grant is invalid or malformed. The refresh token is not valid.');
      return p(70000, 'Provided grant is invalid or malformed.');
    case 'invalid_client':
      return p(7000215, 'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.');
    case 'unauthorized_client':
      if (route === 'device_authorization') return p(7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'. The application is not configured as a public client (Allow public client flows).", 'invalid_client');
      return p(70003, 'The app requested an unsupported grant type or one it is not allowed to use.');
    case 'unsupported_grant_type':
      return p(70003, 'The app requested an unsupported grant type.');
    case 'unsupported_response_type':
      if (/id_token/.test(desc)) return p(700054, "response_type 'id_token' is not enabled for the application.");
      return p(9002313, `Invalid request. Request is malformed or invalid. ${out.error_description ?? ''}`.trim());
    case 'invalid_scope':
      return p(70011, `The provided value for the input parameter 'scope' is not valid. ${out.error_description ?? ''}`.trim());
    case 'invalid_target':
      return p(500011, 'The resource principal was not found in the tenant.', 'invalid_resource');
    case 'authorization_pending':
      return p(70016, 'OAuth 2.0 device flow error. Authorization is pending. Continue polling.');
    case 'expired_token':
      return p(70019, 'Verification code expired.');
    case 'authorization_declined':
      return p(65004, 'The user declined to authorize the request.');
    case 'access_denied':
      return p(65004, out.error_description || 'User declined to consent to access the app.');
    case 'login_required':
      return p(50058, 'A silent sign-in request was sent but no user is signed in.');
    case 'interaction_required':
      return p(50058, 'A silent sign-in request was sent but no user is signed in.');
    case 'consent_required':
      return p(65001, 'The user or administrator has not consented to use the application.');
    case 'invalid_request': {
      if (/PKCE|code_challenge/i.test(desc)) return p(9002325, 'Proof Key for Code Exchange is required for this request (code_challenge with code_challenge_method=S256).');
      const missing = /missing required parameter.? '?([a-z_]+)/i.exec(desc);
      if (missing) return p(900144, `The request body must contain the following parameter: '${missing[1]}'.`);
      return p(9002313, `Invalid request. Request is malformed or invalid. ${out.error_description ?? ''}`.trim());
    }
    case 'server_error':
      return { ...p(50000, 'There was an error issuing a token or an issue with our sign-in service.'), status: 500 };
    default:
      return p(9002313, `Invalid request. ${out.error_description ?? ''}`.trim());
  }
}
