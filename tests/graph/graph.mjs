// Microsoft Graph's answers: the error shape, routing of /v1.0 paths, permission checks, and the
// endpoints (me, users, mail folders and messages, sendMail, calendar events, applications and
// their passwords).
import { randomUUID } from 'node:crypto';

import { hasAny } from './auth.mjs';
import {
  GRAPH_APP_ID, applicationFields, guidFrom, isAdmin, isPersonal, newId,
} from './admin.mjs';
import {
  APPLICATION_DEFAULT, APPLICATION_PROPS, EVENT_DEFAULT, EVENT_PROPS, FOLDERS, eventsOf, MESSAGE_BODY_PROPS, MESSAGE_DEFAULT, MESSAGE_PROPS, USER_DEFAULT, USER_PROPS,
  TENANTS, applications, createdApps, findMailbox, findUser, folderId, isGuid, mailboxByAddress, makeMessage, messageId, primaryAddress,
  userForToken,
} from './directory.mjs';

// ---- responses -------------------------------------------------------------------------------

export class GraphError extends Error {
  constructor(status, code, message, headers = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

const E = {
  denied: () => new GraphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'),
  mailDenied: () => new GraphError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.'),
  raop: () => new GraphError(403, 'ErrorAccessDenied', 'Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings.'),
  meOnlyDelegated: () => new GraphError(400, 'BadRequest', '/me request is only valid with delegated authentication flow.'),
  segment: (s) => new GraphError(400, 'BadRequest', `Resource not found for the segment '${s}'.`),
  notFound: (x) => new GraphError(404, 'Request_ResourceNotFound', `Resource '${x}' does not exist or one of its queried reference-property objects are not present.`),
  badId: (x) => new GraphError(400, 'Request_BadRequest', `Invalid object identifier '${x}'.`),
  invalidUser: (x) => new GraphError(404, 'ErrorInvalidUser', `The requested user '${x}' is invalid.`),
  noMailbox: () => new GraphError(404, 'MailboxNotEnabledForRESTAPI', 'The mailbox is either inactive, soft-deleted, or is hosted on-premise.'),
  method: () => new GraphError(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request target.'),
  bodyRead: (m) => new GraphError(400, 'RequestBodyRead', m),
  badRequest: (m) => new GraphError(400, 'BadRequest', m),
};
export const errors = E;

/** "2026-01-05T09:00:00", the format of innerError.date. */
const innerDate = () => new Date().toISOString().slice(0, 19);

export function baseHeaders(ctx) {
  return {
    'request-id': ctx.requestId,
    'client-request-id': ctx.clientRequestId,
    'x-ms-ags-diagnostic': JSON.stringify({ ServerInfo: { DataCenter: 'Local', Slice: 'E', Ring: '5', ScaleUnit: '000', RoleInstance: 'LOCAL-GRAPH' } }),
    'cache-control': 'no-cache',
    'strict-transport-security': 'max-age=31536000',
  };
}

export function sendError(ctx, err) {
  const body = {
    error: {
      code: err.code,
      message: err.message,
      ...(err.details ? { details: err.details } : {}),
      innerError: { date: innerDate(), 'request-id': ctx.requestId, 'client-request-id': ctx.clientRequestId },
    },
  };
  Object.assign(ctx.entry, { status: err.status, error_code: err.code });
  const text = JSON.stringify(body);
  ctx.res.writeHead(err.status, { ...baseHeaders(ctx), 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...err.headers });
  ctx.res.end(text);
}

const ODATA_JSON = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';

function sendJson(ctx, status, body) {
  ctx.entry.status = status;
  const text = JSON.stringify(body);
  ctx.res.writeHead(status, { ...baseHeaders(ctx), 'content-type': ODATA_JSON, 'odata-version': '4.0', 'content-length': Buffer.byteLength(text) });
  ctx.res.end(text);
}

function sendEmpty(ctx, status) {
  ctx.entry.status = status;
  ctx.res.writeHead(status, { ...baseHeaders(ctx), 'content-length': 0 });
  ctx.res.end();
}

// ---- routing ---------------------------------------------------------------------------------

const APP_BY_APPID = /^applications\(appid=(?:'([^']*)'|"([^"]*)"|([^)'"]*))\)$/i;

/**
 * Maps the path (segments after /v1.0) to a route, or throws a GraphError. A route is
 * { name, method, target?: { me: true } | { x }, folder?, messageId?, application?, mail, mailbox }.
 */
export function parseRoute(segments, method) {
  const lower = segments.map((s) => s.toLowerCase());
  const [head] = lower;
  const want = (route, m) => {
    if (method !== m) throw E.method();
    return route;
  };
  if (!head) throw E.segment(segments[0] ?? '');

  if (head === 'me' || head === 'users') {
    if (head === 'users' && segments.length === 1) return want({ name: 'users' }, 'GET');
    const target = head === 'me' ? { me: true } : { x: segments[1] };
    const i = head === 'me' ? 1 : 2;
    const rest = lower.slice(i);
    const raw = segments.slice(i);
    const base = { target };
    if (rest.length === 0) return want({ ...base, name: head === 'me' ? 'me' : 'user' }, 'GET');
    if (rest[0] === 'sendmail') {
      if (rest.length > 1) throw E.segment(raw[1]);
      return want({ ...base, name: 'sendMail', mail: true }, 'POST');
    }
    if (rest[0] === 'messages') {
      if (rest.length === 1) return want({ ...base, name: 'messages', folder: null, mail: true }, 'GET');
      if (rest.length === 2) return want({ ...base, name: 'message', folder: null, messageId: raw[1], mail: true }, 'GET');
      throw E.segment(raw[2]);
    }
    if (rest[0] === 'events' || (rest[0] === 'calendar' && rest[1] === 'events')) {
      const n = rest[0] === 'events' ? 1 : 2;
      if (rest.length === n) return want({ ...base, name: 'events', mail: true }, 'GET');
      throw E.segment(raw[n]);
    }
    if (rest[0] === 'mailfolders') {
      if (rest.length === 1) return want({ ...base, name: 'folders', mail: true }, 'GET');
      const folder = raw[1];
      if (rest.length === 2) return want({ ...base, name: 'folder', folder, mail: true }, 'GET');
      if (rest[2] !== 'messages') throw E.segment(raw[2]);
      if (rest.length === 3) return want({ ...base, name: 'messages', folder, mail: true }, 'GET');
      if (rest.length === 4) return want({ ...base, name: 'message', folder, messageId: raw[3], mail: true }, 'GET');
      throw E.segment(raw[4]);
    }
    throw E.segment(raw[0]);
  }

  if (head.startsWith('applications')) {
    let application;
    let rest;
    const byAppId = APP_BY_APPID.exec(segments[0]);
    if (byAppId) {
      application = { appId: byAppId[1] ?? byAppId[2] ?? byAppId[3] };
      rest = lower.slice(1);
    } else if (head === 'applications') {
      if (segments.length === 1) return want({ name: method === 'POST' ? 'createApplication' : 'applications' }, method === 'POST' ? 'POST' : 'GET');
      application = { objectId: segments[1] };
      rest = lower.slice(2);
    } else {
      throw E.segment(segments[0]);
    }
    if (rest.length === 0 && method === 'PATCH') return { name: 'patchApplication', application };
    if (rest.length === 0) return want({ name: 'application', application }, 'GET');
    if (rest.length === 1 && rest[0] === 'addpassword') return want({ name: 'addPassword', application }, 'POST');
    if (rest.length === 1 && rest[0] === 'removepassword') return want({ name: 'removePassword', application }, 'POST');
    throw E.segment(segments[segments.length - rest.length]);
  }
  if (head.startsWith('serviceprincipals')) {
    const byAppId = SP_BY_APPID.exec(segments[0]);
    if (byAppId) {
      if (segments.length > 1) throw E.segment(segments[1]);
      return want({ name: 'servicePrincipal', sp: { appId: byAppId[1] ?? byAppId[2] ?? byAppId[3] } }, 'GET');
    }
    if (head !== 'serviceprincipals') throw E.segment(segments[0]);
    if (segments.length === 1) return want({ name: 'createServicePrincipal' }, 'POST');
    const sp = { objectId: segments[1] };
    if (segments.length === 2) return want({ name: 'servicePrincipal', sp }, 'GET');
    if (lower[2] === 'approleassignedto' && segments.length === 3) {
      if (method === 'POST') return { name: 'assignAppRole', sp };
      return want({ name: 'appRoleAssignedTo', sp }, 'GET');
    }
    throw E.segment(segments[2]);
  }
  if (head === 'oauth2permissiongrants') {
    if (segments.length > 1) throw E.segment(segments[1]);
    if (method === 'POST') return { name: 'createGrant' };
    return want({ name: 'grants' }, 'GET');
  }
  throw E.segment(segments[0]);
}

const SP_BY_APPID = /^serviceprincipals\(appid=(?:'([^']*)'|"([^"]*)"|([^)'"]*))\)$/i;

// ---- query options ---------------------------------------------------------------------------

const SUPPORTED_QUERY = new Set(['$select', '$top', '$skip', '$skiptoken', '$orderby', '$filter', '$count']);

/** Query options with or without `$` (Graph v1.0 accepts both). */
export function queryOptions(url) {
  const q = {};
  for (const [k, v] of url.searchParams) {
    const key = (k.startsWith('$') ? k : `$${k}`).toLowerCase();
    if (SUPPORTED_QUERY.has(key)) q[key] = v;
    else if (k.startsWith('$')) throw E.badRequest(`Query option '${k}' is not allowed. Make sure that it is supported by the test Graph server.`);
  }
  return q;
}

/** Validated $select for a type: canonical property names, or null when absent. */
function selectOf(q, props, type) {
  if (q.$select == null) return null;
  const out = [];
  for (const raw of q.$select.split(',').map((s) => s.trim()).filter(Boolean)) {
    const p = props.find((x) => x.toLowerCase() === raw.toLowerCase());
    if (!p) throw E.badRequest(`Could not find a property named '${raw}' on type 'microsoft.graph.${type}'.`);
    if (!out.includes(p)) out.push(p);
  }
  return out.length ? out : null;
}

function pick(obj, names, always = []) {
  const out = {};
  for (const k of always) if (k in obj) out[k] = obj[k];
  for (const k of names) if (k in obj) out[k] = obj[k];
  return out;
}

function topOf(q, { max, fallback, message }) {
  if (q.$top == null) return fallback;
  const n = Number(q.$top);
  if (!/^\d+$/.test(q.$top.trim()) || !Number.isInteger(n)) throw E.badRequest(`Invalid value '${q.$top}' for query option '$top'.`);
  if (n < 1 || n > max) throw E.badRequest(message(n));
  return n;
}

function notSupported(q, names) {
  for (const k of names) if (q[k] != null) throw E.badRequest(`Query option '${k}' is not supported by the test Graph server on this path.`);
}

const ctxUrl = (ctx, path) => `${ctx.app.base}/v1.0${path}`;
/** A nextLink as Graph writes it: `$` options unencoded, values encoded. */
const nextLink = (ctx, path, options) => `${ctx.app.base}${path}?${Object.entries(options).filter(([, v]) => v != null).map(([k, v]) => `${k}=${encodeURIComponent(v).replace(/%2C/g, ',')}`).join('&')}`;
const contextSelect = (sel) => (sel ? `(${sel.join(',')})` : '');

// ---- permissions -----------------------------------------------------------------------------

const USER_READ_ANY = ['User.ReadBasic.All', 'User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All', 'Directory.AccessAsUser.All'];
const PERM = {
  me: ['User.Read', 'User.ReadWrite', ...USER_READ_ANY],
  usersApp: ['User.Read.All', 'User.ReadWrite.All', 'User.ReadBasic.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
  usersDelegated: USER_READ_ANY,
  usersSelf: ['User.Read', 'User.ReadWrite'],
  mailReadApp: ['Mail.Read', 'Mail.ReadWrite', 'Mail.ReadBasic', 'Mail.ReadBasic.All'],
  mailReadOwn: ['Mail.Read', 'Mail.ReadWrite', 'Mail.ReadBasic'],
  mailReadShared: ['Mail.Read.Shared', 'Mail.ReadWrite.Shared', 'Mail.ReadBasic.Shared'],
  mailBodyApp: ['Mail.Read', 'Mail.ReadWrite'],
  mailBodyOwn: ['Mail.Read', 'Mail.ReadWrite'],
  mailBodyShared: ['Mail.Read.Shared', 'Mail.ReadWrite.Shared'],
  send: ['Mail.Send'],
  calendarApp: ['Calendars.Read', 'Calendars.ReadWrite', 'Calendars.ReadBasic.All'],
  calendarOwn: ['Calendars.Read', 'Calendars.ReadWrite', 'Calendars.ReadBasic'],
  calendarShared: ['Calendars.Read.Shared', 'Calendars.ReadWrite.Shared'],
  sendShared: ['Mail.Send.Shared'],
  appReadApp: ['Application.Read.All', 'Application.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'],
  appReadDelegated: ['Application.Read.All', 'Application.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All', 'Directory.AccessAsUser.All'],
  appWriteApp: ['Application.ReadWrite.All'],
  appWriteDelegated: ['Application.ReadWrite.All', 'Directory.AccessAsUser.All'],
  ownedBy: ['Application.ReadWrite.OwnedBy'],
};

const grants = (who) => (who.kind === 'app' ? who.roles : who.scopes);

// ---- target resolution (before the handler: for the log, faults and concurrency) -------------

/** The user/mailbox a route is about, without raising errors. */
export function preResolve(route, who) {
  if (!route.target) return null;
  if (route.target.me) return who.kind === 'delegated' ? userForToken(who.claims) : null;
  if (route.mail) return findMailbox(who.tid, route.target.x);
  return findUser(who.tid, route.target.x) ?? findMailbox(who.tid, route.target.x);
}

/** Every name of the target (for fault and access-denied matching), lower case. */
export function namesOf(route, target) {
  const names = [];
  if (route.target?.x) names.push(String(route.target.x).toLowerCase());
  if (route.target?.me) names.push('me');
  if (target) {
    names.push(target.props.id, target.props.userPrincipalName.toLowerCase(), ...target.props.proxyAddresses.map((p) => p.replace(/^smtp:/i, '').toLowerCase()));
  }
  return [...new Set(names)];
}

// ---- handlers --------------------------------------------------------------------------------

export async function handleRoute(ctx, route) {
  switch (route.name) {
    case 'me': return getMe(ctx);
    case 'users': return listUsers(ctx);
    case 'user': return getUser(ctx, route);
    case 'messages': return listMessages(ctx, route);
    case 'message': return getMessage(ctx, route);
    case 'folders': return listFolders(ctx, route);
    case 'folder': return getFolder(ctx, route);
    case 'sendMail': return sendMail(ctx, route);
    case 'events': return listEvents(ctx, route);
    case 'applications': return listApplications(ctx);
    case 'application': return getApplication(ctx, route);
    case 'addPassword': return addPassword(ctx, route);
    case 'removePassword': return removePassword(ctx, route);
    case 'createApplication': return createApplication(ctx);
    case 'patchApplication': return patchApplication(ctx, route);
    case 'createServicePrincipal': return createServicePrincipal(ctx);
    case 'servicePrincipal': return getServicePrincipal(ctx, route);
    case 'createGrant': return createGrant(ctx);
    case 'grants': return listGrants(ctx);
    case 'assignAppRole': return assignAppRole(ctx, route);
    case 'appRoleAssignedTo': return listAssignments(ctx, route);
    default: throw E.segment(route.name);
  }
}

function userResource(ctx, u, sel) {
  return pick(u.props, sel ?? USER_DEFAULT);
}

function getMe(ctx) {
  const { who } = ctx;
  if (who.kind === 'app') throw E.meOnlyDelegated();
  const sel = selectOf(ctx.q, USER_PROPS, 'user');
  if (!hasAny(who.scopes, PERM.me)) throw E.denied();
  const u = userForToken(who.claims);
  if (!u) throw E.notFound(who.oid);
  sendJson(ctx, 200, { '@odata.context': `${ctxUrl(ctx, '/$metadata')}#users${contextSelect(sel)}/$entity`, ...userResource(ctx, u, sel) });
}

function getUser(ctx, route) {
  const { who } = ctx;
  const x = route.target.x;
  const sel = selectOf(ctx.q, USER_PROPS, 'user');
  const app = who.kind === 'app';
  const all = app ? hasAny(who.roles, PERM.usersApp) : hasAny(who.scopes, PERM.usersDelegated);
  const selfOnly = !app && hasAny(who.scopes, PERM.usersSelf);
  if (!all && !selfOnly) throw E.denied();
  if (!x.includes('@') && !isGuid(x)) throw E.badId(x);
  const u = findUser(who.tid, x);
  if (!all) {
    const me = userForToken(who.claims);
    if (!u || !me || u !== me) throw E.denied();
  }
  if (!u) throw E.notFound(x);
  if (app && ctx.app.control.isDenied(namesOf(route, u))) throw E.raop();
  sendJson(ctx, 200, { '@odata.context': `${ctxUrl(ctx, '/$metadata')}#users${contextSelect(sel)}/$entity`, ...userResource(ctx, u, sel) });
}

function listUsers(ctx) {
  const { who, q } = ctx;
  const app = who.kind === 'app';
  const sel = selectOf(q, USER_PROPS, 'user');
  notSupported(q, ['$filter', '$orderby', '$skip', '$count']);
  if (!(app ? hasAny(who.roles, PERM.usersApp) : hasAny(who.scopes, PERM.usersDelegated))) throw E.denied();
  const top = topOf(q, { max: 999, fallback: 100, message: (n) => `Invalid page size specified: '${n}'. Must be between 1 and 999 inclusive.` });
  const tenant = TENANTS[who.tid];
  let users = tenant && !tenant.personal ? tenant.users : [];
  if (app) users = users.filter((u) => !ctx.app.control.isDenied(namesOf({}, u)));
  let skip = 0;
  if (q.$skiptoken != null) {
    const m = /^users\|(\d+)$/.exec(Buffer.from(q.$skiptoken, 'base64url').toString('utf8'));
    if (!m) throw E.badRequest(`Invalid $skiptoken value '${q.$skiptoken}'.`);
    skip = Number(m[1]);
  }
  const page = users.slice(skip, skip + top);
  const body = { '@odata.context': `${ctxUrl(ctx, '/$metadata')}#users${contextSelect(sel)}` };
  if (skip + top < users.length) {
    const token = Buffer.from(`users|${skip + top}`).toString('base64url');
    body['@odata.nextLink'] = nextLink(ctx, ctx.url.pathname, { $select: q.$select, $top: String(top), $skiptoken: token });
  }
  body.value = page.map((u) => userResource(ctx, u, sel));
  sendJson(ctx, 200, body);
}

// ---- mail ------------------------------------------------------------------------------------

/**
 * The mailbox of a mail route, after Graph's checks: permission (403 ErrorAccessDenied), unknown
 * user (404 ErrorInvalidUser), app access policy (403 RAOP), no mailbox (404). `want` picks the
 * permission: 'read' or 'send'. Returns { mailbox, bodies } (bodies: whether message bodies may
 * be returned: not with Mail.ReadBasic*).
 */
function mailTarget(ctx, route, want) {
  const { who } = ctx;
  const app = who.kind === 'app';
  if (route.target.me && app) throw E.meOnlyDelegated();
  if (app) {
    if (!hasAny(who.roles, want === 'send' ? PERM.send : PERM.mailReadApp)) throw E.mailDenied();
  }
  const me = app ? null : userForToken(who.claims);
  let mailbox;
  if (route.target.me) {
    mailbox = me;
    if (!mailbox) throw E.invalidUser(who.upn ?? who.oid);
  } else {
    mailbox = findMailbox(who.tid, route.target.x);
    if (!mailbox && me && String(route.target.x).toLowerCase() === me.props.id) mailbox = me; // a personal account by id
    if (!mailbox) throw E.invalidUser(route.target.x);
  }
  let bodies = true;
  if (app) {
    if (ctx.app.control.isDenied(namesOf(route, mailbox))) throw E.raop();
    bodies = want === 'send' || hasAny(who.roles, PERM.mailBodyApp);
  } else if (mailbox === me) {
    if (!hasAny(who.scopes, want === 'send' ? PERM.send : PERM.mailReadOwn)) throw E.mailDenied();
    bodies = want === 'send' || hasAny(who.scopes, PERM.mailBodyOwn);
  } else {
    const shared = want === 'send' ? PERM.sendShared : PERM.mailReadShared;
    if (!hasAny(who.scopes, shared)) throw E.mailDenied();
    if (!me || !mailbox.delegates.includes(me.props.userPrincipalName.toLowerCase())) {
      if (want === 'send') throw new GraphError(403, 'ErrorSendAsDenied', 'The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account., Cannot submit message.');
      throw E.mailDenied();
    }
    bodies = want === 'send' || hasAny(who.scopes, PERM.mailBodyShared);
  }
  if (!mailbox.hasMailbox) throw E.noMailbox();
  return { mailbox, bodies };
}

/**
 * GET /me/events, /users/{x}/events (and .../calendar/events): the mailbox's events after
 * Graph's checks: delegated own calendar Calendars.Read/ReadWrite/ReadBasic, another mailbox's
 * Calendars.Read(Write).Shared and being its delegate, app Calendars.Read(Write) (else 403
 * ErrorAccessDenied); $select, $top (default 10), $skip.
 */
function listEvents(ctx, route) {
  const { q, who } = ctx;
  const sel = selectOf(q, EVENT_PROPS, 'event');
  notSupported(q, ['$filter', '$orderby', '$skiptoken', '$count']);
  const top = topOf(q, { max: 1000, fallback: 10, message: (n) => `The limit of '1000' for Top query has been exceeded. The value from the incoming request is '${n}'.` });
  let skip = 0;
  if (q.$skip != null) {
    if (!/^\d+$/.test(q.$skip.trim())) throw E.badRequest(`Invalid value '${q.$skip}' for query option '$skip'.`);
    skip = Number(q.$skip);
  }
  const app = who.kind === 'app';
  if (route.target.me && app) throw E.meOnlyDelegated();
  const me = app ? null : userForToken(who.claims);
  let mailbox = route.target.me ? me : findMailbox(who.tid, route.target.x);
  if (!mailbox) throw E.invalidUser(route.target.me ? (who.upn ?? who.oid) : route.target.x);
  if (app) {
    if (!hasAny(who.roles, PERM.calendarApp)) throw E.mailDenied();
    if (ctx.app.control.isDenied(namesOf(route, mailbox))) throw E.raop();
  } else if (mailbox === me) {
    if (!hasAny(who.scopes, PERM.calendarOwn)) throw E.mailDenied();
  } else if (!hasAny(who.scopes, PERM.calendarShared) || !me || !mailbox.delegates.includes(me.props.userPrincipalName.toLowerCase())) {
    throw E.mailDenied();
  }
  if (!mailbox.hasMailbox) throw E.noMailbox();
  const all = eventsOf(mailbox);
  const page = all.slice(skip, skip + top);
  const body = { '@odata.context': `${ctxUrl(ctx, '/$metadata')}#${ownerSegment(route, mailbox)}/events${contextSelect(sel)}` };
  body.value = page.map((e) => pick(e, sel ?? EVENT_DEFAULT, ['@odata.etag', 'id']));
  if (skip + top < all.length) {
    body['@odata.nextLink'] = nextLink(ctx, ctx.url.pathname, { $select: q.$select, $top: String(top), $skip: String(skip + top) });
  }
  sendJson(ctx, 200, body);
}

function folderKey(name) {
  const k = String(name).toLowerCase();
  if (k in FOLDERS) return k;
  return null;
}

/** The folder key of a route, or all folders (null) for /messages. */
function routeFolder(route, mailbox) {
  if (route.folder == null) return null;
  const key = folderKey(route.folder);
  if (key) return key;
  const byId = Object.keys(FOLDERS).find((k) => folderId(mailbox.props.id, k) === route.folder);
  if (byId) return byId;
  throw new GraphError(400, 'ErrorInvalidIdMalformed', 'Id is malformed.');
}

function ownerSegment(route, mailbox) {
  return route.target.me ? `users('${mailbox.props.id}')` : `users('${encodeURIComponent(route.target.x)}')`;
}

function messageResource(m, sel, bodies) {
  let names = sel ?? MESSAGE_DEFAULT;
  if (!bodies) names = names.filter((n) => !MESSAGE_BODY_PROPS.includes(n));
  return pick(m, names, ['@odata.etag', 'id']);
}

function listMessages(ctx, route) {
  const { q } = ctx;
  const sel = selectOf(q, MESSAGE_PROPS, 'message');
  notSupported(q, ['$filter', '$skiptoken', '$count']);
  if (q.$orderby != null && !/^\s*receivedDateTime(\s+desc)?\s*$/i.test(q.$orderby)) {
    throw E.badRequest(`$orderby '${q.$orderby}' is not supported by the test Graph server (only receivedDateTime desc).`);
  }
  const top = topOf(q, { max: 1000, fallback: 10, message: (n) => `The limit of '1000' for Top query has been exceeded. The value from the incoming request is '${n}'.` });
  let skip = 0;
  if (q.$skip != null) {
    if (!/^\d+$/.test(q.$skip.trim())) throw E.badRequest(`Invalid value '${q.$skip}' for query option '$skip'.`);
    skip = Number(q.$skip);
  }
  const { mailbox, bodies } = mailTarget(ctx, route, 'read');
  const folder = routeFolder(route, mailbox);
  const box = ctx.app.mailboxes.of(mailbox);
  const all = (folder ? box[folder] : [...box.inbox, ...box.sentitems])
    .slice()
    .sort((a, b) => b.receivedDateTime.localeCompare(a.receivedDateTime));
  const page = all.slice(skip, skip + top);
  const path = route.folder == null ? '/messages' : `/mailFolders('${route.folder}')/messages`;
  const body = { '@odata.context': `${ctxUrl(ctx, '/$metadata')}#${ownerSegment(route, mailbox)}${path}${contextSelect(sel)}` };
  body.value = page.map((m) => messageResource(m, sel, bodies));
  if (skip + top < all.length) {
    body['@odata.nextLink'] = nextLink(ctx, ctx.url.pathname, { $select: q.$select, $orderby: q.$orderby, $top: String(top), $skip: String(skip + top) });
  }
  sendJson(ctx, 200, body);
}

function getMessage(ctx, route) {
  const sel = selectOf(ctx.q, MESSAGE_PROPS, 'message');
  const { mailbox, bodies } = mailTarget(ctx, route, 'read');
  const folder = routeFolder(route, mailbox);
  const box = ctx.app.mailboxes.of(mailbox);
  const m = (folder ? box[folder] : [...box.inbox, ...box.sentitems]).find((x) => x.id === route.messageId);
  if (!m) throw new GraphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
  sendJson(ctx, 200, { '@odata.context': `${ctxUrl(ctx, '/$metadata')}#${ownerSegment(route, mailbox)}/messages${contextSelect(sel)}/$entity`, ...messageResource(m, sel, bodies) });
}

function folderResource(mailbox, key, box) {
  return {
    id: folderId(mailbox.props.id, key),
    displayName: FOLDERS[key],
    parentFolderId: folderId(mailbox.props.id, 'msgfolderroot'),
    childFolderCount: 0,
    unreadItemCount: box[key].filter((m) => !m.isRead).length,
    totalItemCount: box[key].length,
    sizeInBytes: box[key].length * 4096,
    isHidden: false,
  };
}

function listFolders(ctx, route) {
  const { mailbox } = mailTarget(ctx, route, 'read');
  const box = ctx.app.mailboxes.of(mailbox);
  sendJson(ctx, 200, {
    '@odata.context': `${ctxUrl(ctx, '/$metadata')}#${ownerSegment(route, mailbox)}/mailFolders`,
    value: Object.keys(FOLDERS).map((k) => folderResource(mailbox, k, box)),
  });
}

function getFolder(ctx, route) {
  const { mailbox } = mailTarget(ctx, route, 'read');
  const key = routeFolder(route, mailbox);
  const box = ctx.app.mailboxes.of(mailbox);
  sendJson(ctx, 200, { '@odata.context': `${ctxUrl(ctx, '/$metadata')}#${ownerSegment(route, mailbox)}/mailFolders/$entity`, ...folderResource(mailbox, key, box) });
}

// ---- sendMail --------------------------------------------------------------------------------

const MESSAGE_WRITABLE = ['subject', 'body', 'toRecipients', 'ccRecipients', 'bccRecipients', 'replyTo', 'from', 'sender', 'importance', 'attachments', 'internetMessageHeaders', 'isDeliveryReceiptRequested', 'isReadReceiptRequested', 'categories', 'flag', 'uniqueBody', 'id', 'conversationId', 'inferenceClassification', 'mentions', 'singleValueExtendedProperties', 'multiValueExtendedProperties'];
const ADDRESS = /^[^\s@<>()",;:]+@[^\s@<>()",;:]+\.[^\s@<>()",;:]+$/;

/** JSON body of a POST: throws Graph's errors for empty, non-JSON or non-object payloads. */
export function jsonPayload(ctx, { allowEmpty = false } = {}) {
  const text = ctx.bodyText ?? '';
  if (!text.trim()) {
    if (allowEmpty) return {};
    throw E.badRequest('Empty Payload. JSON content expected.');
  }
  const type = String(ctx.req.headers['content-type'] ?? '');
  let body;
  try {
    if (!/json/i.test(type)) throw new Error('content type');
    body = JSON.parse(text);
  } catch {
    throw E.badRequest('Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw E.bodyRead(`An unexpected '${Array.isArray(body) ? 'StartArray' : 'PrimitiveValue'}' node was found when reading from the JSON reader. A 'StartObject' node was expected.`);
  }
  return body;
}

function recipients(message, key) {
  const v = message[key];
  if (v == null) return [];
  if (!Array.isArray(v)) throw E.bodyRead(`An unexpected '${typeof v === 'object' ? 'StartObject' : 'PrimitiveValue'}' node was found when reading from the JSON reader. A 'StartArray' node was expected.`);
  return v.map((r) => {
    if (typeof r !== 'object' || r === null) throw E.bodyRead("An unexpected 'PrimitiveValue' node was found when reading from the JSON reader. A 'StartObject' node was expected.");
    for (const k of Object.keys(r)) if (k !== 'emailAddress' && !k.startsWith('@odata')) throw E.bodyRead(`The property '${k}' does not exist on type 'microsoft.graph.recipient'. Make sure to only use property names that are defined by the type or mark the type as open type.`);
    const e = r.emailAddress ?? {};
    const address = typeof e.address === 'string' ? e.address.trim() : '';
    if (!ADDRESS.test(address)) {
      throw new GraphError(400, 'ErrorInvalidRecipients', `At least one recipient is not valid., Recipient '${address}' is not resolved. All recipients must be resolved before a message can be submitted.`);
    }
    return { emailAddress: { name: typeof e.name === 'string' ? e.name : address, address } };
  });
}

async function sendMail(ctx, route) {
  const { mailbox } = mailTarget(ctx, route, 'send');
  const body = jsonPayload(ctx);
  for (const k of Object.keys(body)) {
    if (!['message', 'saveToSentItems'].includes(k)) throw E.bodyRead(`The parameter '${k}' in the request payload is not a valid parameter for the operation 'sendMail'.`);
  }
  const { message } = body;
  if (message == null) throw new GraphError(400, 'ErrorInvalidParameter', "The value of the parameter 'Message' is empty.");
  if (typeof message !== 'object' || Array.isArray(message)) throw E.bodyRead("An unexpected 'PrimitiveValue' node was found when reading from the JSON reader. A 'StartObject' node was expected.");
  for (const k of Object.keys(message)) {
    if (!MESSAGE_WRITABLE.includes(k) && !k.startsWith('@odata')) throw E.bodyRead(`The property '${k}' does not exist on type 'microsoft.graph.message'. Make sure to only use property names that are defined by the type or mark the type as open type.`);
  }
  const save = body.saveToSentItems ?? true;
  if (typeof save !== 'boolean') throw E.bodyRead(`Cannot convert the literal '${save}' to the expected type 'Edm.Boolean'.`);
  let contentType = 'text';
  let content = '';
  if (message.body != null) {
    if (typeof message.body !== 'object') throw E.bodyRead("An unexpected 'PrimitiveValue' node was found when reading from the JSON reader. A 'StartObject' node was expected.");
    const ct = message.body.contentType ?? 'text';
    if (typeof ct !== 'string' || !['text', 'html'].includes(ct.toLowerCase())) throw E.bodyRead(`Cannot convert the literal '${ct}' to the expected type 'microsoft.graph.bodyType'.`);
    contentType = ct.toLowerCase();
    content = message.body.content == null ? '' : String(message.body.content);
  }
  const to = recipients(message, 'toRecipients');
  const cc = recipients(message, 'ccRecipients');
  const bcc = recipients(message, 'bccRecipients');
  const replyTo = recipients(message, 'replyTo');
  if (to.length + cc.length + bcc.length === 0) {
    throw new GraphError(400, 'ErrorInvalidRecipients', "At least one recipient is not valid., A message can't be sent because it contains no recipients.");
  }
  if (message.importance != null && !['low', 'normal', 'high'].includes(String(message.importance).toLowerCase())) {
    throw E.bodyRead(`Cannot convert the literal '${message.importance}' to the expected type 'microsoft.graph.importance'.`);
  }
  const subject = message.subject == null ? '' : String(message.subject);
  const from = { emailAddress: { name: mailbox.props.displayName, address: primaryAddress(mailbox) } };
  const now = new Date();
  const seed = randomUUID();
  const common = {
    subject, content, contentType, from, to, cc, bcc: [], replyTo, received: now, importance: String(message.importance ?? 'normal').toLowerCase(),
    hasAttachments: Array.isArray(message.attachments) && message.attachments.length > 0,
  };
  const boxes = ctx.app.mailboxes;
  if (save) boxes.of(mailbox).sentitems.unshift(makeMessage({ ...common, bcc, id: messageId(`${seed}|sent`), owner: mailbox, folder: 'sentitems', isRead: true }));
  const delivered = [];
  for (const r of [...to, ...cc, ...bcc]) {
    const rcpt = mailboxByAddress(r.emailAddress.address);
    if (!rcpt || !rcpt.hasMailbox || delivered.includes(rcpt)) continue;
    delivered.push(rcpt);
    boxes.of(rcpt).inbox.unshift(makeMessage({ ...common, id: messageId(`${seed}|${rcpt.props.id}`), owner: rcpt, folder: 'inbox' }));
  }
  ctx.app.control.sent.push({
    t: now.toISOString(),
    request_id: ctx.requestId,
    mailbox: primaryAddress(mailbox),
    app_id: ctx.who.appId,
    auth: ctx.who.kind,
    user: ctx.who.kind === 'delegated' ? ctx.who.upn : null,
    saveToSentItems: save,
    delivered_to: delivered.map(primaryAddress),
    message: { subject, body: { contentType, content }, toRecipients: to, ccRecipients: cc, bccRecipients: bcc, replyTo, from },
  });
  sendEmpty(ctx, 202);
}

// ---- applications ----------------------------------------------------------------------------

export async function idpControl(ctx, method, path, body) {
  let r;
  try {
    r = await fetch(`${ctx.app.idp}/_control${path}`, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(10000),
    });
  } catch {
    throw new GraphError(503, 'ServiceNotAvailable', 'The service is currently unavailable. (The test identity provider, which holds the app registrations\' secrets, did not answer.)', { 'retry-after': '5' });
  }
  const text = await r.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch { /* not JSON */ }
  return { status: r.status, json };
}

const passwordCredential = (s, secretText = null) => ({
  customKeyIdentifier: null,
  displayName: s.displayName ?? null,
  endDateTime: s.endDateTime,
  hint: s.hint,
  keyId: s.keyId,
  secretText,
  startDateTime: s.startDateTime,
});

/** The application of a route in the caller's tenant, after the permission check. */
function applicationTarget(ctx, route, write) {
  const { who } = ctx;
  const app = who.kind === 'app';
  const list = applications(who.tid);
  const { appId, objectId } = route.application;
  if (objectId != null && !isGuid(objectId)) throw E.badId(objectId);
  const found = list.find((a) => (appId != null ? a.props.appId.toLowerCase() === String(appId).toLowerCase() : a.props.id === objectId.toLowerCase()));
  const broad = app
    ? hasAny(who.roles, write ? PERM.appWriteApp : [...PERM.appReadApp, ...PERM.appWriteApp])
    : hasAny(who.scopes, write ? PERM.appWriteDelegated : PERM.appReadDelegated);
  const ownedBy = app && hasAny(who.roles, PERM.ownedBy);
  const owns = ownedBy && (found ? found.props.appId === who.appId : String(appId ?? '').toLowerCase() === who.appId);
  if (!broad && !owns) throw E.denied();
  if (!found) throw E.notFound(appId ?? objectId);
  return found;
}

async function getApplication(ctx, route) {
  const sel = selectOf(ctx.q, APPLICATION_PROPS, 'application');
  const a = applicationTarget(ctx, route, false);
  const r = await idpControl(ctx, 'GET', `/clients/${encodeURIComponent(a.props.appId)}/secrets`);
  if (r.status !== 200 || !Array.isArray(r.json)) throw new GraphError(500, 'InternalServerError', 'The test identity provider did not list the secrets.');
  const full = { ...a.props, passwordCredentials: r.json.map((s) => passwordCredential(s)) };
  sendJson(ctx, 200, { '@odata.context': `${ctxUrl(ctx, '/$metadata')}#applications${contextSelect(sel)}/$entity`, ...pick(full, sel ?? APPLICATION_DEFAULT) });
}

function listApplications(ctx) {
  const { who, q } = ctx;
  const app = who.kind === 'app';
  notSupported(q, ['$orderby', '$skip', '$skiptoken', '$count']);
  const sel = selectOf(q, APPLICATION_PROPS.filter((p) => p !== 'passwordCredentials'), 'application');
  let list = applications(who.tid);
  const broad = app ? hasAny(who.roles, [...PERM.appReadApp, ...PERM.appWriteApp]) : hasAny(who.scopes, PERM.appReadDelegated);
  if (!broad) {
    if (!(app && hasAny(who.roles, PERM.ownedBy))) throw E.denied();
    list = list.filter((a) => a.props.appId === who.appId);
  }
  if (q.$filter != null) {
    const m = /^\s*appId\s+eq\s+'([^']*)'\s*$/i.exec(q.$filter);
    if (!m) throw E.badRequest(`$filter '${q.$filter}' is not supported by the test Graph server (only appId eq '...').`);
    list = list.filter((a) => a.props.appId.toLowerCase() === m[1].toLowerCase());
  }
  const top = topOf(q, { max: 999, fallback: 100, message: (n) => `Invalid page size specified: '${n}'. Must be between 1 and 999 inclusive.` });
  const fields = (sel ?? APPLICATION_DEFAULT).filter((p) => p !== 'passwordCredentials');
  sendJson(ctx, 200, {
    '@odata.context': `${ctxUrl(ctx, '/$metadata')}#applications${contextSelect(sel)}`,
    value: list.slice(0, top).map((a) => pick(a.props, fields)),
  });
}

const TWO_YEARS_MS = 2 * 365 * 86400_000;

async function addPassword(ctx, route) {
  const a = applicationTarget(ctx, route, true);
  const body = jsonPayload(ctx, { allowEmpty: true });
  for (const k of Object.keys(body)) if (k !== 'passwordCredential') throw E.bodyRead(`The parameter '${k}' in the request payload is not a valid parameter for the operation 'addPassword'.`);
  const pc = body.passwordCredential ?? {};
  if (typeof pc !== 'object' || Array.isArray(pc)) throw E.bodyRead("An unexpected 'PrimitiveValue' node was found when reading from the JSON reader. A 'StartObject' node was expected.");
  const allowed = ['displayName', 'endDateTime', 'startDateTime', 'customKeyIdentifier', 'hint', 'keyId', 'secretText'];
  for (const k of Object.keys(pc)) if (!allowed.includes(k) && !k.startsWith('@odata')) throw E.bodyRead(`The property '${k}' does not exist on type 'microsoft.graph.passwordCredential'. Make sure to only use property names that are defined by the type or mark the type as open type.`);
  const date = (name) => {
    const v = pc[name];
    if (v == null) return null;
    const t = typeof v === 'string' ? Date.parse(v) : NaN;
    if (Number.isNaN(t)) throw E.bodyRead(`Cannot convert the literal '${v}' to the expected type 'Edm.DateTimeOffset'.`);
    return t;
  };
  const start = date('startDateTime') ?? Date.now();
  const end = date('endDateTime') ?? start + TWO_YEARS_MS;
  if (end <= start) throw new GraphError(400, 'Request_BadRequest', "Invalid value specified for property 'endDateTime' of resource 'PasswordCredential'.");
  const policy = ctx.app.admin.settingsOf(ctx.who.tid);
  if (policy.max_password_lifetime_days != null && end - start > policy.max_password_lifetime_days * 86400_000 + 60_000) {
    // The tenant's app management policy (passwordCredentials restriction passwordLifetime).
    const id = policy.policy_id ?? guidFrom(`appManagementPolicy|${ctx.who.tid}`);
    const message = `Credential lifetime exceeds the max value allowed as per assigned policy '${id}'.`;
    const err = new GraphError(400, 'CredentialInvalidLifetimeAsPerAppPolicy', message);
    err.details = [{ code: 'InvalidKeyEndDate', message, target: 'EndDate' }];
    throw err;
  }
  const displayName = pc.displayName == null ? null : String(pc.displayName);
  const r = await idpControl(ctx, 'POST', `/clients/${encodeURIComponent(a.props.appId)}/secrets`, { displayName, end: new Date(end).toISOString() });
  if (r.status !== 201 && r.status !== 200) throw new GraphError(500, 'InternalServerError', 'The test identity provider did not add the secret.');
  sendJson(ctx, 200, { '@odata.context': `${ctxUrl(ctx, '/$metadata')}#microsoft.graph.passwordCredential`, ...passwordCredential(r.json, r.json.value) });
}

async function removePassword(ctx, route) {
  const a = applicationTarget(ctx, route, true);
  const body = jsonPayload(ctx);
  for (const k of Object.keys(body)) if (k !== 'keyId') throw E.bodyRead(`The parameter '${k}' in the request payload is not a valid parameter for the operation 'removePassword'.`);
  if (typeof body.keyId !== 'string' || !isGuid(body.keyId)) throw E.bodyRead(`Cannot convert the literal '${body.keyId ?? ''}' to the expected type 'Edm.Guid'.`);
  const r = await idpControl(ctx, 'DELETE', `/clients/${encodeURIComponent(a.props.appId)}/secrets/${encodeURIComponent(body.keyId.toLowerCase())}`);
  if (r.status === 404) throw new GraphError(400, 'Request_BadRequest', `No password credential found with keyId '${body.keyId}'.`);
  if (r.status !== 200 && r.status !== 204) throw new GraphError(500, 'InternalServerError', 'The test identity provider did not remove the secret.');
  sendEmpty(ctx, 204);
}

// ---- creating app registrations (admin.mjs holds the state) ---------------------------------

const APP_CREATE_DELEGATED = ['Application.ReadWrite.All', 'Directory.AccessAsUser.All'];
const GRANT_WRITE = ['DelegatedPermissionGrant.ReadWrite.All', 'Directory.ReadWrite.All', 'Directory.AccessAsUser.All'];
const ROLE_WRITE = ['AppRoleAssignment.ReadWrite.All', 'Directory.AccessAsUser.All'];

/** May the caller create applications? (the scope, then "Users can register applications"). */
function mayCreateApplications(ctx) {
  const { who } = ctx;
  if (who.kind === 'app') {
    if (!hasAny(who.roles, [...PERM.appWriteApp, ...PERM.ownedBy])) throw E.denied();
    return;
  }
  if (!hasAny(who.scopes, APP_CREATE_DELEGATED)) throw E.denied();
  // A personal account has no directory to create the app in (our answer: see README).
  if (isPersonal(who)) throw E.denied();
  if (!isAdmin(who) && !ctx.app.admin.settingsOf(who.tid).users_can_register_apps) throw E.denied();
}

const applicationResource = (ctx, a) => ({ '@odata.context': `${ctxUrl(ctx, '/$metadata')}#applications/$entity`, ...a.props, passwordCredentials: a.props.passwordCredentials ?? [] });

/** The identity provider's client for an application object (redirect URIs of both platforms). */
function idpClient(tid, props) {
  const web = props.web?.redirectUris ?? [];
  const pub = props.publicClient?.redirectUris ?? [];
  return {
    client_id: props.appId,
    name: props.displayName,
    // A Web app authenticates with a secret; a desktop app (public client flows allowed) without.
    confidential: web.length > 0 && !props.isFallbackPublicClient,
    sign_in_audience: props.signInAudience,
    home_tenant: tid,
    redirect_uris: [...web, ...pub],
  };
}

async function createApplication(ctx) {
  mayCreateApplications(ctx);
  const body = jsonPayload(ctx);
  const fields = applicationFields(E, GraphError, body, { create: true });
  const tid = ctx.who.tid;
  const props = {
    id: newId(),
    appId: newId(),
    displayName: fields.displayName,
    signInAudience: fields.signInAudience ?? 'AzureADMyOrg',
    createdDateTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    publisherDomain: TENANTS[tid]?.domain ?? null,
    keyCredentials: [],
    identifierUris: [],
    requiredResourceAccess: fields.requiredResourceAccess ?? [],
    web: fields.web ?? { redirectUris: [], implicitGrantSettings: { enableAccessTokenIssuance: false, enableIdTokenIssuance: false } },
    publicClient: fields.publicClient ?? { redirectUris: [] },
    isFallbackPublicClient: fields.isFallbackPublicClient ?? false,
    tags: fields.tags ?? [],
    notes: fields.notes ?? null,
    description: fields.description ?? null,
    deletedDateTime: null,
  };
  // The identity provider learns the app at once, but answers AADSTS700016 for it until the
  // replication delay set through /_control/replication has passed.
  const r = await idpControl(ctx, 'POST', '/clients', { ...idpClient(tid, props), available_after_ms: ctx.app.admin.replicationDelayMs });
  if (r.status !== 201) throw new GraphError(500, 'InternalServerError', `The test identity provider did not register the app: ${JSON.stringify(r.json)}`);
  createdApps.push({ tid, client: null, created: true, props });
  sendJson(ctx, 201, applicationResource(ctx, { props }));
}

function createdApplication(ctx, route) {
  const { objectId } = route.application;
  if (objectId == null) throw E.badRequest('The test Graph server changes applications by object id only.');
  if (!isGuid(objectId)) throw E.badId(objectId);
  const a = createdApps.find((x) => x.tid === ctx.who.tid && x.props.id === objectId.toLowerCase());
  if (!a) {
    if (applications(ctx.who.tid).some((x) => x.props.id === objectId.toLowerCase())) throw E.badRequest('The test Graph server does not change the fixture applications.');
    throw E.notFound(objectId);
  }
  return a;
}

async function patchApplication(ctx, route) {
  mayCreateApplications(ctx);
  const a = createdApplication(ctx, route);
  const fields = applicationFields(E, GraphError, jsonPayload(ctx), { create: false });
  Object.assign(a.props, fields);
  await idpControl(ctx, 'PATCH', `/clients/${encodeURIComponent(a.props.appId)}`, (({ client_id: _, home_tenant: __, ...rest }) => rest)(idpClient(a.tid, a.props)));
  sendEmpty(ctx, 204);
}

const spResource = (ctx, sp) => ({ '@odata.context': `${ctxUrl(ctx, '/$metadata')}#servicePrincipals/$entity`, ...sp });

async function createServicePrincipal(ctx) {
  const { who } = ctx;
  if (who.kind === 'app' ? !hasAny(who.roles, PERM.appWriteApp) : !hasAny(who.scopes, APP_CREATE_DELEGATED)) throw E.denied();
  if (isPersonal(who)) throw E.denied();
  const body = jsonPayload(ctx);
  for (const k of Object.keys(body)) if (!['appId', 'tags', 'accountEnabled'].includes(k) && !k.startsWith('@odata')) throw E.bodyRead(`The property '${k}' does not exist on type 'microsoft.graph.servicePrincipal'. Make sure to only use property names that are defined by the type or mark the type as open type.`);
  if (typeof body.appId !== 'string' || !isGuid(body.appId)) throw new GraphError(400, 'Request_BadRequest', "Property 'appId' is required and must be a GUID.");
  const appId = body.appId.toLowerCase();
  const a = applications(who.tid).find((x) => x.props.appId.toLowerCase() === appId);
  if (!a) throw new GraphError(400, 'Request_BadRequest', `The appId '${body.appId}' of the service principal does not reference a valid application object.`);
  if (ctx.app.admin.sps.some((sp) => sp.tid === who.tid && sp.props.appId === appId) || !a.created) {
    throw new GraphError(409, 'Request_MultipleObjectsWithSameKeyValue', 'The service principal cannot be created, updated, or restored because the service principal name {0} is already in use.');
  }
  const props = {
    id: newId(), appId, displayName: a.props.displayName, servicePrincipalType: 'Application', accountEnabled: true,
    appOwnerOrganizationId: who.tid, signInAudience: a.props.signInAudience, appRoles: [], tags: [],
  };
  ctx.app.admin.sps.push({ tid: who.tid, props });
  // The service principal lets the app get app-only tokens in its tenant (no roles until assigned).
  await idpControl(ctx, 'POST', `/clients/${encodeURIComponent(appId)}/consent`, { tenant: who.tid, consented: true });
  sendJson(ctx, 201, spResource(ctx, props));
}

/** A service principal of the caller's tenant: Graph's own, or one created here. */
function findServicePrincipal(ctx, ref) {
  const tid = ctx.who.tid;
  const graph = ctx.app.admin.graphServicePrincipal(tid);
  if (ref.appId != null) {
    const appId = String(ref.appId).toLowerCase();
    if (appId === GRAPH_APP_ID) return graph;
    return ctx.app.admin.sps.find((sp) => sp.tid === tid && sp.props.appId === appId)?.props ?? null;
  }
  if (!isGuid(ref.objectId)) throw E.badId(ref.objectId);
  const id = ref.objectId.toLowerCase();
  if (id === graph.id) return graph;
  return ctx.app.admin.sps.find((sp) => sp.tid === tid && sp.props.id === id)?.props ?? null;
}

function getServicePrincipal(ctx, route) {
  const { who } = ctx;
  const read = [...PERM.appReadDelegated, ...APP_CREATE_DELEGATED, ...GRANT_WRITE, ...ROLE_WRITE];
  if (who.kind === 'app' ? !hasAny(who.roles, [...PERM.appReadApp, ...PERM.appWriteApp]) : !hasAny(who.scopes, read)) throw E.denied();
  const sp = findServicePrincipal(ctx, route.sp);
  if (!sp) throw E.notFound(route.sp.appId ?? route.sp.objectId);
  sendJson(ctx, 200, spResource(ctx, sp));
}

/** Consent for the whole organisation needs an administrator's role as well as the scope. */
function mayConsent(ctx, scopes) {
  const { who } = ctx;
  if (who.kind === 'app') throw E.denied();
  if (!hasAny(who.scopes, scopes)) throw E.denied();
  if (!isAdmin(who)) throw E.denied();
}

async function createGrant(ctx) {
  mayConsent(ctx, GRANT_WRITE);
  const body = jsonPayload(ctx);
  const allowed = ['clientId', 'consentType', 'principalId', 'resourceId', 'scope', 'expiryTime', 'startTime'];
  for (const k of Object.keys(body)) if (!allowed.includes(k) && !k.startsWith('@odata')) throw E.bodyRead(`The property '${k}' does not exist on type 'microsoft.graph.oAuth2PermissionGrant'. Make sure to only use property names that are defined by the type or mark the type as open type.`);
  for (const k of ['clientId', 'resourceId']) {
    if (typeof body[k] !== 'string' || !isGuid(body[k])) throw new GraphError(400, 'Request_BadRequest', `Invalid value specified for property '${k}' of resource 'OAuth2PermissionGrant'.`);
  }
  if (!['AllPrincipals', 'Principal'].includes(body.consentType)) throw new GraphError(400, 'Request_BadRequest', "Invalid value specified for property 'consentType' of resource 'OAuth2PermissionGrant'.");
  if (body.consentType === 'Principal' && !isGuid(String(body.principalId ?? ''))) throw new GraphError(400, 'Request_BadRequest', "Property 'principalId' is required when consentType is 'Principal'.");
  if (typeof body.scope !== 'string' || !body.scope.trim()) throw new GraphError(400, 'Request_BadRequest', "Property 'scope' is required and cannot be empty.");
  const client = findServicePrincipal(ctx, { objectId: body.clientId });
  if (!client) throw E.notFound(body.clientId);
  const resource = findServicePrincipal(ctx, { objectId: body.resourceId });
  if (!resource) throw E.notFound(body.resourceId);
  const tid = ctx.who.tid;
  if (ctx.app.admin.grants.some((g) => g.tid === tid && g.clientId === client.id && g.resourceId === resource.id && g.consentType === body.consentType && (g.principalId ?? null) === (body.principalId ?? null))) {
    throw new GraphError(409, 'Request_MultipleObjectsWithSameKeyValue', 'Permission entry already exists.');
  }
  const grant = { id: guidFrom(`grant|${client.id}|${resource.id}|${body.principalId ?? 'all'}`), clientId: client.id, consentType: body.consentType, principalId: body.principalId ?? null, resourceId: resource.id, scope: body.scope };
  ctx.app.admin.grants.push({ tid, ...grant });
  sendJson(ctx, 201, { '@odata.context': `${ctxUrl(ctx, '/$metadata')}#oauth2PermissionGrants/$entity`, ...grant });
}

function listGrants(ctx) {
  const { who } = ctx;
  if (who.kind === 'app' ? !hasAny(who.roles, ['Directory.Read.All', 'DelegatedPermissionGrant.ReadWrite.All']) : !hasAny(who.scopes, [...GRANT_WRITE, 'Directory.Read.All'])) throw E.denied();
  const value = ctx.app.admin.grants.filter((g) => g.tid === who.tid).map(({ tid: _, ...g }) => g);
  sendJson(ctx, 200, { '@odata.context': `${ctxUrl(ctx, '/$metadata')}#oauth2PermissionGrants`, value });
}

async function assignAppRole(ctx, route) {
  mayConsent(ctx, ROLE_WRITE);
  const resource = findServicePrincipal(ctx, route.sp);
  if (!resource) throw E.notFound(route.sp.objectId);
  const body = jsonPayload(ctx);
  for (const k of Object.keys(body)) if (!['principalId', 'resourceId', 'appRoleId'].includes(k) && !k.startsWith('@odata')) throw E.bodyRead(`The property '${k}' does not exist on type 'microsoft.graph.appRoleAssignment'. Make sure to only use property names that are defined by the type or mark the type as open type.`);
  for (const k of ['principalId', 'resourceId', 'appRoleId']) {
    if (typeof body[k] !== 'string' || !isGuid(body[k])) throw new GraphError(400, 'Request_BadRequest', `Invalid value specified for property '${k}' of resource 'AppRoleAssignment'.`);
  }
  if (body.resourceId.toLowerCase() !== resource.id) throw new GraphError(400, 'Request_BadRequest', 'The resourceId must be the service principal in the request path.');
  const role = (resource.appRoles ?? []).find((r) => r.id === body.appRoleId.toLowerCase());
  if (!role) throw new GraphError(400, 'Request_BadRequest', 'Permission being assigned was not found on application');
  const principal = findServicePrincipal(ctx, { objectId: body.principalId });
  if (!principal) throw E.notFound(body.principalId);
  const tid = ctx.who.tid;
  if (ctx.app.admin.assignments.some((x) => x.tid === tid && x.principalId === principal.id && x.appRoleId === role.id)) {
    throw new GraphError(409, 'Request_MultipleObjectsWithSameKeyValue', 'Permission being assigned already exists on the object');
  }
  const assignment = {
    id: newId(), appRoleId: role.id, createdDateTime: new Date().toISOString(), principalDisplayName: principal.displayName, principalId: principal.id,
    principalType: 'ServicePrincipal', resourceDisplayName: resource.displayName, resourceId: resource.id,
  };
  ctx.app.admin.assignments.push({ tid, ...assignment });
  // The app's app-only tokens now carry the role.
  const roles = ctx.app.admin.assignments.filter((x) => x.tid === tid && x.principalId === principal.id && x.resourceId === resource.id)
    .map((x) => resource.appRoles.find((r) => r.id === x.appRoleId)?.value).filter(Boolean);
  await idpControl(ctx, 'POST', `/clients/${encodeURIComponent(principal.appId)}/roles`, { tenant: tid, roles });
  sendJson(ctx, 201, { '@odata.context': `${ctxUrl(ctx, '/$metadata')}#servicePrincipals('${resource.id}')/appRoleAssignedTo/$entity`, ...assignment });
}

function listAssignments(ctx, route) {
  const { who } = ctx;
  if (who.kind === 'app' ? !hasAny(who.roles, ['Application.Read.All', 'Directory.Read.All']) : !hasAny(who.scopes, [...ROLE_WRITE, 'Application.Read.All', 'Directory.Read.All', 'Application.ReadWrite.All'])) throw E.denied();
  const resource = findServicePrincipal(ctx, route.sp);
  if (!resource) throw E.notFound(route.sp.objectId);
  const value = ctx.app.admin.assignments.filter((x) => x.tid === who.tid && x.resourceId === resource.id).map(({ tid: _, ...x }) => x);
  sendJson(ctx, 200, { '@odata.context': `${ctxUrl(ctx, '/$metadata')}#servicePrincipals('${resource.id}')/appRoleAssignedTo`, value });
}
