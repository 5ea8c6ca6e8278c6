// Creating app registrations: POST/GET/PATCH /applications, /servicePrincipals, the consent
// endpoints (oauth2PermissionGrants, appRoleAssignedTo), and the tenant settings that refuse them
// ("Users can register applications", the app management policy's password lifetime). Every
// application created here is registered with the test identity provider (its control API), so
// that it can sign people in and ask for tokens like any app.
import { createHash, randomUUID } from 'node:crypto';

import { createdApps, idpFixtures, isGuid } from './directory.mjs';

export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

/** Microsoft Graph's app roles (application permissions) the app asks for, with their IDs. */
export const GRAPH_APP_ROLES = {
  'Mail.Read': '810c84a8-4a9e-49e6-bf7d-12d183f40d01',
  'Mail.ReadWrite': 'e2a3a72e-5f79-4c64-b1b1-878b674786c9',
  'Mail.Send': 'b633e1c5-b582-4048-a93e-9f11b44c7e96',
  'User.Read.All': 'df021288-bdef-4463-88db-98f22de89214',
  'Calendars.ReadWrite': 'ef54d2bf-783f-4e0f-bca1-3210c0444d99',
  'Application.Read.All': '9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30',
  'Application.ReadWrite.OwnedBy': '18a4783c-866b-4cc7-a460-3d5e5662c884',
};

const AUDIENCES = ['AzureADMyOrg', 'AzureADMultipleOrgs', 'AzureADandPersonalMicrosoftAccount', 'PersonalMicrosoftAccount'];

/** A stable GUID from text (the same object has the same id in every run). */
export function guidFrom(text) {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** State of the directory objects created at run time, per tenant. */
export class Admin {
  constructor() {
    this.reset();
  }

  reset() {
    createdApps.length = 0; // { tid, client: null, props } (directory.mjs lists them with the fixtures')
    this.sps = []; // { tid, props }
    this.grants = []; // oauth2PermissionGrant objects (with tid)
    this.assignments = []; // appRoleAssignment objects (with tid)
    this.settings = {}; // tid -> { users_can_register_apps, max_password_lifetime_days, policy_id }
    this.replicationDelayMs = 0;
  }

  settingsOf(tid) {
    return { users_can_register_apps: true, max_password_lifetime_days: null, policy_id: null, ...(this.settings[tid] ?? {}) };
  }

  /** The Graph service principal (resource of every permission the app asks for) of a tenant. */
  graphServicePrincipal(tid) {
    return {
      id: guidFrom(`servicePrincipal|${GRAPH_APP_ID}|${tid}`),
      appId: GRAPH_APP_ID,
      displayName: 'Microsoft Graph',
      servicePrincipalType: 'Application',
      appRoles: Object.entries(GRAPH_APP_ROLES).map(([value, id]) => ({ id, value, displayName: value, allowedMemberTypes: ['Application'], isEnabled: true })),
    };
  }
}

// ---- validation of request bodies, as Graph's OData reader answers -------------------------------

function unknownProperty(errors, type, k) {
  return errors.bodyRead(`The property '${k}' does not exist on type 'microsoft.graph.${type}'. Make sure to only use property names that are defined by the type or mark the type as open type.`);
}

function expectObject(errors, v) {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw errors.bodyRead(`An unexpected '${Array.isArray(v) ? 'StartArray' : 'PrimitiveValue'}' node was found when reading from the JSON reader. A 'StartObject' node was expected.`);
  }
}

function expectArray(errors, v) {
  if (!Array.isArray(v)) throw errors.bodyRead(`An unexpected '${typeof v === 'object' && v ? 'StartObject' : 'PrimitiveValue'}' node was found when reading from the JSON reader. A 'StartArray' node was expected.`);
}

const APP_WRITABLE = ['displayName', 'signInAudience', 'publicClient', 'web', 'isFallbackPublicClient', 'requiredResourceAccess', 'description', 'notes', 'tags'];

/** The checked writable properties of an application body (create or patch). */
export function applicationFields(errors, GraphError, body, { create }) {
  const out = {};
  for (const k of Object.keys(body)) {
    if (k.startsWith('@odata')) continue;
    if (!APP_WRITABLE.includes(k)) throw unknownProperty(errors, 'application', k);
  }
  if ('displayName' in body || create) {
    if (typeof body.displayName !== 'string' || !body.displayName.trim()) {
      throw new GraphError(400, 'Request_BadRequest', "Property 'displayName' is required and cannot be empty.");
    }
    if (body.displayName.length > 256) throw new GraphError(400, 'Request_BadRequest', "Invalid value specified for property 'displayName' of resource 'Application'.");
    out.displayName = body.displayName;
  }
  if ('signInAudience' in body) {
    if (!AUDIENCES.includes(body.signInAudience)) throw new GraphError(400, 'Request_BadRequest', "Invalid value specified for property 'signInAudience' of resource 'Application'.");
    out.signInAudience = body.signInAudience;
  }
  for (const platform of ['publicClient', 'web']) {
    if (!(platform in body)) continue;
    const p = body[platform];
    expectObject(errors, p);
    const allowed = platform === 'web' ? ['redirectUris', 'implicitGrantSettings', 'homePageUrl', 'logoutUrl'] : ['redirectUris'];
    for (const k of Object.keys(p)) if (!allowed.includes(k)) throw unknownProperty(errors, platform === 'web' ? 'webApplication' : 'publicClientApplication', k);
    const uris = p.redirectUris ?? [];
    expectArray(errors, uris);
    for (const u of uris) {
      if (typeof u !== 'string') throw errors.bodyRead("An unexpected 'StartObject' node was found when reading from the JSON reader. A 'PrimitiveValue' node was expected.");
      let url;
      try {
        url = new URL(u);
      } catch {
        throw new GraphError(400, 'Request_BadRequest', `Invalid value specified for property 'redirectUris' of resource 'Application'.`);
      }
      const loopback = url.protocol === 'http:' && ['localhost', '127.0.0.1'].includes(url.hostname);
      // Web redirect URIs must be https (or http://localhost); desktop ones may use any scheme.
      if (platform === 'web' && url.protocol !== 'https:' && !loopback) {
        throw new GraphError(400, 'Request_BadRequest', `Invalid value specified for property 'redirectUris' of resource 'Application'. Web redirect URIs must use https or http://localhost.`);
      }
    }
    out[platform] = { redirectUris: uris, ...(platform === 'web' ? { implicitGrantSettings: { enableAccessTokenIssuance: false, enableIdTokenIssuance: false } } : {}) };
  }
  if ('isFallbackPublicClient' in body) {
    if (typeof body.isFallbackPublicClient !== 'boolean') throw errors.bodyRead(`Cannot convert the literal '${body.isFallbackPublicClient}' to the expected type 'Edm.Boolean'.`);
    out.isFallbackPublicClient = body.isFallbackPublicClient;
  }
  if ('requiredResourceAccess' in body) {
    const list = body.requiredResourceAccess;
    expectArray(errors, list);
    out.requiredResourceAccess = list.map((r) => {
      expectObject(errors, r);
      for (const k of Object.keys(r)) if (!['resourceAppId', 'resourceAccess'].includes(k)) throw unknownProperty(errors, 'requiredResourceAccess', k);
      if (typeof r.resourceAppId !== 'string') throw errors.bodyRead("Property 'resourceAppId' is required.");
      expectArray(errors, r.resourceAccess ?? []);
      return {
        resourceAppId: r.resourceAppId,
        resourceAccess: (r.resourceAccess ?? []).map((a) => {
          expectObject(errors, a);
          for (const k of Object.keys(a)) if (!['id', 'type'].includes(k)) throw unknownProperty(errors, 'resourceAccess', k);
          if (typeof a.id !== 'string' || !isGuid(a.id)) throw errors.bodyRead(`Cannot convert the literal '${a.id}' to the expected type 'Edm.Guid'.`);
          if (!['Scope', 'Role'].includes(a.type)) throw new GraphError(400, 'Request_BadRequest', "Invalid value specified for property 'type' of resource 'ResourceAccess'.");
          return { id: a.id.toLowerCase(), type: a.type };
        }),
      };
    });
  }
  for (const k of ['description', 'notes']) if (k in body) out[k] = body[k] == null ? null : String(body[k]);
  if ('tags' in body) {
    expectArray(errors, body.tags);
    out.tags = body.tags.map(String);
  }
  return out;
}

/** The user behind a delegated token is a directory administrator (idp fixtures' `admin`). */
export function isAdmin(who) {
  return who.kind === 'delegated' && Object.values(idpFixtures.users).some((u) => u.oid === who.oid && u.admin);
}

export const isPersonal = (who) => who.tid === idpFixtures.tenants.consumers.id;

export const newId = () => randomUUID();
