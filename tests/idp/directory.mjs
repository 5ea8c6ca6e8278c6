// The directory: tenants, users, app registrations and permission scopes from fixtures.json, and
// the rules that decide who may sign in where (the AADSTS code when they may not).
import { readFileSync } from 'node:fs';

export const fixtures = JSON.parse(readFileSync(new URL('./fixtures.json', import.meta.url), 'utf8'));

export const CONSUMERS_TID = fixtures.tenants.consumers.id;
export const GRAPH = fixtures.resources.graph.resource;
export const OUTLOOK = fixtures.resources.outlook.resource;
export const OUTLOOK365 = fixtures.resources.outlook365.resource;
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'];
export const GRAPH_SCOPES = fixtures.resources.graph.delegated_scopes;
export const OUTLOOK_SCOPES = fixtures.resources.outlook.delegated_scopes;
const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

// ---- tenants -------------------------------------------------------------------------------

/** The tenant named by a path segment, or null when Microsoft would answer AADSTS90002. */
export function resolveTenant(segment) {
  const s = String(segment ?? '').toLowerCase();
  if (s === 'common' || s === 'organizations') return { segment, kind: s, tid: null, name: s };
  if (s === 'consumers' || s === CONSUMERS_TID) {
    return { segment, kind: 'consumers', tid: CONSUMERS_TID, name: fixtures.tenants.consumers.name };
  }
  for (const t of Object.values(fixtures.tenants)) {
    if (t.id === CONSUMERS_TID) continue;
    if (s === t.id || s === t.domain) return { segment, kind: 'tenant', tid: t.id, name: t.name };
  }
  return null;
}

export const isGenericTenant = (tenant) => tenant.kind !== 'tenant';

// ---- users ---------------------------------------------------------------------------------

const RESERVED = {
  'decline@contoso.test': 'decline',
  'needsadmin@contoso.test': 'needsadmin',
  'consent@contoso.test': 'consent',
};

const users = Object.values(fixtures.users);

// Generated work accounts in Contoso for benchmarks: bench00000@contoso.test ... bench99999@contoso.test,
// object id be7c0000-0000-4000-8000-0000000NNNNN. They exist without state (also after a restart).
const BENCH_UPN = /^bench(\d{5})@contoso\.test$/;
const BENCH_OID = /^be7c0000-0000-4000-8000-0000000(\d{5})$/;

/** The generated benchmark user number `n` (0..99999). */
export function benchUser(n) {
  const num = String(n).padStart(5, '0');
  const upn = `bench${num}@contoso.test`;
  return { oid: `be7c0000-0000-4000-8000-0000000${num}`, upn, email: upn, name: `Bench User ${num}`, tid: fixtures.tenants.contoso.id, personal: false, admin: false };
}

export const userByOid = (oid) => {
  const m = BENCH_OID.exec(String(oid ?? ''));
  return m ? benchUser(Number(m[1])) : users.find((u) => u.oid === oid);
};

/**
 * The account a login_hint names. Reserved hints are work accounts in contoso that end the
 * sign-in with an error. Without a hint the tenant's usual user signs in.
 */
export function userForHint(hint, tenant) {
  if (!hint) {
    if (tenant.kind === 'consumers') return fixtures.users.carol;
    if (tenant.tid === fixtures.tenants.fabrikam.id) return fixtures.users.erin;
    return fixtures.users.alice;
  }
  const h = hint.trim().toLowerCase();
  if (RESERVED[h]) {
    return { upn: h, reserved: RESERVED[h], tid: fixtures.tenants.contoso.id, personal: false, oid: null };
  }
  const bench = BENCH_UPN.exec(h);
  if (bench) return benchUser(Number(bench[1]));
  return users.find((u) => u.upn === h || u.email === h) ?? null;
}

// ---- clients -------------------------------------------------------------------------------

const clients = Object.values(fixtures.clients);
// Apps created at run time (the Graph stand-in's POST /applications, through the control API):
// client_id -> { client, availableAt }. Until `availableAt` the app is unknown everywhere, as a
// new app at Microsoft is until it has replicated (AADSTS700016).
const created = new Map();
export const clientById = (id) => {
  const key = String(id ?? '').toLowerCase();
  const c = created.get(key);
  if (c) return Date.now() >= c.availableAt ? c.client : undefined;
  return clients.find((x) => x.client_id === id);
};
/** Whether an app was created at run time (known or still replicating). */
export const isCreatedClient = (id) => created.has(String(id ?? '').toLowerCase());
export const createdClients = () => [...created.values()].map(({ client, availableAt }) => ({ ...client, available_at: new Date(availableAt).toISOString() }));
/** Adds (or replaces) a run-time app; it becomes usable after `delayMs`. */
export function registerClient(client, delayMs = 0) {
  created.set(client.client_id, { client, availableAt: Date.now() + Math.max(0, delayMs) });
}
export function updateClient(id, fields) {
  const c = created.get(String(id).toLowerCase());
  if (!c) return null;
  Object.assign(c.client, fields);
  return c.client;
}
/** A fixture or run-time app, whether or not it has replicated yet (for the control API). */
export const anyClientById = (id) => created.get(String(id ?? '').toLowerCase())?.client ?? clients.find((x) => x.client_id === id);
export const removeClient = (id) => created.delete(String(id).toLowerCase());
const allowsPersonal = (client) => client.sign_in_audience === 'AzureADandPersonalMicrosoftAccount';
const singleTenant = (client) => client.sign_in_audience === 'AzureADMyOrg';

/** Checks that need only the client and the tenant in the path (authorize, token, devicecode). */
export function clientTenantProblem(client, tenant) {
  if (singleTenant(client)) {
    if (tenant.kind === 'common' || tenant.kind === 'organizations') {
      return { error: 'invalid_request', code: 50194, message: `Application '${client.client_id}'(${client.name}) is not configured as a multi-tenant application. Usage of the /common endpoint is not supported for such applications created after '10/15/2018'. Use a tenant-specific endpoint or configure the application to be multi-tenant.` };
    }
    if (tenant.tid !== client.home_tenant) {
      return notFoundInTenant(client, tenant);
    }
  }
  if (!allowsPersonal(client) && tenant.kind === 'consumers') {
    return notForConsumers(client);
  }
  return null;
}

export function notFoundInTenant(clientId, tenant) {
  const id = typeof clientId === 'string' ? clientId : clientId.client_id;
  return { error: 'unauthorized_client', code: 700016, message: `Application with identifier '${id}' was not found in the directory '${tenant.name ?? tenant.segment}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.` };
}

function notForConsumers(client) {
  return { error: 'unauthorized_client', code: 9002332, message: `Application '${client.client_id}'(${client.name}) is configured for use by Azure Active Directory users only. Please do not use the /consumers endpoint to serve this request. The client does not exist or is not enabled for consumers.` };
}

/** Checks once the account is known (interactive sign-in, device code approval). */
export function userProblem(client, tenant, user) {
  const wrongTenant =
    (tenant.kind === 'organizations' && user.personal)
    || (tenant.kind === 'consumers' && !user.personal)
    || (tenant.kind === 'tenant' && user.tid !== tenant.tid);
  if (wrongTenant) {
    return { error: 'access_denied', code: 50020, message: `User account '${user.upn}' from identity provider '${user.personal ? 'live.com' : `https://sts.windows.net/${user.tid}/`}' does not exist in tenant '${tenant.name}' and cannot access the application '${client.client_id}'(${client.name}) in that tenant. The account needs to be added as an external user in the tenant first. Sign out and sign in again with a different Azure Active Directory user account.` };
  }
  if (user.personal && !allowsPersonal(client)) return notForConsumers(client);
  switch (user.reserved) {
    case 'decline':
      return { error: 'access_denied', code: 65004, message: 'User declined to consent to access the app.' };
    case 'needsadmin':
      return { error: 'consent_required', code: 90094, message: `The grant requires admin permission. ${client.name} needs permission to access resources in your organization that only an admin can grant. Please ask an admin to grant permission to this app before you can use it.` };
    case 'consent':
      return { error: 'consent_required', code: 65001, message: `The user or administrator has not consented to use the application with ID '${client.client_id}' named '${client.name}'. Send an interactive authorization request for this user and resource.` };
    default:
      return null;
  }
}

// ---- redirect URIs -------------------------------------------------------------------------

// Loopback redirect URIs match whatever the port (RFC 8252 7.3); path and query compare exactly,
// an empty path being `/` (Microsoft treats http://localhost and http://localhost/ alike).
function withoutLoopbackPort(uri) {
  const m = /^(http:\/\/(?:localhost|127\.0\.0\.1))(?::\d+)?([/?#].*)?$/.exec(uri);
  if (!m) return undefined;
  const rest = m[2] ?? '/';
  return m[1] + (rest.startsWith('/') ? rest : `/${rest}`);
}

export function redirectUriAllowed(client, uri) {
  if (typeof uri !== 'string' || !uri) return false;
  if (client.redirect_uris.includes(uri)) return true;
  const bare = withoutLoopbackPort(uri);
  return bare !== undefined && client.redirect_uris.some((r) => withoutLoopbackPort(r) === bare);
}

// ---- scopes --------------------------------------------------------------------------------

const canonical = new Map();
for (const s of OIDC_SCOPES) canonical.set(s, s);
for (const s of GRAPH_SCOPES) {
  canonical.set(s.toLowerCase(), s);
  canonical.set(`${GRAPH}/${s}`.toLowerCase(), s);
  canonical.set(`${GRAPH_APP_ID}/${s}`.toLowerCase(), s);
}
for (const s of OUTLOOK_SCOPES) {
  const name = s.slice(OUTLOOK.length + 1);
  canonical.set(s.toLowerCase(), s);
  canonical.set(`${OUTLOOK365}/${name}`.toLowerCase(), s);
}

/** The resource (audience) a canonical scope belongs to, or null for the OpenID scopes. */
export function resourceOf(scope) {
  if (GRAPH_SCOPES.includes(scope)) return GRAPH;
  if (OUTLOOK_SCOPES.includes(scope)) return OUTLOOK;
  return null;
}

export const resourcesOf = (scopes) => [...new Set(scopes.map(resourceOf).filter(Boolean))];
export const isOidcScope = (s) => OIDC_SCOPES.includes(s);

/**
 * Microsoft-style scope string to canonical names: Graph scopes bare ("Mail.Read", as Microsoft
 * answers them), Outlook scopes fully qualified; case-insensitive; "<resource>/.default" expands
 * to the app registration's configured permissions for that resource.
 */
export function normalizeScopes(value, client) {
  const scopes = [];
  const unknown = [];
  for (const raw of String(value ?? '').split(/\s+/).filter(Boolean)) {
    const lower = raw.toLowerCase();
    let found = canonical.get(lower);
    if (!found && lower.endsWith('/.default')) {
      const prefix = lower.slice(0, -'/.default'.length);
      const resource = [GRAPH, GRAPH_APP_ID].includes(prefix) ? GRAPH : [OUTLOOK, OUTLOOK365].includes(prefix) ? OUTLOOK : null;
      if (resource) {
        for (const s of client?.default_scopes ?? []) if (resourceOf(s) === resource) scopes.push(s);
        continue;
      }
    }
    if (found) scopes.push(found);
    else unknown.push(raw);
  }
  return { scopes: [...new Set(scopes)], unknown };
}

/** For client credentials: "<resource>/.default" to the token audience. */
export function appOnlyResource(scopeValue) {
  const list = String(scopeValue ?? '').split(/\s+/).filter(Boolean);
  if (list.length !== 1 || !list[0].toLowerCase().endsWith('/.default')) return { error: 'not_default' };
  const prefix = list[0].slice(0, -'/.default'.length).toLowerCase();
  if (prefix === GRAPH || prefix === GRAPH_APP_ID) return { resource: GRAPH };
  if (prefix === OUTLOOK365 || prefix === OUTLOOK) return { resource: prefix };
  return { error: 'unknown_resource', resource: list[0].slice(0, -'/.default'.length) };
}

export function defaultAppRoles(resource) {
  if (resource === GRAPH) return fixtures.resources.graph.default_app_roles;
  return fixtures.resources.outlook365.default_app_roles;
}
