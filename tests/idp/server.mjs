#!/usr/bin/env node
// A local OpenID provider that imitates Microsoft's identity platform v2.0 endpoint, for tests.
//
//   node tests/idp/server.mjs [--port N] [--host 127.0.0.1]
//
// Prints one line to stdout when listening: {"ready":true,"port":N,"base":"http://127.0.0.1:N"}.
// Everything else goes to stderr. See README.md for fixtures, endpoints and the control API.

// oidc-provider prints notices with console.info; stdout carries only the ready line.
console.log = console.info = (...args) => console.error(...args);

import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import { Store } from './adapter.mjs';
import { Control, handleControl } from './control.mjs';
import { resolveTenant } from './directory.mjs';
import { authorize, deviceCode, forward, injectFault, introspect, sendJson, sendProblem, token } from './gateway.mjs';
import { createProvider } from './provider.mjs';
import { adminConsent, approveDevice, deviceLogin, interaction } from './signin.mjs';
import { recordIssued } from './token-log.mjs';

// ---- options ---------------------------------------------------------------------------------

const { values: args } = parseArgs({
  options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } },
});

function seconds(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`${name} must be a positive whole number of seconds, got '${raw}'`);
    process.exit(2);
  }
  return n;
}

const config = {
  accessTtl: seconds('IDP_ACCESS_TOKEN_TTL', 3600),
  refreshTtl: seconds('IDP_REFRESH_TOKEN_TTL', 90 * 86400),
  deviceTtl: seconds('IDP_DEVICE_CODE_TTL', 900),
  interval: seconds('IDP_DEVICE_INTERVAL', 5),
};
const stateFile = process.env.IDP_STATE_FILE || null;
const port = Number(args.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number, got '${args.port}'`);
  process.exit(2);
}
if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(args.host)) {
  console.error(`--host must be a loopback address (127.x.x.x), got '${args.host}'`);
  process.exit(2);
}

// ---- state (optionally persisted, so that a restarted provider honours old tokens) -------------

let saved = null;
if (stateFile && existsSync(stateFile)) {
  try {
    saved = JSON.parse(readFileSync(stateFile, 'utf8'));
  } catch (e) {
    console.error(`ignoring unreadable ${stateFile}: ${e.message}`);
  }
}

function newSigningKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

const app = {
  base: null,
  config,
  stateFile,
  jwk: saved?.jwk ?? newSigningKey(),
  store: new Store(saved?.store),
  control: new Control(saved?.control),
  internalSecret: randomBytes(32).toString('base64url'),
  devicePolls: new Map(),
  provider: null,
  callback: null,
};
app.approveDevice = (opts) => approveDevice(app, opts);

function save() {
  if (!stateFile) return;
  const tmp = `${stateFile}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ version: 1, jwk: app.jwk, store: app.store, control: app.control }));
  renameSync(tmp, stateFile);
}
app.store.onWrite = save;
app.control.onChange = save;

// ---- HTTP ------------------------------------------------------------------------------------

const MAX_BODY = 1024 * 1024;

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('request body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function formBody(req) {
  if (req.method !== 'POST') return {};
  return Object.fromEntries(new URLSearchParams(await readBody(req)));
}

// Endpoints under /{tenant}: path after the tenant -> what to do.
const TENANT_ROUTES = {
  '/oauth2/v2.0/authorize': async (req, res, tenant, url, mc) => {
    const params = req.method === 'POST' ? new URLSearchParams(await readBody(req)) : url.searchParams;
    req.method = 'GET';
    return authorize(app, req, res, tenant, params, mc);
  },
  '/oauth2/v2.0/token': async (req, res, tenant, url, mc) => token(app, req, res, tenant, await formBody(req), mc),
  '/oauth2/v2.0/devicecode': async (req, res, tenant, url, mc) => deviceCode(app, req, res, tenant, await formBody(req), mc),
  '/oauth2/v2.0/introspect': async (req, res, tenant, url, mc) => introspect(app, req, res, tenant, await formBody(req), mc, 'introspect'),
  '/oauth2/v2.0/revoke': async (req, res, tenant, url, mc) => introspect(app, req, res, tenant, await formBody(req), mc, 'revoke'),
  '/v2.0/adminconsent': async (req, res, tenant, url, mc) => adminConsent(app, req, res, tenant, url, mc),
};

const ENDPOINT_NAMES = {
  '/oauth2/v2.0/authorize': 'authorize',
  '/oauth2/v2.0/token': 'token',
  '/oauth2/v2.0/devicecode': 'devicecode',
  '/oauth2/v2.0/introspect': 'introspect',
  '/oauth2/v2.0/revoke': 'revoke',
  '/v2.0/adminconsent': 'adminconsent',
};

// Forwarded as they are: discovery (oidc-provider serves it at /.well-known/...), keys, and the
// resume step of a sign-in.
function passThrough(rest) {
  if (rest === '/v2.0/.well-known/openid-configuration') return '/.well-known/openid-configuration';
  if (rest === '/discovery/v2.0/keys') return rest;
  if (/^\/oauth2\/v2\.0\/authorize\/[\w-]+$/.test(rest)) return rest;
  return null;
}

async function handle(req, res) {
  const url = new URL(req.url, app.base);
  const path = url.pathname;
  const mc = { correlationId: req.headers['client-request-id'] || randomUUID() };
  res.setHeader('client-request-id', mc.correlationId);
  console.error(`${req.method} ${path}`);

  if (path.startsWith('/_control/')) {
    let body = {};
    if (['POST', 'PUT', 'PATCH'].includes(req.method)) {
      const text = await readBody(req);
      try {
        body = text ? JSON.parse(text) : {};
      } catch {
        return sendJson(res, 400, { error: 'body must be JSON' });
      }
    }
    if ((await handleControl(app, req, res, path, body)) === false) sendJson(res, 404, { error: `no control endpoint ${req.method} ${path}` });
    return;
  }
  if (path.startsWith('/interaction/')) return interaction(app, req, res, path.split('/')[2]);
  if (path === '/devicelogin') return deviceLogin(app, req, res, url);
  if (path === '/error') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    return res.end(`<!DOCTYPE html><html><body><h1>AADSTS${Number(url.searchParams.get('code')) || ''}</h1><p>Error lookup of the local test identity provider.</p></body></html>\n`);
  }

  const [, segment = '', ...restParts] = path.split('/');
  const rest = `/${restParts.join('/')}`;
  const route = TENANT_ROUTES[rest];
  const through = route ? null : passThrough(rest);
  if (!route && !through) return sendJson(res, 404, { error: 'not_found', error_description: `No endpoint at ${path}` });

  let name = segment;
  try {
    name = decodeURIComponent(segment);
  } catch { /* keep it as sent */ }
  const tenant = resolveTenant(name);
  if (!tenant) {
    const endpoint = ENDPOINT_NAMES[rest];
    if (endpoint) mc.entry = app.control.logStart({ endpoint, tenant: name });
    return sendProblem(app, res, { error: 'invalid_request', code: 90002, message: `Tenant '${name}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.` }, mc);
  }
  tenant.segment = segment;
  mc.tenant = tenant;
  const faultAt = rest === '/v2.0/.well-known/openid-configuration' ? 'discovery' : rest === '/discovery/v2.0/keys' ? 'keys' : ENDPOINT_NAMES[rest];
  if (faultAt && faultAt !== 'token' && app.control.faults[faultAt] && (await injectFault(app, req, res, faultAt, mc))) return;
  if (route && req.method !== 'OPTIONS') return route(req, res, tenant, url, mc);
  if (/^\/oauth2\/v2\.0\/authorize\//.test(rest)) mc.entry = app.control.logStart({ endpoint: 'authorize', tenant: segment });
  return forward(app, req, res, { tenant, path: through ?? rest, query: url.search.slice(1), mc });
}

const server = createServer((req, res) => {
  recordIssued(res);
  handle(req, res).catch((err) => {
    console.error('internal error:', err);
    if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: String(err?.message ?? err) });
    else res.destroy();
  });
});
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.requestTimeout = 0; // the token endpoint's "hang" mode must outlive any client timeout

server.on('error', (err) => {
  console.error(`cannot listen on ${args.host}:${port}: ${err.message}`);
  process.exit(1);
});

server.listen(port, args.host, () => {
  const { port: actual } = server.address();
  app.base = `http://${args.host}:${actual}`;
  app.provider = createProvider(app);
  app.callback = app.provider.callback();
  save();
  process.stdout.write(`${JSON.stringify({ ready: true, port: actual, base: app.base })}\n`);
  console.error(`identity provider ready at ${app.base}${stateFile ? ` (state in ${stateFile})` : ''}`);
});

function shutdown(signal) {
  console.error(`${signal}: stopping`);
  save();
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
