// Test-only state the real Microsoft keeps elsewhere (client secrets, admin consent, app roles),
// the request log, failure injection for the token endpoint, and the /_control/ API over them.
import { createHash, randomBytes, randomUUID } from 'node:crypto';

import {
  fixtures, clientById, resolveTenant, userForHint, userByOid, defaultAppRoles, benchUser, registerClient, updateClient, removeClient,
  isCreatedClient, createdClients, anyClientById,
} from './directory.mjs';

const SECRET_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~';

function newSecretValue() {
  const bytes = randomBytes(37);
  const pick = (i) => SECRET_CHARS[bytes[i] % SECRET_CHARS.length];
  const head = [0, 1, 2].map(pick).join('');
  return `${head}8Q~${[...Array(34).keys()].map((i) => pick(i + 3)).join('')}`;
}

export class Control {
  constructor(snapshot) {
    this.log = [];
    this.faults = {}; // endpoint -> { mode, count?, ... } (see FAULT_MODES)
    this.tokenFormat = process.env.IDP_ACCESS_TOKEN_FORMAT || 'microsoft'; // microsoft | jwt | opaque
    this.secrets = snapshot?.secrets ?? Object.fromEntries(Object.values(fixtures.clients).map((c) => [c.client_id, structuredClone(c.secrets)]));
    this.notConsented = snapshot?.notConsented ?? {}; // clientId -> tid -> AADSTS code
    this.roles = snapshot?.roles ?? {}; // clientId -> tid -> resource -> roles
    this.onChange = () => {};
  }

  toJSON() {
    return { secrets: this.secrets, notConsented: this.notConsented, roles: this.roles };
  }

  // ---- request log ---------------------------------------------------------------------------

  logStart(fields) {
    const entry = {
      t: new Date().toISOString(), endpoint: null, tenant: null, grant_type: null, client_id: null, secret_hint: null,
      secret_key_id: null, scope: null, status: null, error: null, error_codes: null, ...fields,
    };
    // When the provider took the request, for the time it spent (`ms`, set when answered).
    Object.defineProperty(entry, 'started', { value: performance.now() });
    this.log.push(entry);
    return entry;
  }

  // ---- failure injection (per endpoint) ------------------------------------------------------

  get tokenMode() {
    return this.faults.token ?? { mode: 'normal' };
  }

  set tokenMode(m) {
    this.setFault('token', m);
  }

  setFault(endpoint, m) {
    if (!m || m.mode === 'normal') delete this.faults[endpoint];
    else this.faults[endpoint] = m;
  }

  /** The failure to inject into this request of `endpoint`, if any (counts down `count`). */
  takeFault(endpoint) {
    const m = this.faults[endpoint];
    if (!m || m.mode === 'normal') return null;
    if (typeof m.count === 'number') {
      m.count -= 1;
      if (m.count <= 0) delete this.faults[endpoint];
    }
    return m;
  }

  takeTokenMode() {
    return this.takeFault('token');
  }

  // ---- secrets ---------------------------------------------------------------------------------

  /** The configured secret whose value was sent, with whether it has expired. */
  findSecret(clientId, value) {
    const s = (this.secrets[clientId] ?? []).find((x) => x.value === value);
    return s ? { keyId: s.keyId, expired: Date.parse(s.endDateTime) <= Date.now() } : null;
  }

  // ---- consent and roles (client credentials) ----------------------------------------------

  consentProblem(client, tid) {
    const code = this.notConsented[client.client_id]?.[tid];
    if (!code) return null;
    if (code === 7000229) {
      return { error: 'invalid_client', code, status: 400, message: `The client application ${client.client_id} is missing service principal in the tenant ${tid}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119` };
    }
    return { error: 'invalid_grant', code: 65001, message: `The user or administrator has not consented to use the application with ID '${client.client_id}' named '${client.name}'. Send an interactive authorization request for this user and resource.` };
  }

  setConsented(clientId, tid, consented, code = 65001) {
    this.notConsented[clientId] ??= {};
    if (consented) delete this.notConsented[clientId][tid];
    else this.notConsented[clientId][tid] = code;
    this.onChange();
  }

  rolesFor(clientId, tid, resource) {
    return this.roles[clientId]?.[tid]?.[resource] ?? defaultAppRoles(resource);
  }

  /** The app's service principal object id in a tenant (the `oid` of app-only tokens). */
  servicePrincipalId(clientId, tid) {
    const h = createHash('sha256').update(`${clientId}|${tid}`).digest('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}

// ---- the /_control/ API ----------------------------------------------------------------------

const json = (res, status, body) => {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
};

const publicSecret = ({ value, ...rest }) => rest; // never hand out or log a secret's value

function tenantOf(value) {
  const t = resolveTenant(value ?? '');
  return t?.tid && t.kind !== 'consumers' ? t.tid : null;
}

/**
 * Handles /_control/... . `app` has { control, store, provider, base, approveDevice, save }.
 * Returns false when no route matched.
 */
export async function handleControl(app, req, res, path, body) {
  const { control, store } = app;
  const m = (re) => re.exec(path);
  const method = req.method;
  let r;

  if (path === '/_control/health' && method === 'GET') {
    return json(res, 200, { ok: true, base: app.base, pid: process.pid, uptime_s: Math.round(process.uptime()), state_file: app.stateFile ?? null });
  }
  if (path === '/_control/fixtures' && method === 'GET') return json(res, 200, fixtures);

  if (path === '/_control/log') {
    if (method === 'GET') return json(res, 200, control.log);
    if (method === 'DELETE') {
      control.log.length = 0;
      return json(res, 200, { ok: true });
    }
  }

  if (path === '/_control/token-endpoint') {
    if (method === 'GET') return json(res, 200, control.tokenMode);
    if (method === 'POST') {
      const f = parseFault(body);
      if (f.error) return json(res, 400, f);
      control.setFault('token', f);
      return json(res, 200, control.tokenMode);
    }
  }

  if (path === '/_control/faults') {
    if (method === 'GET') return json(res, 200, control.faults);
    if (method === 'DELETE') {
      control.faults = {};
      return json(res, 200, {});
    }
    if (method === 'POST') {
      const endpoint = String(body.endpoint ?? '');
      if (!FAULT_ENDPOINTS.includes(endpoint)) return json(res, 400, { error: `endpoint must be one of ${FAULT_ENDPOINTS.join(', ')}` });
      const f = parseFault(body);
      if (f.error) return json(res, 400, f);
      control.setFault(endpoint, f);
      return json(res, 200, control.faults[endpoint] ?? { mode: 'normal' });
    }
  }

  if (path === '/_control/token-format') {
    if (method === 'GET') return json(res, 200, { format: control.tokenFormat });
    if (method === 'POST') {
      const format = String(body.format ?? '');
      if (!TOKEN_FORMATS.includes(format)) return json(res, 400, { error: `format must be one of ${TOKEN_FORMATS.join(', ')}` });
      control.tokenFormat = format;
      return json(res, 200, { format });
    }
  }

  // The test hook for apps created at run time (the Graph stand-in's POST /applications).
  if (path === '/_control/clients') {
    if (method === 'GET') return json(res, 200, createdClients());
    if (method === 'POST') {
      const c = parseNewClient(body);
      if (c.error) return json(res, 400, c);
      if (clientById(c.client.client_id) && !isCreatedClient(c.client.client_id)) return json(res, 409, { error: `${c.client.client_id} is a fixture client` });
      registerClient(c.client, c.delayMs);
      app.store.set('Client', c.client.client_id, providerMetadata(c.client, app.internalSecret));
      control.secrets[c.client.client_id] ??= [];
      const home = c.client.home_tenant;
      // A new app has no service principal yet (client credentials: AADSTS7000229) and no app
      // roles until an administrator grants them.
      if (c.client.confidential) {
        control.notConsented[c.client.client_id] = { [home]: 7000229 };
        control.roles[c.client.client_id] = { [home]: { 'https://graph.microsoft.com': [] } };
      }
      control.onChange();
      return json(res, 201, { ...c.client, available_in_ms: c.delayMs });
    }
  }
  if ((r = m(/^\/_control\/clients\/([^/]+)$/)) && ['PATCH', 'DELETE'].includes(method)) {
    const id = decodeURIComponent(r[1]).toLowerCase();
    if (!isCreatedClient(id)) return json(res, 404, { error: `no created client ${id}` });
    if (method === 'DELETE') {
      removeClient(id);
      app.store.delete('Client', id);
      return json(res, 200, { ok: true });
    }
    const fields = {};
    for (const k of ['name', 'redirect_uris', 'sign_in_audience', 'confidential', 'grant_types']) if (k in body) fields[k] = body[k];
    const c = updateClient(id, fields);
    app.store.set('Client', id, providerMetadata(c, app.internalSecret));
    return json(res, 200, c);
  }

  if ((r = m(/^\/_control\/clients\/([^/]+)\/(secrets|roles|consent)(?:\/([^/]+))?(?:\/(expire))?$/))) {
    const [, clientId, what, keyId, action] = r;
    const client = anyClientById(decodeURIComponent(clientId));
    if (!client) return json(res, 404, { error: `no client ${clientId}` });
    const id = client.client_id;
    if (what === 'secrets') {
      const list = (control.secrets[id] ??= []);
      if (!keyId && method === 'GET') return json(res, 200, list.map(publicSecret));
      if (!keyId && method === 'POST') {
        const value = body.value ?? newSecretValue();
        const endDateTime = body.end ?? body.endDateTime ?? new Date(Date.now() + 180 * 86400_000).toISOString();
        if (Number.isNaN(Date.parse(endDateTime))) return json(res, 400, { error: 'end must be a date' });
        if (typeof value !== 'string' || value.length < 3) return json(res, 400, { error: 'value must be a string' });
        const s = {
          keyId: randomUUID(), displayName: body.displayName ?? 'added by test', value, hint: value.slice(0, 3),
          startDateTime: new Date().toISOString(), endDateTime: new Date(endDateTime).toISOString(),
        };
        list.push(s);
        control.onChange();
        return json(res, 201, s);
      }
      const i = list.findIndex((s) => s.keyId === keyId);
      if (keyId && i < 0) return json(res, 404, { error: `no secret ${keyId}` });
      if (keyId && !action && method === 'DELETE') {
        list.splice(i, 1);
        control.onChange();
        return json(res, 200, { ok: true });
      }
      if (keyId && action === 'expire' && method === 'POST') {
        list[i].endDateTime = new Date(Date.now() - 1000).toISOString();
        control.onChange();
        return json(res, 200, publicSecret(list[i]));
      }
    }
    if (what === 'roles' && !keyId) {
      if (method === 'GET') return json(res, 200, control.roles[id] ?? {});
      if (method === 'POST') {
        const tid = tenantOf(body.tenant);
        if (!tid) return json(res, 400, { error: 'tenant must name a tenant (GUID or domain)' });
        if (!Array.isArray(body.roles)) return json(res, 400, { error: 'roles must be an array' });
        const resource = body.resource ?? 'https://graph.microsoft.com';
        ((control.roles[id] ??= {})[tid] ??= {})[resource] = body.roles.map(String);
        control.onChange();
        return json(res, 200, { client_id: id, tenant: tid, resource, roles: control.roles[id][tid][resource] });
      }
    }
    if (what === 'consent' && !keyId && method === 'POST') {
      const tid = tenantOf(body.tenant);
      if (!tid) return json(res, 400, { error: 'tenant must name a tenant (GUID or domain)' });
      const code = Number(body.code ?? 65001);
      control.setConsented(id, tid, body.consented !== false, code === 7000229 ? 7000229 : 65001);
      return json(res, 200, { client_id: id, tenant: tid, consented: body.consented !== false });
    }
  }

  if ((r = m(/^\/_control\/users\/([^/]+)\/revoke$/)) && method === 'POST') {
    const user = userForHint(decodeURIComponent(r[1]), { kind: 'common' });
    if (!user?.oid) return json(res, 404, { error: `no user ${r[1]}` });
    let revoked = 0;
    for (const [id, p] of [...store.entries('RefreshToken')]) {
      if (p.accountId === user.oid) revoked += store.patch('RefreshToken', id, { mcRevoked: true }) ? 1 : 0;
    }
    return json(res, 200, { upn: user.upn, revoked });
  }

  if (path === '/_control/bench/refresh-tokens' && method === 'POST') {
    const out = mintBenchTokens(store, body);
    return json(res, out.error ? 400 : 200, out);
  }

  if (path === '/_control/refresh/expire-all' && method === 'POST') {
    return json(res, 200, { expired: expireRefreshTokens(store, () => true) });
  }
  if (path === '/_control/refresh/expire' && method === 'POST') {
    let match;
    if (body.refresh_token) match = (id) => id === body.refresh_token;
    else if (body.upn) {
      const user = userForHint(body.upn, { kind: 'common' });
      if (!user?.oid) return json(res, 404, { error: `no user ${body.upn}` });
      match = (_id, p) => p.accountId === user.oid;
    } else return json(res, 400, { error: 'give refresh_token or upn' });
    return json(res, 200, { expired: expireRefreshTokens(store, match) });
  }

  if (path === '/_control/device/approve' && method === 'POST') {
    const out = await app.approveDevice({ userCode: body.user_code, loginHint: body.login_hint, decline: !!body.decline });
    return json(res, out.problem && !out.recorded ? 400 : 200, {
      ok: !out.problem, declined: !!out.declined, user: out.user?.upn ?? null,
      ...(out.problem ? { error: out.problem.error, error_codes: [out.problem.code], message: out.problem.message } : {}),
    });
  }
  if (path === '/_control/device/expire' && method === 'POST') {
    let n = 0;
    const userCode = body.user_code ? String(body.user_code).toUpperCase().replace(/\W/g, '') : null;
    for (const [id, p] of [...store.entries('DeviceCode')]) {
      if ((body.device_code && id === body.device_code) || (userCode && p.userCode === userCode)) {
        n += store.patch('DeviceCode', id, { exp: Math.floor(Date.now() / 1000) - 1 }) ? 1 : 0;
      }
    }
    return json(res, n ? 200 : 404, { expired: n });
  }

  return false;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const AUDIENCES = ['AzureADMyOrg', 'AzureADMultipleOrgs', 'AzureADandPersonalMicrosoftAccount', 'PersonalMicrosoftAccount'];

/** A control body describing a run-time app as a client like the fixtures', or `{error}`. */
function parseNewClient(body) {
  const id = String(body.client_id ?? '').toLowerCase();
  if (!GUID.test(id)) return { error: 'client_id must be a GUID' };
  const tid = tenantOf(body.home_tenant);
  if (!tid) return { error: 'home_tenant must name a tenant (GUID or domain)' };
  const audience = String(body.sign_in_audience ?? 'AzureADMyOrg');
  if (!AUDIENCES.includes(audience)) return { error: `sign_in_audience must be one of ${AUDIENCES.join(', ')}` };
  const uris = body.redirect_uris ?? [];
  if (!Array.isArray(uris) || uris.some((u) => typeof u !== 'string')) return { error: 'redirect_uris must be an array of strings' };
  const confidential = Boolean(body.confidential);
  const delayMs = Number(body.available_after_ms ?? 0);
  if (!Number.isFinite(delayMs) || delayMs < 0) return { error: 'available_after_ms must be a number of milliseconds' };
  return {
    delayMs,
    client: {
      client_id: id,
      name: String(body.name ?? 'created app'),
      confidential,
      sign_in_audience: audience,
      home_tenant: tid,
      grant_types: confidential
        ? ['authorization_code', 'refresh_token', 'client_credentials']
        : ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      redirect_uris: uris,
      default_scopes: Array.isArray(body.default_scopes) ? body.default_scopes.map(String) : [],
      created: true,
    },
  };
}

/** The client as oidc-provider keeps it (the gateway checks the real secrets, as for fixtures). */
function providerMetadata(c, internalSecret) {
  return {
    client_id: c.client_id,
    client_name: c.name,
    ...(c.confidential ? { client_secret: internalSecret, token_endpoint_auth_method: 'client_secret_post' } : { token_endpoint_auth_method: 'none' }),
    application_type: 'native',
    grant_types: c.grant_types,
    response_types: ['code'],
    // As URLs (http://localhost is http://localhost/); oidc-provider ignores loopback ports.
    redirect_uris: (c.redirect_uris.length ? c.redirect_uris : ['http://localhost/']).map((u) => {
      try {
        return new URL(u).href;
      } catch {
        return u;
      }
    }),
  };
}

/** Refresh-token lifetime as the provider's own (IDP_REFRESH_TOKEN_TTL). */
const refreshTtl = () => Number(process.env.IDP_REFRESH_TOKEN_TTL ?? 7776000);
const MINT_MAX = 100000;

/**
 * For benchmarks: `count` more grants shaped exactly like the one behind `refresh_token` (a real
 * sign-in's: same client, scopes, resources, claims), each for a generated user benchNNNNN
 * (numbers from `first`, default 1), with its own refresh token. The tokens are ordinary entries
 * of the provider's store, so the token endpoint treats them as any other refresh token.
 * Answers `{tokens: [{upn, oid, name, refresh_token}]}` (recorded in the token log like every answer).
 */
function mintBenchTokens(store, body) {
  const count = Number(body.count);
  const first = Number(body.first ?? 1);
  if (!Number.isInteger(count) || count < 1 || count > MINT_MAX) return { error: `count must be a whole number from 1 to ${MINT_MAX}` };
  if (!Number.isInteger(first) || first < 0 || first + count > MINT_MAX) return { error: `first must be a whole number, first + count at most ${MINT_MAX}` };
  const template = typeof body.refresh_token === 'string' ? store.get('RefreshToken', body.refresh_token) : undefined;
  if (!template) return { error: 'refresh_token must be a refresh token this provider issued (a sign-in\'s)' };
  const grant = template.grantId ? store.get('Grant', template.grantId) : undefined;
  if (!grant) return { error: 'the refresh token\'s grant is gone' };
  if (!userByOid(template.accountId)) return { error: 'the refresh token\'s account is unknown' };
  const now = Math.floor(Date.now() / 1000);
  const exp = now + refreshTtl();
  const tokens = [];
  for (let n = first; n < first + count; n++) {
    const user = benchUser(n);
    const grantId = randomBytes(32).toString('base64url');
    store.set('Grant', grantId, { ...structuredClone(grant), jti: grantId, accountId: user.oid, iat: now }, 10 * 365 * 86400);
    const jti = randomBytes(32).toString('base64url');
    const payload = { ...structuredClone(template), jti, grantId, accountId: user.oid, iat: now, iiat: now, exp };
    for (const k of ['rotations', 'rotatedAt', 'consumed', 'mcRevoked']) delete payload[k];
    store.set('RefreshToken', jti, payload);
    tokens.push({ upn: user.upn, oid: user.oid, name: user.name, refresh_token: jti });
  }
  return { tokens };
}

function expireRefreshTokens(store, match) {
  const past = Math.floor(Date.now() / 1000) - 1;
  let n = 0;
  for (const [id, p] of [...store.entries('RefreshToken')]) {
    if (match(id, p)) n += store.patch('RefreshToken', id, { exp: past }) ? 1 : 0;
  }
  return n;
}

// ---- fault descriptions ------------------------------------------------------------------------

export const FAULT_ENDPOINTS = ['token', 'devicecode', 'discovery', 'keys', 'authorize', 'introspect', 'revoke', 'adminconsent'];
export const FAULT_MODES = ['normal', '5xx', '429', 'hang', 'delay', 'drop', 'truncated', 'malformed', 'html', 'huge', 'aadsts'];
/** OAuth error names Microsoft sends with AADSTS codes (RFC 6749 section 5.2, OIDC, device flow). */
export const AADSTS_ERRORS = ['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope', 'invalid_resource', 'interaction_required', 'consent_required', 'login_required', 'access_denied', 'temporarily_unavailable', 'server_error', 'authorization_declined', 'expired_token', 'bad_verification_code'];
export const TOKEN_FORMATS = ['microsoft', 'jwt', 'opaque'];

/**
 * A control body `{mode, count?, retry_after?, status?, delay_ms?, bytes?}` as a fault, or `{error}`.
 * `aadsts` also takes `{code, error?, message?, status?}`: Microsoft's error body for AADSTS `code`
 * (`error` defaults to invalid_grant and is kept as `oauth_error`).
 */
export function parseFault(body) {
  const mode = String(body.mode ?? 'normal');
  if (!FAULT_MODES.includes(mode)) return { error: `unknown mode '${mode}'` };
  if (mode === 'normal') return { mode };
  const count = body.count != null ? Number(body.count) : null;
  if (count !== null && (!Number.isInteger(count) || count < 1)) return { error: 'count must be a positive whole number' };
  if (mode === 'aadsts') return parseAadsts(body, count);
  return {
    mode,
    ...(count !== null ? { count } : {}),
    ...(mode === '429' ? { retry_after: Number(body.retry_after ?? 5) } : {}),
    ...(mode === 'delay' ? { delay_ms: Number(body.delay_ms ?? 1000) } : {}),
    ...(mode === 'huge' ? { bytes: Number(body.bytes ?? 8 * 1024 * 1024) } : {}),
    ...(mode === '5xx' ? { status: Number(body.status ?? 503), ...(body.retry_after != null ? { retry_after: Number(body.retry_after) } : {}) } : {}),
  };
}

/** The `aadsts` fault: Microsoft's JSON error body carrying one AADSTS code. */
function parseAadsts(body, count) {
  const code = Number(body.code);
  if (!Number.isInteger(code) || code < 1) return { error: 'code must be an AADSTS number' };
  const error = String(body.error ?? 'invalid_grant');
  if (!AADSTS_ERRORS.includes(error)) return { error: `error must be one of ${AADSTS_ERRORS.join(', ')}` };
  const status = body.status != null ? Number(body.status) : null;
  if (status !== null && (!Number.isInteger(status) || status < 400 || status > 599)) return { error: 'status must be 400..599' };
  const message = String(body.message ?? 'The request failed.');
  // Kept as `oauth_error`: a fault's own `error` field means a refused control body.
  return { mode: 'aadsts', ...(count !== null ? { count } : {}), code, oauth_error: error, message, ...(status !== null ? { status } : {}) };
}
