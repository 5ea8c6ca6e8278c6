// What sits in front of oidc-provider on the OAuth endpoints: Microsoft's checks that oidc-provider
// does not make (several secrets per app with expiry, tenant rules, client credentials scope and
// consent, revoked refresh tokens, slow_down), scope names in Microsoft's forms, and failure
// injection. Requests that pass are rewritten and handed to oidc-provider.
import { createPublicKey, verify as rsaVerify } from 'node:crypto';

import {
  clientById, clientTenantProblem, notFoundInTenant, isGenericTenant, normalizeScopes, resourcesOf, resourceOf,
  redirectUriAllowed, appOnlyResource, isOidcScope,
} from './directory.mjs';
import { msErrorBody, statusFor, errorPage } from './microsoft-errors.mjs';
import { OPAQUE_PREFIX } from './provider.mjs';

// ---- responses -------------------------------------------------------------------------------

export function sendJson(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store, no-cache', pragma: 'no-cache', ...headers });
  res.end(JSON.stringify(body));
}

/** A Microsoft error JSON answer, recorded in the log entry. */
export function sendProblem(app, res, problem, mc, headers) {
  if (mc?.entry) Object.assign(mc.entry, { status: statusFor(problem), error: problem.error, error_codes: [problem.code] });
  sendJson(res, statusFor(problem), msErrorBody(problem, { base: app.base, correlationId: mc?.correlationId }), headers);
}

/** Microsoft's sign-in error page (for errors it cannot send to the app). */
export function sendPage(res, status, problem, mc) {
  if (mc?.entry) Object.assign(mc.entry, { status, error: problem.error, error_codes: [problem.code] });
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(errorPage(problem, { correlationId: mc?.correlationId }));
}

/** Sends the user back to the app with an error (never to an unregistered redirect URI). */
export function redirectProblem(app, res, { redirectUri, state, responseMode }, problem, mc, extra = {}) {
  if (mc?.entry) Object.assign(mc.entry, { status: 302, error: problem.error, error_codes: [problem.code] });
  const body = msErrorBody(problem, { base: app.base, correlationId: mc?.correlationId });
  const params = new URLSearchParams({ error: problem.error, error_description: body.error_description, error_uri: body.error_uri, ...extra });
  if (state != null) params.set('state', state);
  const u = new URL(redirectUri);
  if (responseMode === 'fragment') u.hash = params.toString();
  else for (const [k, v] of params) u.searchParams.append(k, v);
  res.writeHead(302, { location: u.href, 'cache-control': 'no-store' });
  res.end();
}

const missing = (name) => ({ error: 'invalid_request', code: 900144, message: `The request body must contain the following parameter: '${name}'.` });

// ---- client authentication -----------------------------------------------------------------

function decodeCredential(s) {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** client_secret_basic or client_secret_post, checked against the app's secrets. */
function authenticateClient(app, req, body, tenant) {
  let id = body.client_id;
  let secret = body.client_secret;
  const h = req.headers.authorization;
  if (h && /^basic\s/i.test(h)) {
    const decoded = Buffer.from(h.replace(/^basic\s+/i, ''), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i >= 0) {
      id = decodeCredential(decoded.slice(0, i));
      secret = decodeCredential(decoded.slice(i + 1));
    }
  }
  const out = { clientId: id ?? null, hint: secret ? String(secret).slice(0, 3) : null, keyId: null };
  if (!id) return { ...out, problem: missing('client_id') };
  const client = clientById(id);
  if (!client) return { ...out, problem: notFoundInTenant(id, tenant) };
  out.client = client;
  if (!client.confidential) {
    if (secret || body.client_assertion) {
      return { ...out, problem: { error: 'invalid_client', code: 700025, message: "Client is public so neither 'client_assertion' nor 'client_secret' should be presented." } };
    }
    return out;
  }
  if (!secret) {
    return { ...out, problem: { error: 'invalid_client', code: 7000218, message: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'." } };
  }
  const found = app.control.findSecret(client.client_id, secret);
  if (!found) {
    return { ...out, problem: { error: 'invalid_client', code: 7000215, message: `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${client.client_id}'.` } };
  }
  out.keyId = found.keyId;
  if (found.expired) {
    return { ...out, problem: { error: 'invalid_client', code: 7000222, message: `The provided client secret keys for app '${client.client_id}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.` } };
  }
  return out;
}

/** The body oidc-provider sees: its own credentials for the app, nothing else secret. */
function providerBody(app, req, body, client) {
  const out = { ...body, client_id: client.client_id };
  delete out.client_secret;
  delete out.client_assertion;
  delete out.client_assertion_type;
  delete req.headers.authorization;
  if (client.confidential) out.client_secret = app.internalSecret;
  return out;
}

// ---- forwarding ------------------------------------------------------------------------------

/**
 * Hands the request to oidc-provider under the tenant prefix: req.url loses `/{tenant}` and
 * req.originalUrl keeps it, so every URL oidc-provider builds stays under the tenant. Cookies are
 * dropped (each sign-in starts fresh and follows login_hint; HTTP clients without a cookie jar
 * work), except the resume cookie, which is rebuilt from the URL.
 */
export function forward(app, req, res, { tenant, path, query, body, mc }) {
  req.url = path + (query ? `?${query}` : '');
  req.originalUrl = `/${tenant.segment}${req.url}`;
  delete req.headers.cookie;
  const resume = /^\/oauth2\/v2\.0\/authorize\/([\w-]+)$/.exec(path);
  if (resume) req.headers.cookie = `_interaction_resume=${resume[1]}`;
  if (body) {
    req.body = body;
    req.headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  req.mc = mc;
  res.on('finish', () => {
    if (!mc.entry) return;
    mc.entry.status = res.statusCode;
    // The provider's own time for the request, first byte in to last byte out (benchmarks
    // subtract it from a sign-in's time).
    if (mc.entry.started !== undefined) mc.entry.ms = Math.round((performance.now() - mc.entry.started) * 100) / 100;
  });
  app.callback(req, res);
}

// ---- failure injection -------------------------------------------------------------------------

/**
 * Applies the fault set for `endpoint` through the control API, if any. Returns true when the
 * request has been answered (or deliberately left unanswered), false when it goes on normally
 * (no fault, or `delay` after its wait).
 */
export async function injectFault(app, req, res, endpoint, mc) {
  const f = app.control.takeFault(endpoint);
  if (!f) return false;
  if (mc?.entry) mc.entry.injected = f.mode;
  const finish = (p, headers) => sendProblem(app, res, p, mc, headers);
  switch (f.mode) {
    case 'delay':
      // A slow but normal answer (for overlapping requests, or a client's patience).
      await new Promise((resolve) => setTimeout(resolve, f.delay_ms));
      return false;
    case 'hang':
      return true; // never answered: for client timeouts
    case 'drop':
      // The connection is closed without an answer (a reset proxy or a crashed front end).
      req.socket.destroy();
      return true;
    case '429':
      finish({ error: 'temporarily_unavailable', code: 90055, status: 429, message: 'TenantThrottlingError: There are too many incoming requests. Retry after the number of seconds in the Retry-After header.' }, { 'retry-after': String(f.retry_after) });
      return true;
    case '5xx': {
      const status = f.status ?? 503;
      finish(status === 503
        ? { error: 'temporarily_unavailable', code: 90033, status, message: 'A transient error has occurred. Please try again.' }
        : { error: 'server_error', code: 50000, status, message: 'There was an error issuing a token or an issue with our sign-in service.' },
      f.retry_after != null ? { 'retry-after': String(f.retry_after) } : {});
      return true;
    }
    case 'aadsts':
      // Microsoft's error body for one AADSTS code (400, or 401 for invalid_client, unless told).
      finish({ error: f.oauth_error, code: f.code, message: f.message, ...(f.status ? { status: f.status } : {}) });
      return true;
    case 'truncated': {
      // The headers promise the whole body; half of it comes, then the connection closes.
      const body = JSON.stringify({ token_type: 'Bearer', scope: 'User.Read', expires_in: 3600, access_token: 'x'.repeat(64) });
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) });
      res.write(body.slice(0, Math.floor(body.length / 2)));
      setTimeout(() => req.socket.destroy(), 20);
      if (mc?.entry) mc.entry.status = 200;
      return true;
    }
    case 'malformed':
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      res.end('{"token_type":"Bearer","expires_in":3600,"access_token":');
      if (mc?.entry) mc.entry.status = 200;
      return true;
    case 'html':
      // What a captive portal or an interfering proxy answers: 200, a web page, not JSON.
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end('<!DOCTYPE html><html><head><title>Sign in to the network</title></head><body><p>Please accept the terms of use.</p></body></html>\n');
      if (mc?.entry) mc.entry.status = 200;
      return true;
    case 'huge': {
      // A well-formed JSON answer of `bytes` bytes (default 8 MiB), sent in chunks.
      const total = Math.max(64, f.bytes);
      const head = '{"token_type":"Bearer","expires_in":3600,"padding":"';
      const tail = '"}';
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(total) });
      if (mc?.entry) mc.entry.status = 200;
      res.write(head);
      let left = total - head.length - tail.length;
      const chunk = 'x'.repeat(64 * 1024);
      const pump = () => {
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          left -= n;
          if (!res.write(n === chunk.length ? chunk : chunk.slice(0, n))) return res.once('drain', pump);
        }
        res.end(tail);
        return undefined;
      };
      res.on('error', () => {});
      pump();
      return true;
    }
    default:
      return false;
  }
}

// ---- authorize -------------------------------------------------------------------------------

export function authorize(app, req, res, tenant, params, mc) {
  const q = Object.fromEntries(params);
  mc.entry = app.control.logStart({ endpoint: 'authorize', tenant: tenant.segment, client_id: q.client_id ?? null, scope: q.scope ?? null, login_hint: q.login_hint ?? null });

  if (!q.client_id) return sendPage(res, 400, missing('client_id'), mc);
  const client = clientById(q.client_id);
  if (!client) return sendPage(res, 400, notFoundInTenant(q.client_id, tenant), mc);
  if (!q.redirect_uri) return sendPage(res, 400, missing('redirect_uri'), mc);
  if (!redirectUriAllowed(client, q.redirect_uri)) {
    return sendPage(res, 400, { error: 'invalid_request', code: 50011, message: `The redirect URI '${q.redirect_uri}' specified in the request does not match the redirect URIs configured for the application '${client.client_id}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.` }, mc);
  }
  const back = { redirectUri: q.redirect_uri, state: q.state, responseMode: q.response_mode };
  const problem = clientTenantProblem(client, tenant);
  if (problem) return redirectProblem(app, res, back, problem, mc);
  if (!q.scope) return redirectProblem(app, res, back, missing('scope'), mc);
  const { scopes, unknown } = normalizeScopes(q.scope, client);
  if (unknown.length) {
    return redirectProblem(app, res, back, { error: 'invalid_scope', code: 70011, message: `The provided value for the input parameter 'scope' is not valid. The scope '${unknown.join(' ')}' does not exist.` }, mc);
  }
  params.set('scope', scopes.join(' '));
  // Microsoft ignores these without openid; oidc-provider would reject the request.
  if (!scopes.includes('openid')) for (const k of ['nonce', 'claims', 'max_age', 'acr_values', 'id_token_hint']) params.delete(k);
  // Microsoft issues a refresh token for offline_access without prompt=consent; oidc-provider
  // drops offline_access unless consent is prompted, and rejects prompt=select_account.
  const prompts = new Set(String(q.prompt ?? '').split(' ').filter((p) => p && p !== 'select_account'));
  if (!prompts.has('none')) prompts.add('consent');
  params.set('prompt', [...prompts].join(' '));
  params.delete('resource');
  return forward(app, req, res, { tenant, path: '/oauth2/v2.0/authorize', query: params.toString(), mc });
}

// ---- devicecode ------------------------------------------------------------------------------

export function deviceCode(app, req, res, tenant, body, mc) {
  mc.entry = app.control.logStart({ endpoint: 'devicecode', tenant: tenant.segment, client_id: body.client_id ?? null, scope: body.scope ?? null, secret_hint: body.client_secret ? String(body.client_secret).slice(0, 3) : null });
  const finish = (p) => sendProblem(app, res, p, mc);
  if (!body.client_id) return finish(missing('client_id'));
  const client = clientById(body.client_id);
  if (!client) return finish(notFoundInTenant(body.client_id, tenant));
  if (client.confidential) {
    return finish({ error: 'invalid_client', code: 7000218, message: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'. Device code sign-in needs a public client ('Allow public client flows')." });
  }
  if (body.client_secret || body.client_assertion) return finish({ error: 'invalid_client', code: 700025, message: "Client is public so neither 'client_assertion' nor 'client_secret' should be presented." });
  const problem = clientTenantProblem(client, tenant);
  if (problem) return finish(problem);
  if (!body.scope) return finish(missing('scope'));
  const { scopes, unknown } = normalizeScopes(body.scope, client);
  if (unknown.length) return finish({ error: 'invalid_scope', code: 70011, message: `The provided value for the input parameter 'scope' is not valid. The scope '${unknown.join(' ')}' does not exist.` });
  const out = { client_id: client.client_id, scope: scopes.join(' ') };
  return forward(app, req, res, { tenant, path: '/oauth2/v2.0/devicecode', body: out, mc });
}

// ---- token -----------------------------------------------------------------------------------

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export async function token(app, req, res, tenant, body, mc) {
  const entry = app.control.logStart({ endpoint: 'token', tenant: tenant.segment, grant_type: body.grant_type ?? null, scope: body.scope ?? null });
  mc.entry = entry;
  const finish = (p, headers) => sendProblem(app, res, p, mc, headers);

  if (await injectFault(app, req, res, 'token', mc)) return;

  const auth = authenticateClient(app, req, body, tenant);
  Object.assign(entry, { client_id: auth.clientId, secret_hint: auth.hint, secret_key_id: auth.keyId });
  if (auth.problem) return finish(auth.problem);
  const { client } = auth;
  const problem = clientTenantProblem(client, tenant);
  if (problem) return finish(problem);
  if (!body.grant_type) return finish(missing('grant_type'));

  const out = providerBody(app, req, body, client);
  let p;
  switch (body.grant_type) {
    case 'client_credentials':
      p = clientCredentials(app, client, tenant, body, out, mc);
      break;
    case 'authorization_code':
      p = authorizationCode(app, client, body, out);
      break;
    case 'refresh_token':
      p = await refreshToken(app, client, body, out);
      break;
    case DEVICE_GRANT:
      p = deviceCodeGrant(app, client, body);
      break;
    default:
      break;
  }
  if (p) return finish(p);
  return forward(app, req, res, { tenant, path: '/oauth2/v2.0/token', body: out, mc });
}

function clientCredentials(app, client, tenant, body, out, mc) {
  if (isGenericTenant(tenant)) {
    return { error: 'invalid_request', code: 9001023, message: 'The grant type is not supported over the /common, /organizations or /consumers endpoints. Please use a tenant-specific endpoint.' };
  }
  const r = appOnlyResource(body.scope);
  if (r.error === 'not_default') {
    return { error: 'invalid_scope', code: 1002012, message: `The provided value for scope ${body.scope ?? ''} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).` };
  }
  if (r.error) {
    return { error: 'invalid_resource', code: 500011, message: `The resource principal named ${r.resource} was not found in the tenant named ${tenant.name}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.` };
  }
  const consent = app.control.consentProblem(client, tenant.tid);
  if (consent) return consent;
  delete out.scope;
  out.resource = r.resource;
  mc.grantType = 'client_credentials';
  return null;
}

const oneResource = (scopes) => {
  const resources = resourcesOf(scopes);
  if (resources.length > 1) {
    return { problem: { error: 'invalid_scope', code: 28000, message: 'Provided value for the input parameter scope is not valid because it contains more than one resource. Scope ' + scopes.join(' ') + ' is not valid.' } };
  }
  return { resource: resources[0] };
};

function authorizationCode(app, client, body, out) {
  const code = body.code ? app.store.get('AuthorizationCode', body.code) : undefined;
  if (code && code.clientId === client.client_id && code.consumed) {
    // oidc-provider would also revoke everything issued from the code; Microsoft does not say so.
    return { error: 'invalid_grant', code: 54005, message: 'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.' };
  }
  if (body.scope) {
    const { scopes } = normalizeScopes(body.scope, client);
    const r = oneResource(scopes);
    if (r.problem) return r.problem;
    const granted = [code?.resource ?? []].flat();
    // A resource the code does not cover is left to oidc-provider's default (the token's `scope`
    // then shows what was actually granted, as Microsoft's does).
    if (r.resource && granted.includes(r.resource)) out.resource = r.resource;
    out.scope = scopes.join(' ');
  }
  return null;
}

async function refreshToken(app, client, body, out) {
  const { store, provider } = app;
  const rt = body.refresh_token ? store.get('RefreshToken', body.refresh_token) : undefined;
  if (!rt || rt.clientId !== client.client_id) return null; // oidc-provider: AADSTS70000
  if (rt.mcRevoked) {
    return { error: 'invalid_grant', code: 50173, message: `The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '${new Date(rt.iat * 1000).toISOString()}' and the TokensValidFrom date (before which tokens are not valid) for this user is later.` };
  }
  if (!body.scope || rt.exp * 1000 <= Date.now()) return null;

  const { scopes, unknown } = normalizeScopes(body.scope, client);
  if (unknown.length) return { error: 'invalid_scope', code: 70011, message: `The provided value for the input parameter 'scope' is not valid. The scope '${unknown.join(' ')}' does not exist.` };
  const r = oneResource(scopes);
  if (r.problem) return r.problem;
  out.scope = scopes.join(' ');
  if (r.resource) out.resource = r.resource;

  // A refresh token is bound to user and app, not to a resource: asking for scopes of another
  // resource (Graph first, IMAP later) works, consent being given here as in the sign-in.
  const had = String(rt.scope ?? '').split(' ');
  const extra = scopes.filter((s) => !had.includes(s));
  if (extra.length) {
    const grant = await provider.Grant.find(rt.grantId);
    if (!grant) return null;
    const oidc = extra.filter(isOidcScope);
    if (oidc.length) grant.addOIDCScope(oidc.join(' '));
    for (const res of resourcesOf(extra)) grant.addResourceScope(res, extra.filter((s) => resourceOf(s) === res).join(' '));
    await grant.save();
    const resources = [...new Set([rt.resource ?? [], resourcesOf(extra)].flat())];
    store.patch('RefreshToken', body.refresh_token, {
      scope: [...had.filter(Boolean), ...extra].join(' '),
      resource: resources.length === 1 ? resources[0] : resources,
    });
  }
  return null;
}

function deviceCodeGrant(app, client, body) {
  if (!body.device_code) return missing('device_code');
  const dc = app.store.get('DeviceCode', body.device_code);
  const bad = { error: 'bad_verification_code', code: 70000, message: "The provided value for the input parameter 'device_code' is not valid." };
  if (!dc || dc.clientId !== client.client_id) return bad;
  if (dc.error) {
    const m = /^AADSTS(\d+): ([\s\S]*)$/.exec(dc.errorDescription ?? '');
    return { error: dc.error, code: m ? Number(m[1]) : 70000, message: m ? m[2] : String(dc.errorDescription ?? '') };
  }
  if (dc.exp * 1000 <= Date.now()) return { error: 'expired_token', code: 70019, message: 'Verification code expired.' };
  if (dc.consumed) return { error: 'invalid_grant', code: 54005, message: 'The device code was already redeemed.' };

  // RFC 8628 slow_down, which oidc-provider lacks: a poll sooner than the interval is answered
  // slow_down and the interval grows by 5 seconds for that device code.
  const now = Date.now();
  const poll = app.devicePolls.get(body.device_code) ?? { last: 0, interval: app.config.interval };
  const early = poll.last && now - poll.last + 200 < poll.interval * 1000;
  poll.last = now;
  if (early) poll.interval += 5;
  app.devicePolls.set(body.device_code, poll);
  if (early) {
    return { error: 'slow_down', code: 70016, message: `OAuth 2.0 device flow error. Polling too fast: wait at least ${poll.interval} seconds between requests.` };
  }
  return null;
}

// ---- introspection and revocation ------------------------------------------------------------

export function introspect(app, req, res, tenant, body, mc, endpoint) {
  const entry = app.control.logStart({ endpoint, tenant: tenant.segment });
  mc.entry = entry;
  const auth = authenticateClient(app, req, body, tenant);
  Object.assign(entry, { client_id: auth.clientId, secret_hint: auth.hint, secret_key_id: auth.keyId });
  if (auth.problem) return sendProblem(app, res, auth.problem, mc);
  const out = providerBody(app, req, body, auth.client);
  if (typeof out.token === 'string' && out.token.startsWith(OPAQUE_PREFIX) && !out.token.includes('.')) out.token = out.token.slice(OPAQUE_PREFIX.length);
  if (endpoint === 'introspect' && typeof body.token === 'string' && body.token.split('.').length === 3) {
    // oidc-provider cannot introspect JWT access tokens; checking the signature is enough here.
    const payload = verifyJwt(app, body.token);
    entry.status = 200;
    const active = payload && payload.exp * 1000 > Date.now();
    return sendJson(res, 200, active ? { active: true, ...payload, scope: payload.scp ?? payload.roles?.join(' '), client_id: payload.appid, token_type: 'Bearer' } : { active: false });
  }
  const path = endpoint === 'introspect' ? '/oauth2/v2.0/introspect' : '/oauth2/v2.0/revoke';
  return forward(app, req, res, { tenant, path, body: out, mc });
}

function verifyJwt(app, jwt) {
  try {
    const [h, p, s] = jwt.split('.');
    const key = createPublicKey({ key: app.jwk, format: 'jwk' });
    if (!rsaVerify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'))) return null;
    return JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
}
