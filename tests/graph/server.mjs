#!/usr/bin/env node
// A small stand-in for Microsoft Graph (v1.0) for tests: the endpoints the app calls, Graph's
// error shapes, and bearer tokens checked against the test identity provider (tests/idp).
//
//   node tests/graph/server.mjs --idp http://127.0.0.1:NNNN [--port N] [--host 127.0.0.1]
//
// Prints one line to stdout when listening: {"ready":true,"port":N,"base":"http://127.0.0.1:N"}.
// Everything else goes to stderr. See README.md for the directory, endpoints and control API.
console.log = console.info = (...args) => console.error(...args);

import { Admin } from './admin.mjs';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import { TokenValidator, caller } from './auth.mjs';
import { Control, handleControl } from './control.mjs';
import { Mailboxes, primaryAddress } from './directory.mjs';
import { GraphError, errors, handleRoute, namesOf, parseRoute, preResolve, queryOptions, sendError } from './graph.mjs';

// ---- options ---------------------------------------------------------------------------------

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    idp: { type: 'string', default: process.env.GRAPH_IDP ?? '' },
  },
});

const port = Number(args.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number, got '${args.port}'`);
  process.exit(2);
}
if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(args.host)) {
  console.error(`--host must be a loopback address (127.x.x.x), got '${args.host}'`);
  process.exit(2);
}
let idp;
try {
  idp = new URL(args.idp);
  if (!/^https?:$/.test(idp.protocol)) throw new Error('not http');
} catch {
  console.error(`--idp must be the test identity provider's base URL (http://127.0.0.1:N), got '${args.idp}'`);
  process.exit(2);
}

const app = {
  base: null,
  idp: idp.href.replace(/\/+$/, ''),
  control: new Control(),
  admin: new Admin(),
  mailboxes: new Mailboxes(),
  validator: null,
};
app.validator = new TokenValidator(app.idp, (m) => console.error(m));

// ---- HTTP ------------------------------------------------------------------------------------

const MAX_BODY = 4 * 1024 * 1024;

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new GraphError(413, 'RequestEntityTooLarge', 'The request is larger than the 4 MB Graph accepts.'));
        req.resume();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const GUIDISH = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function faultError(fault, route) {
  const headers = fault.retry_after != null ? { 'retry-after': String(fault.retry_after) } : {};
  const mail = !!route?.mail;
  const table = {
    429: ['TooManyRequests', mail ? 'Application is over its MailboxConcurrency limit.' : 'Too many requests'],
    500: ['InternalServerError', 'An internal server error occurred.'],
    503: ['ServiceNotAvailable', 'The service is currently unavailable. Please try again later.'],
    504: ['GatewayTimeout', 'The gateway did not receive a response from the upstream service in time.'],
    403: mail ? ['ErrorAccessDenied', 'Access is denied. Check credentials and try again.'] : ['Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'],
  };
  const [code, message] = table[fault.status];
  return new GraphError(fault.status, fault.code ?? code, fault.message ?? message, headers);
}

/** A fault that is not a Graph error: a dropped or stalled connection, or a broken answer. */
function rawFault(req, res, fault) {
  switch (fault.mode) {
    case 'hang':
      return undefined; // never answered (closed when the server stops)
    case 'drop':
      req.socket.destroy();
      return undefined;
    case 'truncated': {
      const body = JSON.stringify({ '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#users/$entity', id: randomUUID(), mail: 'x'.repeat(64) });
      res.writeHead(200, { 'content-type': 'application/json;odata.metadata=minimal;charset=utf-8', 'content-length': String(Buffer.byteLength(body)) });
      res.write(body.slice(0, Math.floor(body.length / 2)));
      setTimeout(() => req.socket.destroy(), 20);
      return undefined;
    }
    case 'malformed':
      res.writeHead(200, { 'content-type': 'application/json;odata.metadata=minimal;charset=utf-8' });
      return res.end('{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users/$entity","id":');
    case 'html':
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end('<!DOCTYPE html><html><head><title>Sign in to the network</title></head><body><p>Please accept the terms of use.</p></body></html>\n');
    case 'huge': {
      const head = '{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users/$entity","padding":"';
      const tail = '"}';
      res.writeHead(200, { 'content-type': 'application/json;odata.metadata=minimal;charset=utf-8', 'content-length': String(fault.bytes) });
      res.on('error', () => {});
      res.write(head);
      let left = fault.bytes - head.length - tail.length;
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
      return pump();
    }
    default:
      return undefined;
  }
}

async function handleGraph(req, res, url) {
  const sentId = req.headers['client-request-id'];
  const ctx = {
    app, req, res, url,
    requestId: randomUUID(),
    clientRequestId: typeof sentId === 'string' && sentId.length <= 200 ? sentId : randomUUID(),
  };
  ctx.entry = app.control.logStart({
    method: req.method, path: url.pathname, query: url.search ? decodeURIComponent(url.search.slice(1).replace(/\+/g, ' ')) : '',
    request_id: ctx.requestId, client_request_id: typeof sentId === 'string' ? sentId : null,
  });
  if (sentId && !GUIDISH.test(String(sentId))) console.error(`note: client-request-id '${String(sentId).slice(0, 60)}' is not a GUID (Graph expects one)`);
  // When the answer's headers left: what a client waits from when it honours Retry-After. (t_end,
  // when the response closed, can come later than the client read the answer.)
  const writeHead = res.writeHead;
  res.writeHead = function (...args) {
    ctx.entry.t_sent ??= Date.now();
    return writeHead.apply(this, args);
  };
  let release = () => {};
  res.on('close', () => {
    ctx.entry.t_end = Date.now();
    release();
  });
  try {
    // The body first, so that an early answer never leaves it unread.
    ctx.bodyText = ['POST', 'PUT', 'PATCH'].includes(req.method) ? await readBody(req) : '';

    // Version segment: /v1.0 (and /beta, served the same).
    const segments = url.pathname.split('/').filter(Boolean).map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
    const version = (segments.shift() ?? '').toLowerCase();
    if (version !== 'v1.0' && version !== 'beta') throw errors.badRequest(`Invalid version: ${version}`);

    // The token.
    const v = await app.validator.validate(req.headers.authorization);
    ctx.entry.token_check = v.via;
    if (v.error) throw new GraphError(401, 'InvalidAuthenticationToken', v.error);
    const who = { ...caller(v.claims), claims: v.claims };
    ctx.who = who;
    Object.assign(ctx.entry, {
      auth: who.kind, app_id: who.appId, tenant: who.tid, token_cached: !!v.cached,
      user: who.kind === 'delegated' ? who.upn : null,
    });
    console.error(`${req.method} ${url.pathname} ${who.kind} app=${who.appId} token ${v.cached ? 'from cache' : `checked (${v.via})`}`);

    // The route and the mailbox/user it is about.
    const route = parseRoute(segments, req.method);
    ctx.route = route;
    ctx.q = queryOptions(url);
    const target = preResolve(route, who);
    if (route.target) ctx.entry.mailbox = route.target.me ? 'me' : (target ? primaryAddress(target) : String(route.target.x).toLowerCase());
    const names = namesOf(route, target);

    // Concurrency per app and mailbox (Outlook's limit, mail endpoints only).
    if (route.target) {
      const mailboxKey = target?.props.id ?? String(route.target.x ?? 'me').toLowerCase();
      const [n, done] = app.control.enter(`${route.mail ? 'mail' : 'directory'}|${who.appId}|${mailboxKey}`);
      release = done;
      ctx.entry.in_flight = n;
      const { mailbox_concurrency: limit, retry_after: retryAfter } = app.control.limits;
      if (route.mail && n > limit) {
        ctx.entry.throttled = true;
        throw new GraphError(429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', { 'retry-after': String(retryAfter) });
      }
    }

    // Injected faults.
    const fault = app.control.takeFault({ path: url.pathname, mailboxNames: names });
    if (fault) {
      ctx.entry.injected = true;
      if (fault.delay_ms) await sleep(fault.delay_ms);
      if (fault.status) throw faultError(fault, route);
      if (fault.mode) return rawFault(req, res, fault);
    }

    await handleRoute(ctx, route);
  } catch (err) {
    if (!(err instanceof GraphError)) {
      console.error('internal error:', err);
      err = new GraphError(500, 'InternalServerError', 'An internal server error occurred.');
    }
    if (res.headersSent) res.destroy();
    else sendError(ctx, err);
  } finally {
    release();
    ctx.entry.t_end ??= Date.now();
  }
}

async function handle(req, res) {
  const url = new URL(req.url, app.base);
  const path = url.pathname;
  if (path.startsWith('/_control/')) {
    let body = {};
    if (['POST', 'PUT'].includes(req.method)) {
      const text = await readBody(req).catch(() => null);
      try {
        body = text ? JSON.parse(text) : {};
      } catch {
        body = null;
      }
      if (body === null || typeof body !== 'object') {
        res.writeHead(400, { 'content-type': 'application/json; charset=utf-8' });
        return res.end(JSON.stringify({ error: 'body must be a JSON object' }));
      }
    }
    if (handleControl(app, req, res, path, body) === false) {
      res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ error: `no control endpoint ${req.method} ${path}` }));
    }
    return;
  }
  return handleGraph(req, res, url);
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error('internal error:', err);
    if (!res.headersSent) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'InternalServerError', message: String(err?.message ?? err) } }));
    } else res.destroy();
  });
});
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.requestTimeout = 0; // delay faults may be long

server.on('error', (err) => {
  console.error(`cannot listen on ${args.host}:${port}: ${err.message}`);
  process.exit(1);
});

server.listen(port, args.host, async () => {
  const { port: actual } = server.address();
  app.base = `http://${args.host}:${actual}`;
  // The idp's signing keys, kept for when it is briefly unreachable (see auth.mjs).
  const keys = await app.validator.loadKeys();
  if (!keys) console.error(`note: could not fetch the signing keys of ${app.idp} now; will retry when needed`);
  process.stdout.write(`${JSON.stringify({ ready: true, port: actual, base: app.base })}\n`);
  console.error(`Graph stand-in ready at ${app.base} (identity provider ${app.idp})`);
});

function shutdown(signal) {
  console.error(`${signal}: stopping`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
