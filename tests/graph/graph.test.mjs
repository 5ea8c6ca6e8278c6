// Self-tests of the Graph stand-in: node --test --test-timeout=120000 tests/graph/
// They start a real identity provider (tests/idp) and the Graph server, and use real tokens.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';

const fixtures = JSON.parse(readFileSync(new URL('../idp/fixtures.json', import.meta.url), 'utf8'));
const IDP_SERVER = new URL('../idp/server.mjs', import.meta.url).pathname;
const GRAPH_SERVER = new URL('./server.mjs', import.meta.url).pathname;
const { web, public: pub, single_tenant: single } = fixtures.clients;
const WEB_SECRET = web.secrets[0].value;
const CONTOSO = fixtures.tenants.contoso.id;
const FABRIKAM = fixtures.tenants.fabrikam.id;
const DEFAULT_ROLES = fixtures.resources.graph.default_app_roles;
const APP_REDIRECT = 'http://127.0.0.1:43918/callback'; // nothing listens; the browser leg stops there
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// ---- helpers ---------------------------------------------------------------------------------

const START_TIMEOUT_MS = 15000;

/** Starts a server script; resolves on its ready line. A start that hangs is retried once. */
async function start(script, args = [], env = {}) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(script, args, env);
    } catch (e) {
      if (!e.hung || attempt >= 2) throw e;
    }
  }
}

function startOnce(script, args, env) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [script, '--port', '0', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(Object.assign(new Error(`${script} did not start: ${stderr}`), { hung: true }));
    }, START_TIMEOUT_MS);
    const lines = createInterface({ input: proc.stdout });
    const extra = [];
    lines.once('line', (line) => {
      clearTimeout(timer);
      lines.on('line', (l) => extra.push(l));
      const exited = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
      resolve({
        ...JSON.parse(line), proc, extra, exited, stderr: () => stderr,
        stop() {
          proc.kill('SIGTERM');
          return exited;
        },
      });
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code}: ${stderr}`));
    });
  });
}

async function form(url, body, headers = {}) {
  const r = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(body) });
  return { status: r.status, body: await r.json() };
}

async function ctl(base, method, path, body) {
  const r = await fetch(base + path, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  return r.json();
}

/** Client credentials on a tenant (Graph unless `scope` says otherwise). */
async function appToken(idpBase, { tenant = 'contoso.test', client = web, secret = WEB_SECRET, scope = 'https://graph.microsoft.com/.default' } = {}) {
  const r = await form(`${idpBase}/${tenant}/oauth2/v2.0/token`, { grant_type: 'client_credentials', client_id: client.client_id, client_secret: secret, scope });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.access_token;
}

/** A delegated sign-in with the web client: the browser leg headless, then the code redeemed. */
async function userTokens(idpBase, { user, scope, tenant = 'organizations' }) {
  const u = new URL(`${idpBase}/${tenant}/oauth2/v2.0/authorize`);
  u.search = new URLSearchParams({ client_id: web.client_id, response_type: 'code', redirect_uri: APP_REDIRECT, scope: `openid profile offline_access ${scope}`, login_hint: user, state: 'st' });
  let url = u.href;
  for (let hops = 0; hops < 10 && !url.startsWith(APP_REDIRECT); hops++) {
    const r = await fetch(url, { redirect: 'manual' });
    const loc = r.headers.get('location');
    assert.ok(loc, `redirect expected (${r.status}): ${await r.text()}`);
    url = new URL(loc, url).href;
  }
  const code = new URL(url).searchParams.get('code');
  assert.ok(code, url);
  const r = await form(`${idpBase}/${tenant}/oauth2/v2.0/token`, { grant_type: 'authorization_code', client_id: web.client_id, client_secret: WEB_SECRET, code, redirect_uri: APP_REDIRECT });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

const decode = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));

function assertGraphError(r, status, code, message) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assert.equal(r.body.error.code, code, JSON.stringify(r.body));
  if (message instanceof RegExp) assert.match(r.body.error.message, message);
  else if (message) assert.equal(r.body.error.message, message);
  const inner = r.body.error.innerError;
  assert.match(inner.date, /^20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d$/);
  assert.match(inner['request-id'], GUID);
  assert.match(inner['client-request-id'], GUID);
  assert.equal(r.headers.get('request-id'), inner['request-id']);
  assert.equal(r.headers.get('client-request-id'), inner['client-request-id']);
}

const DENIED = 'Insufficient privileges to complete the operation.';
const MAIL_DENIED = 'Access is denied. Check credentials and try again.';
const RAOP = 'Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings.';

// ---- the shared instances --------------------------------------------------------------------

let idp;
let graph;
let g; // Graph client
const tok = {}; // tokens by name

function graphClient(base) {
  const call = async (method, path, token, { body, headers = {}, raw } = {}) => {
    const h = { ...headers };
    if (token !== undefined && token !== null) h.authorization = `Bearer ${token}`;
    if (body !== undefined) h['content-type'] ??= 'application/json';
    const r = await fetch(path.startsWith('http') ? path : base + path, { method, headers: h, body: body === undefined ? undefined : (raw ? body : JSON.stringify(body)) });
    const text = await r.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = text; }
    return { status: r.status, headers: r.headers, body: json, text };
  };
  return {
    base,
    get: (path, token, opts) => call('GET', path, token, opts),
    post: (path, token, body, opts = {}) => call('POST', path, token, { ...opts, body }),
    call,
    control: (method, path, body) => ctl(base, method, `/_control${path}`, body),
  };
}

async function setRoles(roles, { client = web, tenant = CONTOSO } = {}) {
  await ctl(idp.base, 'POST', `/_control/clients/${client.client_id}/roles`, { tenant, roles });
}

before(async () => {
  idp = await start(IDP_SERVER);
  graph = await start(GRAPH_SERVER, ['--idp', idp.base]);
  g = graphClient(graph.base);
  const [app, fab, alice, bob, bobMailOnly, carol, aliceBasic, noUser] = await Promise.all([
    appToken(idp.base),
    appToken(idp.base, { tenant: 'fabrikam.test' }),
    userTokens(idp.base, { user: 'alice@contoso.test', scope: 'User.Read User.ReadBasic.All Mail.Read Mail.Send Mail.Read.Shared Mail.Send.Shared' }),
    userTokens(idp.base, { user: 'bob@contoso.test', scope: 'User.Read Mail.Read Mail.Send Mail.Read.Shared Mail.Send.Shared' }),
    userTokens(idp.base, { user: 'bob@contoso.test', scope: 'Mail.Read' }),
    userTokens(idp.base, { user: 'carol@outlook.test', scope: 'User.Read Mail.Read Mail.Send', tenant: 'consumers' }),
    userTokens(idp.base, { user: 'alice@contoso.test', scope: 'User.Read Mail.ReadBasic' }),
    userTokens(idp.base, { user: 'erin@fabrikam.test', scope: 'Calendars.ReadWrite' }),
  ]);
  Object.assign(tok, {
    app, fab, alice: alice.access_token, aliceRefresh: alice.refresh_token, bob: bob.access_token, bobMailOnly: bobMailOnly.access_token,
    carol: carol.access_token, aliceBasic: aliceBasic.access_token, erinCalendars: noUser.access_token,
  });
});

after(async () => {
  const gx = await graph.stop();
  assert.deepEqual(gx, { code: 0, signal: null }, 'the Graph server exits cleanly on SIGTERM');
  assert.deepEqual(graph.extra, [], 'nothing on stdout but the ready line');
  await idp.stop();
});

// ---- tests -----------------------------------------------------------------------------------

describe('start and control', () => {
  test('ready line and health', async () => {
    assert.equal(graph.ready, true);
    assert.equal(graph.base, `http://127.0.0.1:${graph.port}`);
    const h = await g.control('GET', '/health');
    assert.deepEqual(h, { ok: true, base: graph.base, idp: idp.base, pid: graph.proc.pid });
  });

  test('refuses a non-loopback host and a missing --idp', async () => {
    await assert.rejects(start(GRAPH_SERVER, ['--host', '0.0.0.0', '--idp', idp.base]), /exited with 2/);
    await assert.rejects(start(GRAPH_SERVER, []), /exited with 2/);
  });

  test('directory: 60 generated mailboxes, shared mailboxes, same oids as the idp', async () => {
    const d = await g.control('GET', '/directory');
    const contoso = d[CONTOSO].users;
    assert.equal(contoso.filter((u) => /^user\d\d@contoso\.test$/.test(u.userPrincipalName)).length, 60);
    assert.equal(contoso.find((u) => u.userPrincipalName === 'user07@contoso.test').id, 'c0c00000-0000-4000-8000-000000000007');
    assert.equal(contoso.find((u) => u.userPrincipalName === 'alice@contoso.test').id, fixtures.users.alice.oid);
    for (const s of ['info', 'sales', 'support']) {
      const u = contoso.find((x) => x.userPrincipalName === `${s}@contoso.test`);
      assert.equal(u.accountEnabled, false);
      assert.equal(u.userType, 'Member');
      assert.ok(u.delegates.includes('alice@contoso.test'));
    }
    assert.equal(contoso.find((u) => u.userPrincipalName === 'nomailbox@contoso.test').hasMailbox, false);
    assert.equal(d[FABRIKAM].users[0].id, fixtures.users.erin.oid);
  });
});

describe('tokens', () => {
  test('no token, empty token, not a JWT', async () => {
    assertGraphError(await g.get('/v1.0/me'), 401, 'InvalidAuthenticationToken', 'Access token is empty.');
    assertGraphError(await g.get('/v1.0/me', '', { headers: { authorization: 'Bearer ' } }), 401, 'InvalidAuthenticationToken', 'Access token is empty.');
    assertGraphError(await g.get('/v1.0/users', 'not-a-token'), 401, 'InvalidAuthenticationToken', /^IDX14100: JWT is not well formed/);
  });

  test('a forged signature is refused by introspection', async () => {
    const [h, p] = tok.app.split('.');
    const forged = `${h}.${p}.${Buffer.from('x'.repeat(256)).toString('base64url')}`;
    assertGraphError(await g.get('/v1.0/users', forged), 401, 'InvalidAuthenticationToken', 'Access token validation failure.');
    const payload = { ...decode(tok.app), roles: ['Directory.ReadWrite.All'] };
    const tampered = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${tok.app.split('.')[2]}`;
    assertGraphError(await g.get('/v1.0/users', tampered), 401, 'InvalidAuthenticationToken', 'Access token validation failure.');
  });

  test('an expired token', async () => {
    const [h, p, s] = tok.app.split('.');
    const old = { ...decode(tok.app), exp: Math.floor(Date.now() / 1000) - 60 };
    assert.ok(p);
    const expired = `${h}.${Buffer.from(JSON.stringify(old)).toString('base64url')}.${s}`;
    assertGraphError(await g.get('/v1.0/users', expired), 401, 'InvalidAuthenticationToken', 'Access token has expired or is not yet valid.');
  });

  test("Outlook's tokens (opaque delegated, app-only JWT) are for another audience", async () => {
    const r = await form(`${idp.base}/organizations/oauth2/v2.0/token`, { grant_type: 'refresh_token', client_id: web.client_id, client_secret: WEB_SECRET, refresh_token: tok.aliceRefresh, scope: 'https://outlook.office.com/IMAP.AccessAsUser.All' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assertGraphError(await g.get('/v1.0/me', r.body.access_token), 401, 'InvalidAuthenticationToken', /Invalid audience\.$/);
    const exo = await appToken(idp.base, { scope: 'https://outlook.office365.com/.default' });
    assertGraphError(await g.get('/v1.0/users', exo), 401, 'InvalidAuthenticationToken', /Invalid audience\.$/);
  });

  test('an active introspection result is cached until exp; the log says so; no token in the log', async () => {
    const t = await appToken(idp.base);
    await g.call('DELETE', '/_control/log');
    const first = await g.get('/v1.0/users/alice@contoso.test', t);
    const second = await g.get('/v1.0/users/alice@contoso.test', t);
    assert.equal(first.status, 200);
    assert.equal(second.status, 200);
    const log = await g.control('GET', '/log');
    assert.deepEqual(log.map((e) => [e.token_cached, e.token_check]), [[false, 'introspection'], [true, 'cache']]);
    const idpLog = await ctl(idp.base, 'GET', '/_control/log');
    assert.ok(idpLog.some((e) => e.endpoint === 'introspect' && e.client_id === web.client_id && e.status === 200));
    const text = JSON.stringify(log);
    for (const secret of [t, t.split('.')[2], WEB_SECRET]) assert.ok(!text.includes(secret), 'no token or secret in the log');
  });
});

describe('identity provider down; short-lived tokens', () => {
  let idp2;
  let graph2;
  let g2;
  before(async () => {
    idp2 = await start(IDP_SERVER, [], { IDP_ACCESS_TOKEN_TTL: '3' });
    graph2 = await start(GRAPH_SERVER, ['--idp', idp2.base]);
    g2 = graphClient(graph2.base);
  });
  after(async () => {
    await graph2.stop();
    await idp2.stop();
  });

  test('a seen token keeps working, an unseen one is checked with the kept keys, expiry still applies', async () => {
    const seen = await appToken(idp2.base);
    const unseen = await appToken(idp2.base);
    assert.notEqual(seen, unseen);
    assert.equal((await g2.get('/v1.0/users/bob@contoso.test', seen)).status, 200);
    await idp2.stop();
    assert.equal((await g2.get('/v1.0/users/bob@contoso.test', seen)).status, 200, 'cached: works while the idp is down');
    assert.equal((await g2.get('/v1.0/users/bob@contoso.test', unseen)).status, 200, 'validated with the signing keys fetched at start');
    const [h, p] = unseen.split('.');
    const forged = `${h}.${p}.${Buffer.from('y'.repeat(256)).toString('base64url')}`;
    assertGraphError(await g2.get('/v1.0/users/bob@contoso.test', forged), 401, 'InvalidAuthenticationToken', 'Access token validation failure.');
    const log = await g2.control('GET', '/log');
    assert.deepEqual(log.slice(0, 4).map((e) => e.token_check), ['introspection', 'cache', 'keys', 'keys']);
    const wait = decode(seen).exp * 1000 - Date.now() + 200;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    assertGraphError(await g2.get('/v1.0/users/bob@contoso.test', seen), 401, 'InvalidAuthenticationToken', 'Access token has expired or is not yet valid.');
  });
});

describe('/me', () => {
  test('delegated: the signed-in user; $select', async () => {
    const r = await g.get('/v1.0/me', tok.alice);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^application\/json;odata\.metadata=minimal/);
    assert.equal(r.body['@odata.context'], `${graph.base}/v1.0/$metadata#users/$entity`);
    assert.equal(r.body.id, fixtures.users.alice.oid);
    assert.equal(r.body.userPrincipalName, 'alice@contoso.test');
    assert.equal(r.body.mail, 'alice@contoso.test');
    assert.equal(r.body.displayName, 'Alice Anders');
    assert.equal(r.body.givenName, 'Alice');
    assert.equal(r.body.surname, 'Anders');
    assert.equal(r.body.jobTitle, 'IT Administrator');
    assert.deepEqual(r.body.businessPhones, []);
    assert.ok(!('proxyAddresses' in r.body), 'not in the default property set');
    const s = await g.get('/v1.0/me?$select=id,displayName,mail,userPrincipalName', tok.bob);
    assert.deepEqual(s.body, {
      '@odata.context': `${graph.base}/v1.0/$metadata#users(id,displayName,mail,userPrincipalName)/$entity`,
      id: fixtures.users.bob.oid, displayName: 'Bob Berg', mail: 'bob@contoso.test', userPrincipalName: 'bob@contoso.test',
    });
    assertGraphError(await g.get('/v1.0/me?$select=id,nosuch', tok.bob), 400, 'BadRequest', "Could not find a property named 'nosuch' on type 'microsoft.graph.user'.");
  });

  test('personal account: Graph id is the account id (CID), mail is null', async () => {
    const r = await g.get('/v1.0/me', tok.carol);
    assert.equal(r.status, 200);
    assert.equal(r.body.id, fixtures.users.carol.oid.replace(/-/g, '').slice(16));
    assert.equal(r.body.userPrincipalName, 'carol@outlook.test');
    assert.equal(r.body.mail, null);
    assertGraphError(await g.get('/v1.0/users/alice@contoso.test', tok.carol), 403, 'Authorization_RequestDenied', DENIED);
  });

  test('app-only token: 400; no user scope: 403', async () => {
    assertGraphError(await g.get('/v1.0/me', tok.app), 400, 'BadRequest', '/me request is only valid with delegated authentication flow.');
    assertGraphError(await g.get('/v1.0/me/mailFolders/inbox/messages', tok.app), 400, 'BadRequest', '/me request is only valid with delegated authentication flow.');
    assertGraphError(await g.get('/v1.0/me', tok.bobMailOnly), 403, 'Authorization_RequestDenied', DENIED);
  });
});

describe('/users', () => {
  test('app-only: by id, UPN (any case); default properties; $select', async () => {
    const byUpn = await g.get('/v1.0/users/ALICE@Contoso.Test', tok.app);
    assert.equal(byUpn.status, 200);
    assert.equal(byUpn.body.id, fixtures.users.alice.oid);
    const byId = await g.get(`/v1.0/users/${fixtures.users.bob.oid}`, tok.app);
    assert.equal(byId.body.userPrincipalName, 'bob@contoso.test');
    const shared = await g.get('/v1.0/users/info@contoso.test?$select=id,mail,accountEnabled,userType,proxyAddresses', tok.app);
    assert.deepEqual(shared.body, {
      '@odata.context': `${graph.base}/v1.0/$metadata#users(id,mail,accountEnabled,userType,proxyAddresses)/$entity`,
      id: '5a000000-0000-4000-8000-000000000001', mail: 'info@contoso.test', accountEnabled: false, userType: 'Member', proxyAddresses: ['SMTP:info@contoso.test'],
    });
    const gen = await g.get('/v1.0/users/user42@contoso.test', tok.app);
    assert.equal(gen.body.id, 'c0c00000-0000-4000-8000-000000000042');
    assert.equal(gen.body.displayName, 'User 42');
  });

  test('unknown 404, malformed id 400, other tenant 404', async () => {
    assertGraphError(await g.get('/v1.0/users/nobody@contoso.test', tok.app), 404, 'Request_ResourceNotFound', "Resource 'nobody@contoso.test' does not exist or one of its queried reference-property objects are not present.");
    assertGraphError(await g.get('/v1.0/users/not-an-id', tok.app), 400, 'Request_BadRequest', "Invalid object identifier 'not-an-id'.");
    assertGraphError(await g.get('/v1.0/users/alice@contoso.test', tok.fab), 404, 'Request_ResourceNotFound');
    assert.equal((await g.get('/v1.0/users/erin@fabrikam.test', tok.fab)).status, 200);
  });

  test('delegated: User.Read reads only yourself; User.ReadBasic.All anyone', async () => {
    assertGraphError(await g.get('/v1.0/users/alice@contoso.test', tok.bob), 403, 'Authorization_RequestDenied', DENIED);
    assert.equal((await g.get('/v1.0/users/bob@contoso.test', tok.bob)).status, 200);
    assert.equal((await g.get('/v1.0/users/bob@contoso.test', tok.alice)).status, 200);
    assertGraphError(await g.get('/v1.0/users', tok.bob), 403, 'Authorization_RequestDenied', DENIED);
  });

  test('list: every user of the tenant, paged with $top and nextLink', async () => {
    const all = await g.get('/v1.0/users?$select=id,userPrincipalName', tok.app);
    assert.equal(all.status, 200);
    assert.equal(all.body.value.length, 66);
    assert.equal(all.body['@odata.nextLink'], undefined);
    const seen = [];
    let next = '/v1.0/users?$top=25&$select=id';
    let pages = 0;
    while (next) {
      const r = await g.get(next, tok.app);
      assert.equal(r.status, 200);
      seen.push(...r.body.value.map((u) => u.id));
      next = r.body['@odata.nextLink'];
      if (next) assert.match(next, /^http:\/\/127\.0\.0\.1:\d+\/v1\.0\/users\?\$select=id&\$top=25&\$skiptoken=/);
      pages++;
    }
    assert.equal(pages, 3);
    assert.deepEqual(seen, all.body.value.map((u) => u.id));
    assertGraphError(await g.get('/v1.0/users?$top=1000', tok.app), 400, 'BadRequest', "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive.");
  });

  test('missing role: only Mail.Read -> 403 on /users, mail still readable', async () => {
    await setRoles(['Mail.Read']);
    try {
      const t = await appToken(idp.base);
      assert.deepEqual(decode(t).roles, ['Mail.Read']);
      assertGraphError(await g.get('/v1.0/users/alice@contoso.test', t), 403, 'Authorization_RequestDenied', DENIED);
      assertGraphError(await g.get('/v1.0/users', t), 403, 'Authorization_RequestDenied', DENIED);
      assert.equal((await g.get('/v1.0/users/alice@contoso.test/mailFolders/inbox/messages?$top=1', t)).status, 200);
      assertGraphError(await g.post('/v1.0/users/alice@contoso.test/sendMail', t, { message: { toRecipients: [{ emailAddress: { address: 'bob@contoso.test' } }] } }), 403, 'ErrorAccessDenied', MAIL_DENIED);
    } finally {
      await setRoles(DEFAULT_ROLES);
    }
    await setRoles(['User.Read.All']);
    try {
      const t = await appToken(idp.base);
      assertGraphError(await g.get('/v1.0/users/alice@contoso.test/mailFolders/inbox/messages', t), 403, 'ErrorAccessDenied', MAIL_DENIED);
    } finally {
      await setRoles(DEFAULT_ROLES);
    }
  });
});

describe('mail', () => {
  test('app-only inbox: shape, $top, $select, nextLink', async () => {
    const r = await g.get('/v1.0/users/alice@contoso.test/mailFolders/inbox/messages?$top=5&$select=subject,receivedDateTime,from,isRead', tok.app);
    assert.equal(r.status, 200);
    assert.equal(r.body['@odata.context'], `${graph.base}/v1.0/$metadata#users('alice%40contoso.test')/mailFolders('inbox')/messages(subject,receivedDateTime,from,isRead)`);
    assert.equal(r.body.value.length, 5);
    for (const m of r.body.value) {
      assert.deepEqual(Object.keys(m).sort(), ['@odata.etag', 'from', 'id', 'isRead', 'receivedDateTime', 'subject']);
      assert.match(m.id, /^AAMkAD[\w-]+=*$/);
      assert.match(m.receivedDateTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.match(m.from.emailAddress.address, /@/);
      assert.equal(typeof m.from.emailAddress.name, 'string');
      assert.equal(typeof m.isRead, 'boolean');
    }
    const dates = r.body.value.map((m) => m.receivedDateTime);
    assert.deepEqual(dates, [...dates].sort().reverse(), 'newest first');
    assert.match(r.body['@odata.nextLink'], /\/v1\.0\/users\/alice@contoso\.test\/mailFolders\/inbox\/messages\?\$select=subject,receivedDateTime,from,isRead&\$top=5&\$skip=5$/);
    const p2 = await g.get(r.body['@odata.nextLink'], tok.app);
    assert.equal(p2.body.value.length, 5);
    const p3 = await g.get(p2.body['@odata.nextLink'], tok.app);
    assert.equal(p3.body.value.length, 2);
    assert.equal(p3.body['@odata.nextLink'], undefined);
    const ids = [...r.body.value, ...p2.body.value, ...p3.body.value].map((m) => m.id);
    assert.equal(new Set(ids).size, 12);
    const full = await g.get('/v1.0/users/bob@contoso.test/mailFolders/Inbox/messages', tok.app);
    assert.equal(full.body.value.length, 5);
    assert.equal(full.body.value[0].body.contentType, 'text');
    assert.ok(full.body.value[0].toRecipients[0].emailAddress.address === 'bob@contoso.test');
  });

  test('delegated: own inbox; Mail.ReadBasic gives no body', async () => {
    const r = await g.get('/v1.0/me/mailFolders/inbox/messages?$top=1&$select=subject,receivedDateTime', tok.alice);
    assert.equal(r.status, 200);
    assert.equal(r.body.value.length, 1);
    assert.ok(r.body['@odata.nextLink'].includes('/v1.0/me/mailFolders/inbox/messages?'));
    const basic = await g.get('/v1.0/me/mailFolders/inbox/messages?$top=1', tok.aliceBasic);
    assert.equal(basic.status, 200);
    assert.ok(basic.body.value[0].subject);
    assert.ok(!('body' in basic.body.value[0]) && !('bodyPreview' in basic.body.value[0]));
    assert.equal((await g.get('/v1.0/me/mailFolders/inbox/messages', tok.carol)).status, 200, 'personal accounts have a mailbox');
    assertGraphError(await g.get('/v1.0/me/mailFolders/inbox/messages', tok.erinCalendars), 403, 'ErrorAccessDenied', MAIL_DENIED);
  });

  test('delegated: shared mailboxes need .Shared and delegation', async () => {
    assert.equal((await g.get('/v1.0/users/info@contoso.test/mailFolders/inbox/messages', tok.alice)).status, 200, 'alice is a delegate of info');
    assertGraphError(await g.get('/v1.0/users/info@contoso.test/mailFolders/inbox/messages', tok.bob), 403, 'ErrorAccessDenied', MAIL_DENIED);
    assert.equal((await g.get('/v1.0/users/sales@contoso.test/mailFolders/inbox/messages', tok.bob)).status, 200, 'bob is a delegate of sales');
    assertGraphError(await g.get('/v1.0/users/info@contoso.test/mailFolders/inbox/messages', tok.bobMailOnly), 403, 'ErrorAccessDenied', MAIL_DENIED);
    assertGraphError(await g.get('/v1.0/users/bob@contoso.test/mailFolders/inbox/messages', tok.alice), 403, 'ErrorAccessDenied', MAIL_DENIED);
  });

  test('unknown mailbox, no mailbox, proxy address, other tenant', async () => {
    assertGraphError(await g.get('/v1.0/users/nobody@contoso.test/mailFolders/inbox/messages', tok.app), 404, 'ErrorInvalidUser', "The requested user 'nobody@contoso.test' is invalid.");
    assertGraphError(await g.get('/v1.0/users/nomailbox@contoso.test/mailFolders/inbox/messages', tok.app), 404, 'MailboxNotEnabledForRESTAPI', 'The mailbox is either inactive, soft-deleted, or is hosted on-premise.');
    assert.equal((await g.get('/v1.0/users/alice.anders@contoso.test/mailFolders/inbox/messages?$top=1', tok.app)).status, 200, 'Exchange resolves proxy addresses');
    assertGraphError(await g.get('/v1.0/users/alice@contoso.test/mailFolders/inbox/messages', tok.fab), 404, 'ErrorInvalidUser');
  });

  test('sendMail: 202, recorded, delivered, saved to Sent Items', async () => {
    await g.call('DELETE', '/_control/sent');
    const msg = { message: { subject: 'Hello from the test', body: { contentType: 'Text', content: 'Body text' }, toRecipients: [{ emailAddress: { address: 'bob@contoso.test' } }], ccRecipients: [{ emailAddress: { address: 'someone@external.test', name: 'Someone' } }] }, saveToSentItems: true };
    const r = await g.post('/v1.0/users/alice@contoso.test/sendMail', tok.app, msg);
    assert.equal(r.status, 202);
    assert.equal(r.text, '');
    const d = await g.post('/v1.0/me/sendMail', tok.bob, { message: { subject: 'Delegated', body: { contentType: 'HTML', content: '<p>hi</p>' }, toRecipients: [{ emailAddress: { address: 'alice@contoso.test' } }] } });
    assert.equal(d.status, 202);
    const sent = await g.control('GET', '/sent');
    assert.equal(sent.length, 2);
    assert.equal(sent[0].mailbox, 'alice@contoso.test');
    assert.equal(sent[0].auth, 'app');
    assert.equal(sent[0].app_id, web.client_id);
    assert.equal(sent[0].message.subject, 'Hello from the test');
    assert.deepEqual(sent[0].delivered_to, ['bob@contoso.test']);
    assert.equal(sent[1].user, 'bob@contoso.test');
    assert.equal(sent[1].message.body.contentType, 'html');
    const inbox = await g.get('/v1.0/users/bob@contoso.test/mailFolders/inbox/messages?$top=1&$select=subject,from', tok.app);
    assert.equal(inbox.body.value[0].subject, 'Hello from the test');
    assert.equal(inbox.body.value[0].from.emailAddress.address, 'alice@contoso.test');
    const sentItems = await g.get('/v1.0/users/alice@contoso.test/mailFolders/sentitems/messages?$top=1&$select=subject', tok.app);
    assert.equal(sentItems.body.value[0].subject, 'Hello from the test');
    const shared = await g.post('/v1.0/users/sales@contoso.test/sendMail', tok.bob, { message: { subject: 'x', toRecipients: [{ emailAddress: { address: 'a@external.test' } }] } });
    assert.equal(shared.status, 202, 'a delegate sends as the shared mailbox');
    assertGraphError(await g.post('/v1.0/users/info@contoso.test/sendMail', tok.bob, { message: { subject: 'x', toRecipients: [{ emailAddress: { address: 'a@external.test' } }] } }), 403, 'ErrorSendAsDenied');
  });

  test('sendMail: Graph-like validation errors', async () => {
    const send = (body, opts) => g.post('/v1.0/users/alice@contoso.test/sendMail', tok.app, body, opts);
    assertGraphError(await send({ message: { subject: 'x' } }), 400, 'ErrorInvalidRecipients', "At least one recipient is not valid., A message can't be sent because it contains no recipients.");
    assertGraphError(await send({ message: { toRecipients: [{ emailAddress: { address: 'not an address' } }] } }), 400, 'ErrorInvalidRecipients', "At least one recipient is not valid., Recipient 'not an address' is not resolved. All recipients must be resolved before a message can be submitted.");
    assertGraphError(await send({ saveToSentItems: false }), 400, 'ErrorInvalidParameter', "The value of the parameter 'Message' is empty.");
    assertGraphError(await send({ message: { toRecipient: [] } }), 400, 'RequestBodyRead', /^The property 'toRecipient' does not exist on type 'microsoft\.graph\.message'/);
    assertGraphError(await send({ message: { toRecipients: [{ emailAddress: { address: 'b@x.test' } }], body: { contentType: 'markdown', content: '' } } }), 400, 'RequestBodyRead', /microsoft\.graph\.bodyType/);
    assertGraphError(await send({ mesage: {} }), 400, 'RequestBodyRead', "The parameter 'mesage' in the request payload is not a valid parameter for the operation 'sendMail'.");
    assertGraphError(await send('', { raw: true }), 400, 'BadRequest', 'Empty Payload. JSON content expected.');
    assertGraphError(await send('{not json', { raw: true }), 400, 'BadRequest', /^Unable to read JSON request payload/);
    assertGraphError(await g.post('/v1.0/me/sendMail', tok.bobMailOnly, { message: { toRecipients: [{ emailAddress: { address: 'b@x.test' } }] } }), 403, 'ErrorAccessDenied', MAIL_DENIED);
  });
});

describe('calendar', () => {
  test('events: Calendars scopes; 403 ErrorAccessDenied without; $top, $select, nextLink', async () => {
    const r = await g.get('/v1.0/me/events?$top=1&$select=subject,start', tok.erinCalendars);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.value.length, 1);
    assert.deepEqual(Object.keys(r.body.value[0]).sort(), ['@odata.etag', 'id', 'start', 'subject']);
    assert.equal(r.body.value[0].subject, 'Weekly team sync');
    assert.deepEqual(r.body.value[0].start, { dateTime: '2026-01-12T09:00:00.0000000', timeZone: 'UTC' });
    assert.ok(r.body['@odata.nextLink'].includes('/v1.0/me/events?'));
    assert.ok(r.body['@odata.context'].endsWith('/events(subject,start)'), r.body['@odata.context']);
    const all = await g.get('/v1.0/me/calendar/events', tok.erinCalendars);
    assert.equal(all.body.value.length, 3);
    assert.equal(all.body.value[0].organizer.emailAddress.address, 'erin@fabrikam.test');
    assertGraphError(await g.get('/v1.0/me/events', tok.alice), 403, 'ErrorAccessDenied', MAIL_DENIED);
    assertGraphError(await g.get('/v1.0/me/events', tok.app), 400, 'BadRequest');
    assertGraphError(await g.get('/v1.0/users/alice@contoso.test/events', tok.app), 403, 'ErrorAccessDenied', MAIL_DENIED);
    assertGraphError(await g.get('/v1.0/me/events?$select=nope', tok.erinCalendars), 400, 'BadRequest', "Could not find a property named 'nope' on type 'microsoft.graph.event'.");
    assertGraphError(await g.get('/v1.0/me/events?$orderby=start', tok.erinCalendars), 400, 'BadRequest');
  });

  test('a message sent to oneself is the newest in the inbox by receivedDateTime', async () => {
    const subject = `To myself ${Date.now()}`;
    const sent = await g.post('/v1.0/me/sendMail', tok.alice, { message: { subject, body: { contentType: 'Text', content: 'test' }, toRecipients: [{ emailAddress: { address: 'alice@contoso.test' } }] }, saveToSentItems: false });
    assert.equal(sent.status, 202);
    const r = await g.get('/v1.0/me/mailFolders/inbox/messages?$top=1&$orderby=receivedDateTime%20desc&$select=subject,receivedDateTime', tok.alice);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.value[0].subject, subject);
    assert.ok(Date.parse(r.body.value[0].receivedDateTime) > Date.parse('2026-01-05T09:00:00Z'));
    assertGraphError(await g.post('/v1.0/me/sendMail', tok.aliceBasic, { message: { subject, toRecipients: [{ emailAddress: { address: 'alice@contoso.test' } }] } }), 403, 'ErrorAccessDenied', MAIL_DENIED);
  });
});

describe('applications', () => {
  const ownPath = `/v1.0/applications(appId='${web.client_id}')`;

  test('passwordCredentials come live from the idp; OwnedBy reads only its own app', async () => {
    assertGraphError(await g.get(`${ownPath}?$select=passwordCredentials`, tok.app), 403, 'Authorization_RequestDenied', DENIED);
    await setRoles(['Application.ReadWrite.OwnedBy']);
    try {
      const t = await appToken(idp.base);
      const r = await g.get(`${ownPath}?$select=id,appId,displayName,passwordCredentials`, t);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body['@odata.context'], `${graph.base}/v1.0/$metadata#applications(id,appId,displayName,passwordCredentials)/$entity`);
      assert.equal(r.body.appId, web.client_id);
      assert.equal(r.body.displayName, web.name);
      assert.match(r.body.id, GUID);
      const idpSecrets = await ctl(idp.base, 'GET', `/_control/clients/${web.client_id}/secrets`);
      assert.deepEqual(r.body.passwordCredentials.map((c) => [c.keyId, c.hint, c.displayName, c.endDateTime]), idpSecrets.map((s) => [s.keyId, s.hint, s.displayName, s.endDateTime]));
      assert.deepEqual(r.body.passwordCredentials.map((c) => c.hint), web.secrets.map((s) => s.hint));
      for (const c of r.body.passwordCredentials) {
        assert.deepEqual(Object.keys(c), ['customKeyIdentifier', 'displayName', 'endDateTime', 'hint', 'keyId', 'secretText', 'startDateTime']);
        assert.equal(c.secretText, null);
      }
      // by object id, too
      const byObject = await g.get(`/v1.0/applications/${r.body.id}?$select=appId`, t);
      assert.equal(byObject.body.appId, web.client_id);
      // another app: OwnedBy does not reach it
      assertGraphError(await g.get(`/v1.0/applications(appId='${pub.client_id}')`, t), 403, 'Authorization_RequestDenied', DENIED);
    } finally {
      await setRoles(DEFAULT_ROLES);
    }
  });

  test('Application.Read.All reads any app of the tenant; unknown 404; Fabrikam has no application object', async () => {
    await setRoles(['Application.Read.All']);
    await setRoles(['Application.Read.All'], { tenant: FABRIKAM });
    try {
      const t = await appToken(idp.base);
      const r = await g.get(`/v1.0/applications(appId='${single.client_id}')?$select=passwordCredentials,signInAudience`, t);
      assert.equal(r.status, 200);
      assert.equal(r.body.signInAudience, 'AzureADMyOrg');
      assert.deepEqual(r.body.passwordCredentials.map((c) => c.hint), ['St3']);
      assertGraphError(await g.get("/v1.0/applications(appId='dddddddd-0000-4000-8000-000000000009')", t), 404, 'Request_ResourceNotFound', /^Resource 'dddddddd-0000-4000-8000-000000000009' does not exist/);
      assertGraphError(await g.post(`/v1.0/applications(appId='${single.client_id}')/addPassword`, t, {}), 403, 'Authorization_RequestDenied', DENIED);
      const list = await g.get(`/v1.0/applications?$filter=appId eq '${web.client_id}'&$select=id,appId`, t);
      assert.deepEqual(list.body.value.map((a) => a.appId), [web.client_id]);
      const fab = await appToken(idp.base, { tenant: 'fabrikam.test' });
      assertGraphError(await g.get(ownPath, fab), 404, 'Request_ResourceNotFound');
    } finally {
      await setRoles(DEFAULT_ROLES);
      await setRoles(DEFAULT_ROLES, { tenant: FABRIKAM });
    }
  });

  test('addPassword / removePassword round trip through the idp', async () => {
    await setRoles(['Application.ReadWrite.OwnedBy']);
    try {
      const t = await appToken(idp.base);
      const end = '2027-03-01T00:00:00Z';
      const add = await g.post(`${ownPath}/addPassword`, t, { passwordCredential: { displayName: 'rotated by test', endDateTime: end } });
      assert.equal(add.status, 200, JSON.stringify(add.body));
      const pc = add.body;
      assert.equal(pc['@odata.context'], `${graph.base}/v1.0/$metadata#microsoft.graph.passwordCredential`);
      assert.equal(pc.displayName, 'rotated by test');
      assert.equal(Date.parse(pc.endDateTime), Date.parse(end));
      assert.match(pc.keyId, GUID);
      assert.ok(pc.secretText.length >= 30);
      assert.equal(pc.hint, pc.secretText.slice(0, 3));
      assert.equal(pc.customKeyIdentifier, null);
      // visible in the idp and in Graph, without its value
      const idpSecrets = await ctl(idp.base, 'GET', `/_control/clients/${web.client_id}/secrets`);
      assert.ok(idpSecrets.some((s) => s.keyId === pc.keyId && s.hint === pc.hint));
      const read = await g.get(`${ownPath}?$select=passwordCredentials`, t);
      const listed = read.body.passwordCredentials.find((c) => c.keyId === pc.keyId);
      assert.equal(listed.secretText, null);
      // the new secret works at the token endpoint
      const withNew = await form(`${idp.base}/contoso.test/oauth2/v2.0/token`, { grant_type: 'client_credentials', client_id: web.client_id, client_secret: pc.secretText, scope: 'https://graph.microsoft.com/.default' });
      assert.equal(withNew.status, 200);
      // the new secret is not in Graph's log
      assert.ok(!JSON.stringify(await g.control('GET', '/log')).includes(pc.secretText));

      const rm = await g.post(`${ownPath}/removePassword`, t, { keyId: pc.keyId });
      assert.equal(rm.status, 204);
      assert.equal(rm.text, '');
      const after = await ctl(idp.base, 'GET', `/_control/clients/${web.client_id}/secrets`);
      assert.ok(!after.some((s) => s.keyId === pc.keyId));
      const withRemoved = await form(`${idp.base}/contoso.test/oauth2/v2.0/token`, { grant_type: 'client_credentials', client_id: web.client_id, client_secret: pc.secretText, scope: 'https://graph.microsoft.com/.default' });
      assert.equal(withRemoved.status, 401);
      assertGraphError(await g.post(`${ownPath}/removePassword`, t, { keyId: pc.keyId }), 400, 'Request_BadRequest');
      assertGraphError(await g.post(`${ownPath}/addPassword`, t, { passwordCredential: { endDateTime: 'soon' } }), 400, 'RequestBodyRead', /Edm\.DateTimeOffset/);
    } finally {
      await setRoles(DEFAULT_ROLES);
    }
  });

  test('an expired secret shows its past endDateTime', async () => {
    const added = await ctl(idp.base, 'POST', `/_control/clients/${single.client_id}/secrets`, { displayName: 'to expire' });
    await ctl(idp.base, 'POST', `/_control/clients/${single.client_id}/secrets/${added.keyId}/expire`);
    await setRoles(['Application.Read.All'], { client: web });
    try {
      const t = await appToken(idp.base);
      const r = await g.get(`/v1.0/applications(appId='${single.client_id}')?$select=passwordCredentials`, t);
      const c = r.body.passwordCredentials.find((x) => x.keyId === added.keyId);
      assert.ok(Date.parse(c.endDateTime) < Date.now());
    } finally {
      await setRoles(DEFAULT_ROLES);
      await ctl(idp.base, 'DELETE', `/_control/clients/${single.client_id}/secrets/${added.keyId}`);
    }
  });
});

describe('faults', () => {
  after(() => g.call('DELETE', '/_control/faults'));

  test('429 with Retry-After for `count` requests matching a path', async () => {
    const f = await g.control('POST', '/faults', { status: 429, retry_after: 7, count: 2, path: '/messages$' });
    assert.equal(f.remaining, 2);
    const path = '/v1.0/users/alice@contoso.test/mailFolders/inbox/messages?$top=1';
    for (let i = 0; i < 2; i++) {
      const r = await g.get(path, tok.app);
      assertGraphError(r, 429, 'TooManyRequests', 'Application is over its MailboxConcurrency limit.');
      assert.equal(r.headers.get('retry-after'), '7');
    }
    assert.equal((await g.get(path, tok.app)).status, 200);
    assert.deepEqual(await g.control('GET', '/faults'), []);
    // not matching the path: untouched
    await g.control('POST', '/faults', { status: 429, path: '/sendMail$' });
    assert.equal((await g.get('/v1.0/users/alice@contoso.test', tok.app)).status, 200);
    const directory = await g.control('POST', '/faults', { status: 429, path: '^/v1\\.0/users/[^/]+$', count: 1 });
    assert.equal(directory.retry_after, 1);
    assertGraphError(await g.get('/v1.0/users/alice@contoso.test', tok.app), 429, 'TooManyRequests', 'Too many requests');
    await g.call('DELETE', '/_control/faults');
  });

  test('5xx, 403 and a mailbox filter', async () => {
    for (const [status, code] of [[500, 'InternalServerError'], [503, 'ServiceNotAvailable'], [504, 'GatewayTimeout']]) {
      await g.control('POST', '/faults', { status, count: 1, mailbox: 'BOB@contoso.test' });
      assert.equal((await g.get('/v1.0/users/alice@contoso.test/mailFolders/inbox/messages?$top=1', tok.app)).status, 200, 'other mailbox');
      assertGraphError(await g.get('/v1.0/users/bob@contoso.test/mailFolders/inbox/messages?$top=1', tok.app), status, code);
    }
    await g.control('POST', '/faults', { status: 503, retry_after: 3, count: 1, mailbox: 'bob@contoso.test' });
    const me = await g.get('/v1.0/me/mailFolders/inbox/messages?$top=1', tok.bob);
    assertGraphError(me, 503, 'ServiceNotAvailable');
    assert.equal(me.headers.get('retry-after'), '3');
    await g.control('POST', '/faults', { status: 403, count: 1, path: 'sendMail' });
    assertGraphError(await g.post('/v1.0/me/sendMail', tok.bob, { message: { toRecipients: [{ emailAddress: { address: 'x@y.test' } }] } }), 403, 'ErrorAccessDenied', MAIL_DENIED);
    const bad = await fetch(`${graph.base}/_control/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 418 }) });
    assert.equal(bad.status, 400);
  });

  test('modes that are not Graph errors: drop, hang, truncated, malformed, html, huge', async () => {
    const url = `${graph.base}/v1.0/me`;
    const raw = (ms = 5000) => fetch(url, { headers: { authorization: `Bearer ${tok.alice}` }, signal: AbortSignal.timeout(ms) });
    const bad = await fetch(`${graph.base}/_control/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode: 'sideways' }) });
    assert.equal(bad.status, 400);
    await g.control('POST', '/faults', { mode: 'drop', count: 1, path: '^/v1\\.0/me$' });
    await assert.rejects(raw(), /fetch failed|socket|terminated/i);
    await g.control('POST', '/faults', { mode: 'hang', count: 1, path: '^/v1\\.0/me$' });
    await assert.rejects(raw(300), /TimeoutError|aborted/);
    await g.control('POST', '/faults', { mode: 'truncated', count: 1, path: '^/v1\\.0/me$' });
    await assert.rejects(raw().then((r) => r.text()), /terminated|socket|other side closed/i);
    await g.control('POST', '/faults', { mode: 'malformed', count: 1, path: '^/v1\\.0/me$' });
    const m = await raw();
    assert.equal(m.status, 200);
    await assert.rejects(m.json(), SyntaxError);
    await g.control('POST', '/faults', { mode: 'html', count: 1, path: '^/v1\\.0/me$' });
    const h = await raw();
    assert.equal(h.status, 200);
    assert.match(h.headers.get('content-type'), /text\/html/);
    const f = await g.control('POST', '/faults', { mode: 'huge', bytes: 2 * 1024 * 1024, count: 1, path: '^/v1\\.0/me$' });
    assert.equal(f.bytes, 2 * 1024 * 1024);
    const big = await raw();
    assert.equal((await big.arrayBuffer()).byteLength, 2 * 1024 * 1024);
    assert.equal((await raw()).status, 200, 'normal once the faults are used up');
  });

  test('delay_ms: a slow but normal answer', async () => {
    await g.control('POST', '/faults', { delay_ms: 400, count: 1, path: '^/v1\\.0/me$' });
    const t0 = Date.now();
    const r = await g.get('/v1.0/me', tok.alice);
    assert.equal(r.status, 200);
    assert.ok(Date.now() - t0 >= 380, `took ${Date.now() - t0} ms`);
    const log = await g.control('GET', '/log');
    const e = log.at(-1);
    assert.equal(e.injected, true);
    assert.ok(e.t_end - e.t_start >= 380);
  });
});

describe('opaque access tokens (personal accounts; the idp in opaque mode)', () => {
  after(() => ctl(idp.base, 'POST', '/_control/token-format', { format: 'microsoft' }));

  test('a personal account\'s opaque token is checked by introspection', async () => {
    assert.match(tok.carol, /^EwB/);
    const r = await g.get('/v1.0/me', tok.carol);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.userPrincipalName ?? r.body.mail, 'carol@outlook.test');
    const e = (await g.control('GET', '/log')).filter((x) => x.path === '/v1.0/me').at(-1);
    assert.ok(['introspection', 'cache'].includes(e.token_check), e.token_check);
    const fresh = await userTokens(idp.base, { user: 'carol@outlook.test', scope: 'User.Read', tenant: 'consumers' });
    assert.equal((await g.get('/v1.0/me', fresh.access_token)).status, 200);
    assert.equal((await g.control('GET', '/log')).at(-1).token_check, 'introspection', 'an opaque token is never read, only introspected');
    assertGraphError(await g.get('/v1.0/me', 'EwBnot-a-token-at-all'), 401, 'InvalidAuthenticationToken');
  });

  test('opaque app-only token: roles come from introspection, and are enforced', async () => {
    await ctl(idp.base, 'POST', '/_control/token-format', { format: 'opaque' });
    const t = await appToken(idp.base);
    assert.match(t, /^EwB/);
    assert.equal((await g.get('/v1.0/users/alice@contoso.test', t)).status, 200);
    await setRoles(['Mail.Send']);
    try {
      const weak = await appToken(idp.base);
      assertGraphError(await g.get('/v1.0/users/alice@contoso.test', weak), 403, 'Authorization_RequestDenied');
    } finally {
      await setRoles(DEFAULT_ROLES);
    }
  });
});

describe('access-denied mailboxes (application access policy)', () => {
  after(() => g.call('DELETE', '/_control/access-denied'));

  test('app-only requests to those mailboxes answer 403 RAOP; others and delegated work', async () => {
    const r = await g.control('POST', '/access-denied', { mailboxes: ['Bob@contoso.test', 'user05@contoso.test'] });
    assert.deepEqual(r.mailboxes, ['bob@contoso.test', 'user05@contoso.test']);
    assertGraphError(await g.get('/v1.0/users/bob@contoso.test/mailFolders/inbox/messages', tok.app), 403, 'ErrorAccessDenied', RAOP);
    assertGraphError(await g.get(`/v1.0/users/${fixtures.users.bob.oid}/mailFolders/inbox/messages`, tok.app), 403, 'ErrorAccessDenied', RAOP);
    assertGraphError(await g.post('/v1.0/users/user05@contoso.test/sendMail', tok.app, { message: { toRecipients: [{ emailAddress: { address: 'x@y.test' } }] } }), 403, 'ErrorAccessDenied', RAOP);
    assertGraphError(await g.get('/v1.0/users/bob@contoso.test', tok.app), 403, 'ErrorAccessDenied', RAOP);
    const list = await g.get('/v1.0/users?$select=userPrincipalName', tok.app);
    assert.ok(!list.body.value.some((u) => u.userPrincipalName === 'bob@contoso.test'));
    assert.equal((await g.get('/v1.0/users/alice@contoso.test/mailFolders/inbox/messages', tok.app)).status, 200);
    assert.equal((await g.get('/v1.0/me/mailFolders/inbox/messages', tok.bob)).status, 200, 'delegated access is not an app policy matter');
    await g.call('DELETE', '/_control/access-denied');
    assert.equal((await g.get('/v1.0/users/bob@contoso.test/mailFolders/inbox/messages', tok.app)).status, 200);
  });
});

describe('mailbox concurrency', () => {
  after(async () => {
    await g.call('DELETE', '/_control/faults');
    await g.control('POST', '/limits', { mailbox_concurrency: 4 });
  });

  test('a fifth concurrent request of one app to one mailbox: 429 ApplicationThrottled, Retry-After 1', async () => {
    await g.control('POST', '/faults', { delay_ms: 500, mailbox: 'user01@contoso.test' });
    await g.call('DELETE', '/_control/log');
    const path = '/v1.0/users/user01@contoso.test/mailFolders/inbox/messages?$top=1';
    const results = await Promise.all([...Array(6)].map(() => g.get(path, tok.app)));
    const throttled = results.filter((r) => r.status === 429);
    assert.equal(results.filter((r) => r.status === 200).length, 4);
    assert.equal(throttled.length, 2);
    for (const r of throttled) {
      assertGraphError(r, 429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.');
      assert.equal(r.headers.get('retry-after'), '1');
    }
    // another app (single-tenant) and another mailbox are not affected meanwhile
    const other = await appToken(idp.base, { client: single, secret: single.secrets[0].value });
    const [a, b] = await Promise.all([g.get(path, other), g.get('/v1.0/users/user02@contoso.test/mailFolders/inbox/messages?$top=1', tok.app), ...[...Array(4)].map(() => g.get(path, tok.app))]);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    const log = (await g.control('GET', '/log')).slice(0, 6);
    // a throttled request leaves at once, so the sixth also finds five in flight
    assert.deepEqual(log.filter((e) => !e.throttled).map((e) => e.in_flight).sort(), [1, 2, 3, 4]);
    assert.equal(log.filter((e) => e.throttled).length, 2);
    for (const e of log.filter((x) => x.throttled)) {
      assert.equal(e.status, 429);
      assert.equal(e.error_code, 'ApplicationThrottled');
      assert.ok(e.in_flight > 4);
    }
  });

  test('the limit is configurable', async () => {
    await g.control('POST', '/limits', { mailbox_concurrency: 1 });
    await g.call('DELETE', '/_control/faults');
    await g.control('POST', '/faults', { delay_ms: 300, mailbox: 'user03@contoso.test' });
    const results = await Promise.all([...Array(2)].map(() => g.get('/v1.0/users/user03@contoso.test/messages?$top=1', tok.app)));
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 429]);
  });
});

describe('log and request ids', () => {
  test('every request is logged with its fields; client-request-id is echoed', async () => {
    await g.call('DELETE', '/_control/log');
    const crid = '0f0e0d0c-0000-4000-8000-00000000abcd';
    const r = await g.get('/v1.0/users/alice@contoso.test/mailFolders/inbox/messages?$top=2', tok.app, { headers: { 'client-request-id': crid } });
    assert.equal(r.headers.get('client-request-id'), crid);
    assert.match(r.headers.get('request-id'), GUID);
    await g.get('/v1.0/me', tok.bob);
    await g.get('/v1.0/me');
    const log = await g.control('GET', '/log');
    assert.equal(log.length, 3);
    const [e, d, none] = log;
    for (const k of ['t_start', 't_sent', 't_end', 'method', 'path', 'query', 'mailbox', 'app_id', 'auth', 'status', 'error_code', 'injected', 'token_cached', 'in_flight']) assert.ok(k in e, k);
    assert.ok(e.t_sent >= e.t_start && e.t_end >= e.t_sent && e.t_start > Date.now() - 60_000);
    assert.deepEqual(
      { method: e.method, path: e.path, query: e.query, mailbox: e.mailbox, app_id: e.app_id, auth: e.auth, status: e.status, error_code: e.error_code, injected: e.injected, in_flight: e.in_flight, client_request_id: e.client_request_id, request_id: e.request_id },
      { method: 'GET', path: '/v1.0/users/alice@contoso.test/mailFolders/inbox/messages', query: '$top=2', mailbox: 'alice@contoso.test', app_id: web.client_id, auth: 'app', status: 200, error_code: null, injected: false, in_flight: 1, client_request_id: crid, request_id: r.headers.get('request-id') },
    );
    assert.equal(d.auth, 'delegated');
    assert.equal(d.mailbox, 'me');
    assert.equal(d.user, 'bob@contoso.test');
    assert.equal(none.auth, 'none');
    assert.equal(none.status, 401);
    assert.equal(none.error_code, 'InvalidAuthenticationToken');
  });

  test('unknown segments 400, wrong method 405, unknown version 400, /beta', async () => {
    assertGraphError(await g.get('/v1.0/nosuch', tok.app), 400, 'BadRequest', "Resource not found for the segment 'nosuch'.");
    assertGraphError(await g.get('/v1.0/users/alice@contoso.test/calendarz', tok.app), 400, 'BadRequest', "Resource not found for the segment 'calendarz'.");
    assertGraphError(await g.get('/v1.0/me/mailFolders/inbox/messagez', tok.alice), 400, 'BadRequest', "Resource not found for the segment 'messagez'.");
    assertGraphError(await g.get('/v1.0/users/alice@contoso.test/sendMail', tok.app), 405, 'Request_BadRequest');
    assertGraphError(await g.get('/v2.0/me', tok.alice), 400, 'BadRequest', 'Invalid version: v2.0');
    assert.equal((await g.get('/beta/me', tok.alice)).status, 200);
  });
});

describe('creating app registrations', () => {
  const ADMIN_SCOPES = 'Application.ReadWrite.All AppRoleAssignment.ReadWrite.All DelegatedPermissionGrant.ReadWrite.All';
  const MAIL_READWRITE_ROLE = 'e2a3a72e-5f79-4c64-b1b1-878b674786c9';
  const body = (extra = {}) => ({
    displayName: 'Created by a test',
    signInAudience: 'AzureADMyOrg',
    web: { redirectUris: ['http://localhost/callback'] },
    requiredResourceAccess: [{ resourceAppId: '00000003-0000-0000-c000-000000000000', resourceAccess: [{ id: MAIL_READWRITE_ROLE, type: 'Role' }] }],
    ...extra,
  });

  test('an admin creates an app, its service principal, a secret and consent; the idp knows the app', async () => {
    const admin = (await userTokens(idp.base, { user: 'alice@contoso.test', scope: ADMIN_SCOPES })).access_token;
    const created = await g.post('/v1.0/applications', admin, body());
    assert.equal(created.status, 201, created.text);
    assert.match(created.body.id, GUID);
    assert.match(created.body.appId, GUID);
    assert.deepEqual(created.body.web.redirectUris, ['http://localhost/callback']);
    const read = await g.get(`/v1.0/applications/${created.body.id}`, admin);
    assert.equal(read.body.displayName, 'Created by a test');
    const patched = await g.call('PATCH', `/v1.0/applications/${created.body.id}`, admin, { body: { displayName: 'Renamed' } });
    assert.equal(patched.status, 204, patched.text);
    assert.equal((await g.get(`/v1.0/applications/${created.body.id}`, admin)).body.displayName, 'Renamed');

    // Before its service principal, client credentials name it missing (7000229).
    const pw = await g.post(`/v1.0/applications/${created.body.id}/addPassword`, admin, { passwordCredential: { displayName: 't', endDateTime: new Date(Date.now() + 30 * 86400e3).toISOString() } });
    assert.equal(pw.status, 200, pw.text);
    const cc = () => form(`${idp.base}/contoso.test/oauth2/v2.0/token`, { grant_type: 'client_credentials', client_id: created.body.appId, client_secret: pw.body.secretText, scope: 'https://graph.microsoft.com/.default' });
    assert.deepEqual((await cc()).body.error_codes, [7000229]);
    const sp = await g.post('/v1.0/servicePrincipals', admin, { appId: created.body.appId });
    assert.equal(sp.status, 201, sp.text);
    const again = await g.post('/v1.0/servicePrincipals', admin, { appId: created.body.appId });
    assert.equal(again.status, 409);
    const noRoles = await cc();
    assert.equal(noRoles.status, 200, JSON.stringify(noRoles.body));
    assert.equal(decode(noRoles.body.access_token).roles, undefined, 'no roles before consent');

    const graphSp = await g.get("/v1.0/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')", admin);
    assert.equal(graphSp.status, 200);
    assert.ok(graphSp.body.appRoles.some((r) => r.id === MAIL_READWRITE_ROLE && r.value === 'Mail.ReadWrite'));
    const assigned = await g.post(`/v1.0/servicePrincipals/${graphSp.body.id}/appRoleAssignedTo`, admin, { principalId: sp.body.id, resourceId: graphSp.body.id, appRoleId: MAIL_READWRITE_ROLE });
    assert.equal(assigned.status, 201, assigned.text);
    const unknownRole = await g.post(`/v1.0/servicePrincipals/${graphSp.body.id}/appRoleAssignedTo`, admin, { principalId: sp.body.id, resourceId: graphSp.body.id, appRoleId: '00000000-0000-4000-8000-000000000000' });
    assertGraphError(unknownRole, 400, 'Request_BadRequest', 'Permission being assigned was not found on application');
    const grant = await g.post('/v1.0/oauth2PermissionGrants', admin, { clientId: sp.body.id, consentType: 'AllPrincipals', resourceId: graphSp.body.id, scope: 'openid User.Read' });
    assert.equal(grant.status, 201, grant.text);
    assert.deepEqual(decode((await cc()).body.access_token).roles, ['Mail.ReadWrite']);
    const listed = await g.control('GET', '/created');
    assert.ok(listed.oauth2_permission_grants.some((x) => x.clientId === sp.body.id && x.scope === 'openid User.Read'));
  });

  test('bodies are checked like Graph, and refusals have its shape', async () => {
    const admin = (await userTokens(idp.base, { user: 'alice@contoso.test', scope: ADMIN_SCOPES })).access_token;
    assertGraphError(await g.post('/v1.0/applications', admin, body({ colour: 'blue' })), 400, 'RequestBodyRead', /The property 'colour' does not exist on type 'microsoft.graph.application'/);
    assertGraphError(await g.post('/v1.0/applications', admin, body({ web: { redirectUris: ['http://example.com/cb'] } })), 400, 'Request_BadRequest', /redirectUris/);
    assertGraphError(await g.post('/v1.0/applications', admin, { signInAudience: 'AzureADMyOrg' }), 400, 'Request_BadRequest', /displayName/);
    assertGraphError(await g.post('/v1.0/applications', tok.alice, body()), 403, 'Authorization_RequestDenied', DENIED);

    // "Users can register applications" off: a member without a role is refused, an admin is not.
    await g.control('POST', '/tenant-settings', { tenant: 'contoso.test', users_can_register_apps: false });
    const bob = (await userTokens(idp.base, { user: 'bob@contoso.test', scope: ADMIN_SCOPES })).access_token;
    assertGraphError(await g.post('/v1.0/applications', bob, body()), 403, 'Authorization_RequestDenied', DENIED);
    await g.control('POST', '/tenant-settings', { tenant: 'contoso.test', users_can_register_apps: true });
    const bobs = await g.post('/v1.0/applications', bob, body());
    assert.equal(bobs.status, 201);
    const sp = await g.post('/v1.0/servicePrincipals', bob, { appId: bobs.body.appId });
    const graphSp = await g.get("/v1.0/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')", bob);
    assertGraphError(await g.post('/v1.0/oauth2PermissionGrants', bob, { clientId: sp.body.id, consentType: 'AllPrincipals', resourceId: graphSp.body.id, scope: 'User.Read' }), 403, 'Authorization_RequestDenied', DENIED);

    // The app management policy caps secret lifetimes.
    await g.control('POST', '/tenant-settings', { tenant: 'contoso.test', max_password_lifetime_days: 90, policy_id: 'p-1' });
    const long = await g.post(`/v1.0/applications/${bobs.body.id}/addPassword`, admin, { passwordCredential: { endDateTime: new Date(Date.now() + 180 * 86400e3).toISOString() } });
    assertGraphError(long, 400, 'CredentialInvalidLifetimeAsPerAppPolicy', "Credential lifetime exceeds the max value allowed as per assigned policy 'p-1'.");
    assert.deepEqual(long.body.error.details.map((d) => [d.code, d.target]), [['InvalidKeyEndDate', 'EndDate']]);
    const ok = await g.post(`/v1.0/applications/${bobs.body.id}/addPassword`, admin, { passwordCredential: { endDateTime: new Date(Date.now() + 80 * 86400e3).toISOString() } });
    assert.equal(ok.status, 200, ok.text);
    await g.control('POST', '/tenant-settings', { tenant: 'contoso.test', max_password_lifetime_days: null });

    // Replication: the idp does not know a new app for the delay.
    await g.control('POST', '/replication', { delay_ms: 1500 });
    const slow = await g.post('/v1.0/applications', admin, body({ web: undefined, publicClient: { redirectUris: ['http://localhost'] }, isFallbackPublicClient: true }));
    await g.control('POST', '/replication', { delay_ms: 0 });
    const dc = () => form(`${idp.base}/contoso.test/oauth2/v2.0/devicecode`, { client_id: slow.body.appId, scope: 'openid' });
    assert.deepEqual((await dc()).body.error_codes, [700016]);
    await new Promise((r) => setTimeout(r, 1600));
    assert.equal((await dc()).status, 200);
  });
});
