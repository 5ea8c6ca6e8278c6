// Self-tests of the local identity provider: node --test tests/idp/
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, createPublicKey, randomBytes, verify as rsaVerify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createInterface } from 'node:readline';

const fixtures = JSON.parse(readFileSync(new URL('./fixtures.json', import.meta.url), 'utf8'));
const SERVER = new URL('./server.mjs', import.meta.url).pathname;
const { web, public: pub, single_tenant: single, work_only: workOnly } = fixtures.clients;
const CONTOSO = fixtures.tenants.contoso.id;
const FABRIKAM = fixtures.tenants.fabrikam.id;
const CONSUMERS = fixtures.tenants.consumers.id;
const GRAPH_AUD = 'https://graph.microsoft.com';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const APP_PORT = 43917; // the app's loopback listener; nothing listens, the browser leg stops there

// ---- helpers ---------------------------------------------------------------------------------

/** How long a start may take before it counts as hung (a start takes well under a second). */
const START_TIMEOUT_MS = 15000;

/** Starts the provider; resolves once its ready line is read. A start that hangs is retried once. */
async function startIdp(options = {}) {
  try {
    return await startOnce(options);
  } catch (e) {
    if (!e.hung) throw e;
    return startOnce(options);
  }
}

function startOnce({ env = {}, port = 0 } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [SERVER, '--port', String(port)], {
      env: { ...process.env, IDP_DEVICE_INTERVAL: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    proc.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(Object.assign(new Error(`idp did not start within ${START_TIMEOUT_MS} ms: ${stderr}`), { hung: true }));
    }, START_TIMEOUT_MS);
    const lines = createInterface({ input: proc.stdout });
    const extra = [];
    lines.once('line', (line) => {
      clearTimeout(timer);
      const ready = JSON.parse(line);
      lines.on('line', (l) => extra.push(l));
      const exited = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
      resolve({
        ...ready, proc, extra, exited, stderr: () => stderr,
        async stop() {
          proc.kill('SIGTERM');
          return exited;
        },
      });
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`idp exited with ${code}: ${stderr}`));
    });
  });
}

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

const decode = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));

function assertMsError(body, code, error) {
  assert.equal(body.error, error, JSON.stringify(body));
  assert.deepEqual(body.error_codes, [code]);
  assert.match(body.error_description, new RegExp(`^AADSTS${code}: `));
  assert.match(body.error_description, /\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: [0-9a-f-]{36}\r\nTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
  assert.match(body.timestamp, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
  assert.match(body.trace_id, /^[0-9a-f-]{36}$/);
  assert.match(body.correlation_id, /^[0-9a-f-]{36}$/);
  assert.match(body.error_uri, new RegExp(`/error\\?code=${code}$`));
}

function verifyWithJwks(jwt, jwks) {
  const [h, p, s] = jwt.split('.');
  const { kid, alg } = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
  assert.equal(alg, 'RS256');
  const jwk = jwks.keys.find((k) => k.kid === kid);
  assert.ok(jwk, 'signing key is in the JWKS');
  return rsaVerify('sha256', Buffer.from(`${h}.${p}`), createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(s, 'base64url'));
}

function makeClient(base) {
  const c = {
    base,
    async post(path, form, headers = {}) {
      const r = await fetch(base + path, { method: 'POST', headers, body: new URLSearchParams(form) });
      const text = await r.text();
      let body;
      try { body = JSON.parse(text); } catch { body = text; }
      return { status: r.status, body, headers: r.headers };
    },
    async json(method, path, body) {
      const r = await fetch(base + path, { method, headers: { 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
      return { status: r.status, body: await r.json() };
    },
    token: (tenant, form, headers) => c.post(`/${tenant}/oauth2/v2.0/token`, form, headers),

    /** Plays the browser: follows redirects (no cookies) until the app's redirect URI is reached. */
    async browse(url, stopAt = `http://127.0.0.1:${APP_PORT}`) {
      for (let hops = 0; hops < 10; hops++) {
        const r = await fetch(url, { redirect: 'manual' });
        if (r.status < 300 || r.status >= 400) return { status: r.status, url, body: await r.text() };
        url = new URL(r.headers.get('location'), url).href;
        if (url.startsWith(stopAt)) return { status: r.status, url, params: new URL(url).searchParams };
      }
      throw new Error('too many redirects');
    },

    authorizeUrl({ tenant = 'common', client = pub, scope = 'openid profile email offline_access User.Read Mail.Read', loginHint, redirectUri = `http://127.0.0.1:${APP_PORT}/callback`, challenge, state = 'st-' + randomBytes(4).toString('hex'), extra = {} } = {}) {
      const u = new URL(`${base}/${tenant}/oauth2/v2.0/authorize`);
      const q = { client_id: client.client_id, response_type: 'code', redirect_uri: redirectUri, scope, state, nonce: 'nonce-1', ...extra };
      if (challenge) Object.assign(q, { code_challenge: challenge, code_challenge_method: 'S256' });
      if (loginHint) q.login_hint = loginHint;
      for (const [k, v] of Object.entries(q)) u.searchParams.set(k, v);
      return { url: u.href, state, redirectUri };
    },

    /** A complete sign-in: authorization code with PKCE, redeemed. */
    async signIn({ tenant = 'common', client = pub, secret, scope, loginHint, redirectUri } = {}) {
      const { verifier, challenge } = pkce();
      const a = c.authorizeUrl({ tenant, client, scope, loginHint, challenge, redirectUri });
      const end = await c.browse(a.url, a.redirectUri.replace(/\/callback$/, ''));
      assert.ok(end.params?.get('code'), `a code came back: ${end.url} ${end.body ?? ''}`);
      assert.equal(end.params.get('state'), a.state);
      const form = { client_id: client.client_id, grant_type: 'authorization_code', code: end.params.get('code'), redirect_uri: a.redirectUri, code_verifier: verifier };
      if (secret) form.client_secret = secret;
      const r = await c.token(tenant, form);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body;
    },
  };
  return c;
}

// ---- the shared instance -----------------------------------------------------------------------

let idp;
let c;
let jwks;
before(async () => {
  idp = await startIdp();
  c = makeClient(idp.base);
  jwks = await (await fetch(`${idp.base}/common/discovery/v2.0/keys`)).json();
});
after(async () => {
  const { code, signal } = await idp.stop();
  assert.equal(signal, null);
  assert.equal(code, 0, 'exits cleanly on SIGTERM');
  assert.deepEqual(idp.extra, [], 'nothing on stdout but the ready line');
});

describe('start and discovery', () => {
  test('ready line and health', async () => {
    assert.equal(idp.ready, true);
    assert.equal(idp.base, `http://127.0.0.1:${idp.port}`);
    const h = await c.json('GET', '/_control/health');
    assert.equal(h.status, 200);
    assert.equal(h.body.ok, true);
  });

  test('discovery under /common lists endpoints under the tenant path', async () => {
    const d = await (await fetch(`${idp.base}/common/v2.0/.well-known/openid-configuration`)).json();
    assert.equal(d.authorization_endpoint, `${idp.base}/common/oauth2/v2.0/authorize`);
    assert.equal(d.token_endpoint, `${idp.base}/common/oauth2/v2.0/token`);
    assert.equal(d.device_authorization_endpoint, `${idp.base}/common/oauth2/v2.0/devicecode`);
    assert.equal(d.jwks_uri, `${idp.base}/common/discovery/v2.0/keys`);
    assert.equal(d.issuer, `${idp.base}/{tenantid}/v2.0`);
    assert.ok(d.scopes_supported.includes('offline_access'));
  });

  test('tenant GUID, domain and consumers', async () => {
    for (const [t, iss] of [[CONTOSO, CONTOSO], ['contoso.test', CONTOSO], ['fabrikam.test', FABRIKAM], ['consumers', CONSUMERS], [CONSUMERS, CONSUMERS]]) {
      const d = await (await fetch(`${idp.base}/${t}/v2.0/.well-known/openid-configuration`)).json();
      assert.equal(d.issuer, `${idp.base}/${iss}/v2.0`);
      assert.equal(d.token_endpoint, `${idp.base}/${t}/oauth2/v2.0/token`);
    }
  });

  test('unknown tenant: AADSTS90002 everywhere', async () => {
    const r = await fetch(`${idp.base}/nosuch.test/v2.0/.well-known/openid-configuration`);
    assert.equal(r.status, 400);
    assertMsError(await r.json(), 90002, 'invalid_request');
    const t = await c.token('nosuch.test', { client_id: pub.client_id, grant_type: 'refresh_token', refresh_token: 'x' });
    assert.equal(t.status, 400);
    assertMsError(t.body, 90002, 'invalid_request');
    const d = await c.post('/00000000-1111-4000-8000-000000000000/oauth2/v2.0/devicecode', { client_id: pub.client_id, scope: 'User.Read' });
    assertMsError(d.body, 90002, 'invalid_request');
    const a = await fetch(c.authorizeUrl({ tenant: 'nosuch.test' }).url, { redirect: 'manual' });
    assert.equal(a.status, 400);
    assertMsError(await a.json(), 90002, 'invalid_request');
    const k = await fetch(`${idp.base}/nosuch.test/discovery/v2.0/keys`);
    assert.equal(k.status, 400);
  });
});

describe('authorization code with PKCE', () => {
  test('public client: headless browser leg, id_token, Graph JWT', async () => {
    const t = await c.signIn({ loginHint: 'bob@contoso.test' });
    assert.equal(t.token_type, 'Bearer');
    assert.equal(t.expires_in, 3600);
    // As Microsoft: the OpenID scopes are listed, offline_access never is; the refresh token says it.
    assert.deepEqual(t.scope.split(' ').sort(), ['Mail.Read', 'User.Read', 'email', 'openid', 'profile']);
    assert.ok(t.refresh_token);

    const id = decode(t.id_token);
    assert.ok(verifyWithJwks(t.id_token, jwks));
    const bob = fixtures.users.bob;
    assert.equal(id.tid, CONTOSO);
    assert.equal(id.oid, bob.oid);
    assert.equal(id.preferred_username, bob.upn);
    assert.equal(id.email, bob.email);
    assert.equal(id.name, bob.name);
    assert.equal(id.nonce, 'nonce-1');
    assert.equal(id.aud, pub.client_id);
    assert.equal(id.iss, `${idp.base}/${CONTOSO}/v2.0`);
    assert.notEqual(id.sub, bob.oid, 'sub is pairwise, oid is the stable key');

    assert.ok(verifyWithJwks(t.access_token, jwks), 'Graph access token verifies with the JWKS');
    const at = decode(t.access_token);
    assert.equal(at.aud, GRAPH_AUD);
    assert.deepEqual(at.scp.split(' ').sort(), ['Mail.Read', 'User.Read']);
    assert.equal(at.tid, CONTOSO);
    assert.equal(at.oid, bob.oid);
    assert.equal(at.upn, bob.upn);
    assert.equal(at.appid, pub.client_id);
  });

  test('default account is alice; personal account carol on consumers', async () => {
    const a = decode((await c.signIn()).id_token);
    assert.equal(a.preferred_username, 'alice@contoso.test');
    const carol = decode((await c.signIn({ tenant: 'consumers' })).id_token);
    assert.equal(carol.preferred_username, 'carol@outlook.test');
    assert.equal(carol.tid, CONSUMERS);
    const erin = decode((await c.signIn({ tenant: FABRIKAM })).id_token);
    assert.equal(erin.preferred_username, 'erin@fabrikam.test');
  });

  test('prompt=select_account is accepted; loopback port is ignored; localhost and custom scheme', async () => {
    const { challenge } = pkce();
    const a = c.authorizeUrl({ challenge, extra: { prompt: 'select_account' }, redirectUri: 'http://localhost:51234/' });
    const end = await c.browse(a.url, 'http://localhost:51234/');
    assert.ok(end.params.get('code'));
    const b = c.authorizeUrl({ challenge, redirectUri: 'mailconn://auth' });
    const end2 = await c.browse(b.url, 'mailconn://auth');
    assert.ok(end2.params.get('code'));
  });

  test('confidential client: client_secret_post, client_secret_basic, second secret', async () => {
    const t = await c.signIn({ client: web, secret: web.secrets[0].value });
    assert.ok(t.refresh_token);
    const { verifier, challenge } = pkce();
    const a = c.authorizeUrl({ client: web, challenge });
    const end = await c.browse(a.url);
    const basic = Buffer.from(`${web.client_id}:${web.secrets[1].value}`).toString('base64');
    await c.json('DELETE', '/_control/log');
    const r = await c.token('common', { grant_type: 'authorization_code', code: end.params.get('code'), redirect_uri: a.redirectUri, code_verifier: verifier }, { authorization: `Basic ${basic}` });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const log = (await c.json('GET', '/_control/log')).body;
    const entry = log.find((e) => e.endpoint === 'token');
    assert.equal(entry.client_id, web.client_id);
    assert.equal(entry.secret_hint, web.secrets[1].hint);
    assert.equal(entry.secret_key_id, web.secrets[1].keyId);
    assert.equal(entry.status, 200);
    assert.ok(!JSON.stringify(log).includes(web.secrets[1].value), 'the log never holds a secret value');
  });

  test('"<resource>/.default" means the app\'s configured permissions; unknown login_hint', async () => {
    const t = await c.signIn({ scope: 'openid https://graph.microsoft.com/.default offline_access' });
    assert.deepEqual(decode(t.access_token).scp.split(' ').sort(), ['Mail.ReadWrite', 'Mail.Send', 'User.Read']);
    const end = await c.browse(c.authorizeUrl({ challenge: pkce().challenge, loginHint: 'nobody@contoso.test' }).url);
    assert.equal(end.status, 400);
    assert.match(end.body, /AADSTS50034/);
  });

  test('offline_access is never in a token response\'s scope (code, refresh, device); the refresh token is', async () => {
    const t = await c.signIn({ scope: 'openid offline_access User.Read' });
    assert.deepEqual(t.scope.split(' ').sort(), ['User.Read', 'openid']);
    assert.ok(t.refresh_token);
    const r = await c.token('common', { client_id: pub.client_id, grant_type: 'refresh_token', refresh_token: t.refresh_token, scope: 'offline_access User.Read' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(!r.body.scope.split(' ').includes('offline_access'), r.body.scope);
    assert.ok(r.body.refresh_token);
    const imap = await c.token('common', { client_id: pub.client_id, grant_type: 'refresh_token', refresh_token: t.refresh_token, scope: 'https://outlook.office.com/IMAP.AccessAsUser.All offline_access' });
    assert.ok(!imap.body.scope.includes('offline_access'), imap.body.scope);
  });

  test('access token formats: work accounts JWT, personal accounts opaque (EwB...); control API picks one', async () => {
    const basic = `Basic ${Buffer.from(`${web.client_id}:${web.secrets[0].value}`).toString('base64')}`;
    const work = await c.signIn();
    assert.equal(work.access_token.split('.').length, 3, 'work account: JWT');
    const personal = await c.signIn({ tenant: 'consumers' });
    assert.match(personal.access_token, /^EwB[\w-]{20,}$/, 'personal account: opaque, Microsoft-account-like');
    const i = await c.post('/common/oauth2/v2.0/introspect', { token: personal.access_token }, { authorization: basic });
    assert.equal(i.body.active, true);
    assert.equal(i.body.aud, GRAPH_AUD);
    assert.equal(i.body.tid, CONSUMERS);
    assert.equal(i.body.email, 'carol@outlook.test');
    assert.deepEqual(i.body.scp.split(' ').sort(), ['Mail.Read', 'User.Read']);
    const refreshed = await c.token('common', { client_id: pub.client_id, grant_type: 'refresh_token', refresh_token: personal.refresh_token, scope: 'User.Read' });
    assert.match(refreshed.body.access_token, /^EwB/, 'a refresh keeps the format');

    assert.equal((await c.json('POST', '/_control/token-format', { format: 'bogus' })).status, 400);
    try {
      assert.deepEqual((await c.json('POST', '/_control/token-format', { format: 'opaque' })).body, { format: 'opaque' });
      assert.match((await c.signIn()).access_token, /^EwB/, 'opaque for work accounts too');
      const app = await c.token(CONTOSO, { client_id: web.client_id, client_secret: web.secrets[0].value, grant_type: 'client_credentials', scope: 'https://graph.microsoft.com/.default' });
      assert.equal(app.status, 200, JSON.stringify(app.body));
      assert.match(app.body.access_token, /^EwB/, 'and for app-only tokens');
      const ia = await c.post(`/${CONTOSO}/oauth2/v2.0/introspect`, { token: app.body.access_token }, { authorization: basic });
      assert.equal(ia.body.active, true);
      assert.equal(ia.body.idtyp, 'app');
      assert.deepEqual(ia.body.roles, ['Mail.ReadWrite', 'Mail.Send', 'User.Read.All']);
      await c.json('POST', '/_control/token-format', { format: 'jwt' });
      assert.equal((await c.signIn({ tenant: 'consumers' })).access_token.split('.').length, 3, 'jwt: personal accounts too');
    } finally {
      await c.json('POST', '/_control/token-format', { format: 'microsoft' });
    }
  });

  test('single-tenant client works in its tenant', async () => {
    const t = await c.signIn({ client: single, tenant: CONTOSO, secret: single.secrets[0].value });
    assert.equal(decode(t.id_token).tid, CONTOSO);
  });
});

describe('refresh tokens', () => {
  test('rotation; the old token stays usable; another resource; introspection', async () => {
    const t = await c.signIn();
    const r1 = await c.token('common', { client_id: pub.client_id, grant_type: 'refresh_token', refresh_token: t.refresh_token, scope: 'openid offline_access Mail.Read' });
    assert.equal(r1.status, 200, JSON.stringify(r1.body));
    assert.ok(r1.body.refresh_token);
    assert.notEqual(r1.body.refresh_token, t.refresh_token, 'rotated');
    assert.equal(decode(r1.body.id_token).iss, `${idp.base}/${CONTOSO}/v2.0`);

    const again = await c.token('common', { client_id: pub.client_id, grant_type: 'refresh_token', refresh_token: t.refresh_token, scope: 'Mail.Read offline_access' });
    assert.equal(again.status, 200, 'reusing the old refresh token works (no family revocation)');
    const r2 = await c.token('common', { client_id: pub.client_id, grant_type: 'refresh_token', refresh_token: r1.body.refresh_token, scope: 'offline_access' });
    assert.equal(r2.status, 200, 'and the newer one still works');

    const imap = await c.token('common', { client_id: pub.client_id, grant_type: 'refresh_token', refresh_token: r1.body.refresh_token, scope: 'https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access' });
    assert.equal(imap.status, 200, JSON.stringify(imap.body));
    assert.equal(imap.body.access_token.split('.').length, 1, 'Outlook tokens are opaque');
    assert.match(imap.body.scope, /https:\/\/outlook\.office\.com\/IMAP\.AccessAsUser\.All/);
    assert.match(imap.body.scope, /https:\/\/outlook\.office\.com\/SMTP\.Send/);

    const basic = `Basic ${Buffer.from(`${web.client_id}:${web.secrets[0].value}`).toString('base64')}`;
    const i = await c.post(`/common/oauth2/v2.0/introspect`, { token: imap.body.access_token }, { authorization: basic });
    assert.equal(i.status, 200);
    assert.equal(i.body.active, true);
    assert.equal(i.body.email, 'alice@contoso.test');
    assert.match(i.body.scope, /IMAP\.AccessAsUser\.All/);
    const gone = await c.post(`/common/oauth2/v2.0/introspect`, { token: 'not-a-token' }, { authorization: basic });
    assert.deepEqual(gone.body, { active: false });
    const badSecret = await c.post(`/common/oauth2/v2.0/introspect`, { token: imap.body.access_token }, { authorization: `Basic ${Buffer.from(`${web.client_id}:wrong`).toString('base64')}` });
    assert.equal(badSecret.status, 401);
    assertMsError(badSecret.body, 7000215, 'invalid_client');
  });

  test('errors: unknown 70000, expired 700082, revoked 50173', async () => {
    const bad = await c.token('common', { client_id: pub.client_id, grant_type: 'refresh_token', refresh_token: 'nonsense' });
    assert.equal(bad.status, 400);
    assertMsError(bad.body, 70000, 'invalid_grant');

    const t = await c.signIn({ loginHint: 'bob@contoso.test' });
    const exp = await c.json('POST', '/_control/refresh/expire', { upn: 'bob@contoso.test' });
    assert.ok(exp.body.expired >= 1);
    const expired = await c.token('common', { client_id: pub.client_id, grant_type: 'refresh_token', refresh_token: t.refresh_token });
    assertMsError(expired.body, 700082, 'invalid_grant');

    const t2 = await c.signIn({ loginHint: 'bob@contoso.test' });
    await c.json('POST', '/_control/users/bob@contoso.test/revoke');
    const revoked = await c.token('common', { client_id: pub.client_id, grant_type: 'refresh_token', refresh_token: t2.refresh_token });
    assertMsError(revoked.body, 50173, 'invalid_grant');
    const t3 = await c.signIn({ loginHint: 'bob@contoso.test' });
    const fresh = await c.token('common', { client_id: pub.client_id, grant_type: 'refresh_token', refresh_token: t3.refresh_token });
    assert.equal(fresh.status, 200, 'a new sign-in after the revocation works');

    const t4 = await c.signIn();
    await c.json('POST', '/_control/refresh/expire-all');
    const all = await c.token('common', { client_id: pub.client_id, grant_type: 'refresh_token', refresh_token: t4.refresh_token });
    assertMsError(all.body, 700082, 'invalid_grant');
  });

  test('revocation endpoint', async () => {
    const t = await c.signIn();
    const r = await c.post('/common/oauth2/v2.0/revoke', { client_id: pub.client_id, token: t.refresh_token, token_type_hint: 'refresh_token' });
    assert.equal(r.status, 200);
    const after = await c.token('common', { client_id: pub.client_id, grant_type: 'refresh_token', refresh_token: t.refresh_token });
    assertMsError(after.body, 70000, 'invalid_grant');
  });

  test('no offline_access, no refresh token', async () => {
    const t = await c.signIn({ scope: 'openid profile User.Read' });
    assert.equal(t.refresh_token, undefined);
  });
});

describe('token endpoint errors', () => {
  let fresh;
  before(() => {
    fresh = async (client = pub) => {
      const { verifier, challenge } = pkce();
      const a = c.authorizeUrl({ client, challenge });
      const end = await c.browse(a.url);
      return { code: end.params.get('code'), verifier, redirectUri: a.redirectUri };
    };
  });

  test('client authentication: 7000215, 7000222, 7000218, 700025, 700016', async () => {
    const { code, verifier, redirectUri } = await fresh(web);
    const form = { client_id: web.client_id, grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier };
    const wrong = await c.token('common', { ...form, client_secret: web.secrets[0].keyId });
    assert.equal(wrong.status, 401);
    assertMsError(wrong.body, 7000215, 'invalid_client');

    const added = await c.json('POST', `/_control/clients/${web.client_id}/secrets`, {});
    assert.equal(added.status, 201);
    assert.match(added.body.value, /^...8Q~.{34}$/);
    assert.equal(added.body.hint, added.body.value.slice(0, 3));
    await c.json('POST', `/_control/clients/${web.client_id}/secrets/${added.body.keyId}/expire`);
    const expired = await c.token('common', { ...form, client_secret: added.body.value });
    assert.equal(expired.status, 401);
    assertMsError(expired.body, 7000222, 'invalid_client');
    const list = (await c.json('GET', `/_control/clients/${web.client_id}/secrets`)).body;
    assert.ok(list.some((s) => s.keyId === added.body.keyId));
    assert.ok(list.every((s) => s.value === undefined && s.hint && s.endDateTime), 'listing has no values');
    assert.equal((await c.json('DELETE', `/_control/clients/${web.client_id}/secrets/${added.body.keyId}`)).status, 200);

    const none = await c.token('common', form);
    assert.equal(none.status, 401);
    assertMsError(none.body, 7000218, 'invalid_client');

    const p = await fresh();
    const publicWithSecret = await c.token('common', { client_id: pub.client_id, grant_type: 'authorization_code', code: p.code, redirect_uri: p.redirectUri, code_verifier: p.verifier, client_secret: 'x' });
    assertMsError(publicWithSecret.body, 700025, 'invalid_client');

    const unknown = await c.token('common', { client_id: 'dddddddd-0000-4000-8000-000000000009', grant_type: 'authorization_code', code: 'x', redirect_uri: redirectUri });
    assert.equal(unknown.status, 400);
    assertMsError(unknown.body, 700016, 'unauthorized_client');

    // the code survived all the failed attempts
    const ok = await c.token('common', { ...form, client_secret: web.secrets[0].value });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });

  test('code reused 54005, PKCE mismatch 501481, redirect_uri mismatch 500112', async () => {
    const a = await fresh();
    const form = { client_id: pub.client_id, grant_type: 'authorization_code', code: a.code, redirect_uri: a.redirectUri, code_verifier: a.verifier };
    const mismatch = await c.token('common', { ...form, code_verifier: pkce().verifier });
    assertMsError(mismatch.body, 501481, 'invalid_grant');

    const b = await fresh();
    const wrongUri = await c.token('common', { ...form, code: b.code, code_verifier: b.verifier, redirect_uri: 'http://localhost/callback' });
    assertMsError(wrongUri.body, 500112, 'invalid_grant');

    const d = await fresh();
    const first = await c.token('common', { ...form, code: d.code, code_verifier: d.verifier });
    assert.equal(first.status, 200);
    const second = await c.token('common', { ...form, code: d.code, code_verifier: d.verifier });
    assertMsError(second.body, 54005, 'invalid_grant');
    const stillOk = await c.token('common', { client_id: pub.client_id, grant_type: 'refresh_token', refresh_token: first.body.refresh_token });
    assert.equal(stillOk.status, 200, 'tokens from the first redemption are not revoked');
  });

  test('single-tenant app on /common: AADSTS50194 at token and authorize', async () => {
    const r = await c.token('common', { client_id: single.client_id, client_secret: single.secrets[0].value, grant_type: 'refresh_token', refresh_token: 'x' });
    assertMsError(r.body, 50194, 'invalid_request');
    const end = await c.browse(c.authorizeUrl({ client: single, tenant: 'organizations', challenge: pkce().challenge }).url);
    assert.equal(end.params.get('error'), 'invalid_request');
    assert.match(end.params.get('error_description'), /^AADSTS50194: /);
  });
});

describe('authorize errors', () => {
  const expectError = async (opts, error, code) => {
    const a = c.authorizeUrl({ challenge: pkce().challenge, ...opts });
    const end = await c.browse(a.url);
    assert.ok(end.params, `redirected back to the app: ${end.status} ${end.body}`);
    assert.equal(end.params.get('error'), error);
    assert.match(end.params.get('error_description'), new RegExp(`^AADSTS${code}: [\\s\\S]*Trace ID: `));
    assert.equal(end.params.get('state'), a.state);
    assert.equal(end.params.get('code'), null);
  };

  test('reserved login hints', async () => {
    await expectError({ loginHint: 'decline@contoso.test' }, 'access_denied', 65004);
    await expectError({ loginHint: 'needsadmin@contoso.test' }, 'consent_required', 90094);
    await expectError({ loginHint: 'consent@contoso.test' }, 'consent_required', 65001);
  });

  test('accounts in the wrong tenant: AADSTS50020; work-only app: AADSTS9002332', async () => {
    await expectError({ tenant: 'consumers', loginHint: 'alice@contoso.test' }, 'access_denied', 50020);
    await expectError({ tenant: 'organizations', loginHint: 'carol@outlook.test' }, 'access_denied', 50020);
    await expectError({ tenant: FABRIKAM, loginHint: 'alice@contoso.test' }, 'access_denied', 50020);
    await expectError({ client: workOnly, loginHint: 'carol@outlook.test' }, 'unauthorized_client', 9002332);
    await expectError({ client: workOnly, tenant: 'consumers' }, 'unauthorized_client', 9002332);
  });

  test('prompt=none without a session: login_required AADSTS50058', async () => {
    await expectError({ extra: { prompt: 'none' } }, 'login_required', 50058);
  });

  test('missing PKCE on a public client, unknown scope', async () => {
    const a = c.authorizeUrl({});
    const end = await c.browse(a.url);
    assert.equal(end.params.get('error'), 'invalid_request');
    assert.match(end.params.get('error_description'), /^AADSTS9002325: /);
    await expectError({ scope: 'openid Mail.Fly' }, 'invalid_scope', 70011);
  });

  test('unregistered redirect URI: error page AADSTS50011, no redirect', async () => {
    const a = c.authorizeUrl({ challenge: pkce().challenge, redirectUri: 'http://127.0.0.1:5000/other' });
    const r = await fetch(a.url, { redirect: 'manual' });
    assert.equal(r.status, 400);
    assert.equal(r.headers.get('location'), null);
    assert.match(await r.text(), /AADSTS50011/);
  });

  test('unknown client: error page AADSTS700016', async () => {
    const a = c.authorizeUrl({ client: { client_id: 'dddddddd-0000-4000-8000-000000000009' } });
    const r = await fetch(a.url, { redirect: 'manual' });
    assert.equal(r.status, 400);
    assert.match(await r.text(), /AADSTS700016/);
  });
});

describe('client credentials', () => {
  const cc = (tenant, scope = 'https://graph.microsoft.com/.default', client = web, secret = web.secrets[0].value) => c.token(tenant, { client_id: client.client_id, client_secret: secret, grant_type: 'client_credentials', scope });

  test('tenant token: RS256 JWT with roles, tid, appid', async () => {
    const r = await cc(CONTOSO);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.refresh_token, undefined);
    assert.ok(verifyWithJwks(r.body.access_token, jwks));
    const at = decode(r.body.access_token);
    assert.equal(at.aud, GRAPH_AUD);
    assert.equal(at.tid, CONTOSO);
    assert.equal(at.appid, web.client_id);
    assert.deepEqual(at.roles, ['Mail.ReadWrite', 'Mail.Send', 'User.Read.All']);
    assert.equal(at.iss, `${idp.base}/${CONTOSO}/v2.0`);
    assert.ok(at.exp > at.iat);
    const byDomain = await cc('fabrikam.test');
    assert.equal(decode(byDomain.body.access_token).tid, FABRIKAM);
    const exo = await cc(CONTOSO, 'https://outlook.office365.com/.default');
    assert.equal(decode(exo.body.access_token).aud, 'https://outlook.office365.com');
  });

  test('roles are configurable per tenant', async () => {
    const set = await c.json('POST', `/_control/clients/${web.client_id}/roles`, { tenant: 'fabrikam.test', roles: ['Mail.Read'] });
    assert.equal(set.status, 200);
    assert.deepEqual(decode((await cc(FABRIKAM)).body.access_token).roles, ['Mail.Read']);
    assert.deepEqual(decode((await cc(CONTOSO)).body.access_token).roles, ['Mail.ReadWrite', 'Mail.Send', 'User.Read.All']);
  });

  test('errors: /common 9001023, scope 1002012, resource 500011, single tenant elsewhere 700016', async () => {
    for (const t of ['common', 'organizations', 'consumers']) {
      const r = await cc(t);
      assert.equal(r.status, 400);
      assertMsError(r.body, 9001023, 'invalid_request');
    }
    assertMsError((await cc(CONTOSO, 'Mail.Read')).body, 1002012, 'invalid_scope');
    assertMsError((await cc(CONTOSO, 'https://nothing.example/.default')).body, 500011, 'invalid_resource');
    assertMsError((await cc(FABRIKAM, undefined, single, single.secrets[0].value)).body, 700016, 'unauthorized_client');
    assert.equal((await cc(CONTOSO, undefined, single, single.secrets[0].value)).status, 200);
  });

  test('consent: not consented answers 65001 until admin consent', async () => {
    await c.json('POST', `/_control/clients/${web.client_id}/consent`, { tenant: FABRIKAM, consented: false });
    const r = await cc(FABRIKAM);
    assertMsError(r.body, 65001, 'invalid_grant');
    const state = 'ac-1';
    const redirect = `http://127.0.0.1:${APP_PORT}/callback`;
    const denied = await c.browse(`${idp.base}/${FABRIKAM}/v2.0/adminconsent?client_id=${web.client_id}&redirect_uri=${encodeURIComponent(redirect)}&state=${state}&login_hint=needsadmin@contoso.test`);
    assert.ok(denied.params.get('error'));
    const end = await c.browse(`${idp.base}/${FABRIKAM}/v2.0/adminconsent?client_id=${web.client_id}&redirect_uri=${encodeURIComponent(redirect)}&state=${state}`);
    assert.equal(end.params.get('admin_consent'), 'True');
    assert.equal(end.params.get('tenant'), FABRIKAM);
    assert.equal(end.params.get('state'), state);
    assert.equal((await cc(FABRIKAM)).status, 200);
  });
});

describe('device code', () => {
  const start = (client = pub, tenant = 'organizations', scope = 'openid profile offline_access User.Read Mail.Read') => c.post(`/${tenant}/oauth2/v2.0/devicecode`, { client_id: client.client_id, scope });
  const poll = (dc, client = pub, tenant = 'organizations') => c.token(tenant, { client_id: client.client_id, grant_type: DEVICE_GRANT, device_code: dc });
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  test('success: pending, approval at /devicelogin, tokens', async () => {
    const d = await start();
    assert.equal(d.status, 200, JSON.stringify(d.body));
    assert.equal(d.body.verification_uri, `${idp.base}/devicelogin`);
    assert.equal(d.body.interval, 1);
    assert.equal(d.body.expires_in, 900);
    assert.match(d.body.user_code, /^[A-Z]{9}$/);
    assert.ok(d.body.message.includes(d.body.user_code));
    const pending = await poll(d.body.device_code);
    assert.equal(pending.status, 400);
    assertMsError(pending.body, 70016, 'authorization_pending');
    const page = await fetch(`${idp.base}/devicelogin?user_code=${d.body.user_code.toLowerCase()}&login_hint=bob@contoso.test`);
    assert.equal(page.status, 200);
    await sleep(1000);
    const t = await poll(d.body.device_code);
    assert.equal(t.status, 200, JSON.stringify(t.body));
    assert.equal(decode(t.body.id_token).preferred_username, 'bob@contoso.test');
    assert.ok(t.body.refresh_token);
    assert.deepEqual(decode(t.body.access_token).scp.split(' ').sort(), ['Mail.Read', 'User.Read']);
  });

  test('slow_down when polling faster than the interval', async () => {
    const d = await start();
    assertMsError((await poll(d.body.device_code)).body, 70016, 'authorization_pending');
    const fast = await poll(d.body.device_code);
    assert.equal(fast.body.error, 'slow_down');
  });

  test('declined, expired, bad code', async () => {
    const d = await start();
    const r = await c.json('POST', '/_control/device/approve', { user_code: d.body.user_code, decline: true });
    assert.equal(r.status, 200);
    assertMsError((await poll(d.body.device_code)).body, 65004, 'authorization_declined');

    const e = await start();
    assert.equal((await c.json('POST', '/_control/device/expire', { user_code: e.body.user_code })).status, 200);
    assertMsError((await poll(e.body.device_code)).body, 70019, 'expired_token');

    assertMsError((await poll('no-such-code')).body, 70000, 'bad_verification_code');
  });

  test('approval through the control API; wrong account type is recorded', async () => {
    const d = await start(pub, 'consumers', 'openid offline_access Mail.Read');
    const ok = await c.json('POST', '/_control/device/approve', { user_code: d.body.user_code, login_hint: 'carol@outlook.test' });
    assert.equal(ok.body.ok, true);
    const t = await poll(d.body.device_code, pub, 'consumers');
    assert.equal(decode(t.body.id_token).tid, CONSUMERS);

    const w = await start(pub, 'consumers');
    const bad = await c.json('POST', '/_control/device/approve', { user_code: w.body.user_code, login_hint: 'alice@contoso.test' });
    assert.equal(bad.body.ok, false);
    assertMsError((await poll(w.body.device_code, pub, 'consumers')).body, 50020, 'access_denied');
  });

  test('devicecode errors: work-only app on consumers, confidential app', async () => {
    assertMsError((await start(workOnly, 'consumers')).body, 9002332, 'unauthorized_client');
    const conf = await start(web);
    assert.equal(conf.status, 401);
    assertMsError(conf.body, 7000218, 'invalid_client');
  });
});

describe('control API', () => {
  test('bench refresh tokens: real grants for generated users, shaped like a sign-in\'s', async () => {
    const hint = 'bench00000@contoso.test';
    const t = await c.signIn({ loginHint: hint });
    assert.equal(decode(t.id_token).preferred_username, hint, 'a generated user signs in like any other');
    const minted = await c.json('POST', '/_control/bench/refresh-tokens', { refresh_token: t.refresh_token, count: 3, first: 7 });
    assert.equal(minted.status, 200, JSON.stringify(minted.body));
    assert.deepEqual(minted.body.tokens.map((x) => x.upn), ['bench00007@contoso.test', 'bench00008@contoso.test', 'bench00009@contoso.test']);
    assert.equal(new Set(minted.body.tokens.map((x) => x.refresh_token)).size, 3, 'one token each');
    for (const m of minted.body.tokens) {
      assert.notEqual(m.refresh_token, t.refresh_token);
      const r = await c.token('common', { client_id: pub.client_id, grant_type: 'refresh_token', refresh_token: m.refresh_token, scope: 'openid profile offline_access Mail.Read' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const id = decode(r.body.id_token);
      assert.equal(id.oid, m.oid, 'the token is the generated user\'s');
      assert.equal(id.preferred_username, m.upn);
      assert.equal(id.name, m.name);
      assert.match(r.body.scope, /Mail\.Read/);
      assert.notEqual(r.body.refresh_token, m.refresh_token, 'rotated like any refresh token');
      const again = await c.token('common', { client_id: pub.client_id, grant_type: 'refresh_token', refresh_token: m.refresh_token, scope: 'openid offline_access Mail.Read' });
      assert.equal(again.status, 200, 'and the minted one stays usable');
    }
    const other = await c.token('common', { client_id: web.client_id, client_secret: web.secrets[0].value, grant_type: 'refresh_token', refresh_token: minted.body.tokens[0].refresh_token });
    assertMsError(other.body, 70000, 'invalid_grant');

    for (const [body, re] of [
      [{ refresh_token: 'nonsense', count: 1 }, /refresh_token must be/],
      [{ refresh_token: t.refresh_token, count: 0 }, /count must be/],
      [{ refresh_token: t.refresh_token, count: 2, first: 99999 }, /first \+ count/],
    ]) {
      const bad = await c.json('POST', '/_control/bench/refresh-tokens', body);
      assert.equal(bad.status, 400);
      assert.match(bad.body.error, re);
    }
  });

  test('log records requests', async () => {
    await c.json('DELETE', '/_control/log');
    await c.token(CONTOSO, { client_id: web.client_id, client_secret: 'Zz9nope', grant_type: 'client_credentials', scope: 'https://graph.microsoft.com/.default' });
    const log = (await c.json('GET', '/_control/log')).body;
    assert.equal(log.length, 1);
    const e = log[0];
    for (const k of ['t', 'endpoint', 'tenant', 'grant_type', 'client_id', 'secret_hint', 'secret_key_id', 'scope', 'status', 'error', 'error_codes']) assert.ok(k in e, k);
    assert.equal(e.endpoint, 'token');
    assert.equal(e.tenant, CONTOSO);
    assert.equal(e.grant_type, 'client_credentials');
    assert.equal(e.secret_hint, 'Zz9');
    assert.equal(e.secret_key_id, null);
    assert.equal(e.status, 401);
    assert.equal(e.error, 'invalid_client');
    assert.deepEqual(e.error_codes, [7000215]);
  });

  test('token endpoint failure injection: 5xx, 429, hang, delay', async () => {
    const form = { client_id: web.client_id, client_secret: web.secrets[0].value, grant_type: 'client_credentials', scope: 'https://graph.microsoft.com/.default' };
    await c.json('POST', '/_control/token-endpoint', { mode: '5xx', count: 2 });
    assert.equal((await c.token(CONTOSO, form)).status, 503);
    assert.equal((await c.token(CONTOSO, form)).status, 503);
    assert.equal((await c.token(CONTOSO, form)).status, 200, 'back to normal after count');

    await c.json('POST', '/_control/token-endpoint', { mode: '429', retry_after: 7 });
    const throttled = await c.token(CONTOSO, form);
    assert.equal(throttled.status, 429);
    assert.equal(throttled.headers.get('retry-after'), '7');
    assert.equal((await c.token(CONTOSO, form)).status, 429, 'until reset');
    await c.json('POST', '/_control/token-endpoint', { mode: 'normal' });

    await c.json('POST', '/_control/token-endpoint', { mode: 'hang', count: 1 });
    await assert.rejects(fetch(`${idp.base}/${CONTOSO}/oauth2/v2.0/token`, { method: 'POST', body: new URLSearchParams(form), signal: AbortSignal.timeout(300) }), /TimeoutError|aborted/);
    assert.equal((await c.token(CONTOSO, form)).status, 200);

    await c.json('POST', '/_control/token-endpoint', { mode: 'delay', delay_ms: 400, count: 1 });
    const started = Date.now();
    assert.equal((await c.token(CONTOSO, form)).status, 200, 'a delayed answer is a normal one');
    assert.ok(Date.now() - started >= 380, 'answered after the delay');
    const fast = Date.now();
    assert.equal((await c.token(CONTOSO, form)).status, 200);
    assert.ok(Date.now() - fast < 380, 'back to normal after count');
  });

  test('faults per endpoint: drop, truncated, malformed, html, huge; 5xx elsewhere than the token endpoint', async () => {
    const form = { client_id: web.client_id, client_secret: web.secrets[0].value, grant_type: 'client_credentials', scope: 'https://graph.microsoft.com/.default' };
    const url = `${idp.base}/${CONTOSO}/oauth2/v2.0/token`;
    const raw = () => fetch(url, { method: 'POST', body: new URLSearchParams(form), signal: AbortSignal.timeout(5000) });
    assert.equal((await c.json('POST', '/_control/faults', { endpoint: 'nowhere', mode: 'drop' })).status, 400);
    assert.equal((await c.json('POST', '/_control/faults', { endpoint: 'token', mode: 'sideways' })).status, 400);

    await c.json('POST', '/_control/faults', { endpoint: 'token', mode: 'drop', count: 1 });
    await assert.rejects(raw(), /fetch failed|socket|terminated/i);
    assert.equal((await c.token(CONTOSO, form)).status, 200, 'back to normal after count');

    await c.json('POST', '/_control/faults', { endpoint: 'token', mode: 'truncated', count: 1 });
    await assert.rejects(raw().then((r) => r.text()), /terminated|socket|other side closed/i);

    await c.json('POST', '/_control/faults', { endpoint: 'token', mode: 'malformed', count: 1 });
    const bad = await raw();
    assert.equal(bad.status, 200);
    assert.match(bad.headers.get('content-type'), /application\/json/);
    await assert.rejects(bad.json(), SyntaxError);

    await c.json('POST', '/_control/faults', { endpoint: 'token', mode: 'html', count: 1 });
    const page = await raw();
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type'), /text\/html/);

    await c.json('POST', '/_control/faults', { endpoint: 'token', mode: 'huge', bytes: 3 * 1024 * 1024, count: 1 });
    const huge = await raw();
    assert.equal(huge.headers.get('content-length'), String(3 * 1024 * 1024));
    assert.equal((await huge.arrayBuffer()).byteLength, 3 * 1024 * 1024);
    assert.equal((await c.token(CONTOSO, form)).status, 200);

    await c.json('POST', '/_control/faults', { endpoint: 'discovery', mode: '5xx', status: 500, count: 1 });
    assert.deepEqual((await c.json('GET', '/_control/faults')).body.discovery, { mode: '5xx', count: 1, status: 500 });
    assert.equal((await fetch(`${idp.base}/${CONTOSO}/v2.0/.well-known/openid-configuration`)).status, 500);
    assert.equal((await fetch(`${idp.base}/${CONTOSO}/v2.0/.well-known/openid-configuration`)).status, 200);
    await c.json('POST', '/_control/faults', { endpoint: 'devicecode', mode: '429', retry_after: 3 });
    const dc = await c.post('/organizations/oauth2/v2.0/devicecode', { client_id: pub.client_id, scope: 'User.Read' });
    assert.equal(dc.status, 429);
    assert.equal(dc.headers.get('retry-after'), '3');
    assert.equal((await c.json('DELETE', '/_control/faults')).status, 200);
    assert.equal((await c.post('/organizations/oauth2/v2.0/devicecode', { client_id: pub.client_id, scope: 'User.Read' })).status, 200);
  });

  test('aadsts fault: the token endpoint answers with Microsoft\'s error body for any AADSTS code', async () => {
    const form = { client_id: web.client_id, client_secret: web.secrets[0].value, grant_type: 'client_credentials', scope: 'https://graph.microsoft.com/.default' };
    assert.equal((await c.json('POST', '/_control/faults', { endpoint: 'token', mode: 'aadsts' })).status, 400, 'a code is required');
    assert.equal((await c.json('POST', '/_control/faults', { endpoint: 'token', mode: 'aadsts', code: 50076, error: 'nonsense' })).status, 400);
    assert.equal((await c.json('POST', '/_control/faults', { endpoint: 'token', mode: 'aadsts', code: 50076, status: 200 })).status, 400);
    const set = await c.json('POST', '/_control/faults', { endpoint: 'token', mode: 'aadsts', code: 50076, message: 'Due to a configuration change made by your administrator, you must use multi-factor authentication.', count: 1 });
    assert.deepEqual(set.body, { mode: 'aadsts', count: 1, code: 50076, oauth_error: 'invalid_grant', message: 'Due to a configuration change made by your administrator, you must use multi-factor authentication.' });
    const r = await c.token(CONTOSO, form, { 'client-request-id': 'corr-50076' });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_grant');
    assert.deepEqual(r.body.error_codes, [50076]);
    assert.match(r.body.error_description, /^AADSTS50076: Due to a configuration change made by your administrator, you must use multi-factor authentication\.\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: corr-50076\r\nTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
    assert.equal(r.body.correlation_id, 'corr-50076');
    assert.match(r.body.trace_id, /^[0-9a-f-]{36}$/);
    assert.match(r.body.timestamp, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
    assert.equal(r.body.error_uri, `${idp.base}/error?code=50076`);
    assert.equal((await c.token(CONTOSO, form)).status, 200, 'back to normal after count');

    // invalid_client answers 401 as at Microsoft; a status can be given (e.g. a 503 with a code).
    await c.json('POST', '/_control/faults', { endpoint: 'token', mode: 'aadsts', code: 7000222, error: 'invalid_client', message: 'The provided client secret keys are expired.', count: 1 });
    const secret = await c.token(CONTOSO, form);
    assert.equal(secret.status, 401);
    assert.deepEqual([secret.body.error, secret.body.error_codes], ['invalid_client', [7000222]]);
    await c.json('POST', '/_control/faults', { endpoint: 'token', mode: 'aadsts', code: 90033, error: 'temporarily_unavailable', message: 'A transient error has occurred.', status: 503, count: 1 });
    assert.equal((await c.token(CONTOSO, form)).status, 503);
    const log = (await c.json('GET', '/_control/log')).body.filter((e) => e.endpoint === 'token').slice(-4);
    assert.deepEqual(log.map((e) => [e.status, e.error_codes?.[0] ?? null, e.injected ?? null]), [[400, 50076, 'aadsts'], [200, null, null], [401, 7000222, 'aadsts'], [503, 90033, 'aadsts']]);
  });

  test('unknown control path is 404', async () => {
    assert.equal((await c.json('GET', '/_control/nope')).status, 404);
  });
});

describe('environment and restarts', () => {
  test('TTLs from the environment; state file survives a restart on the same port', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idp-state-'));
    try {
      const file = join(dir, 'state.json');
      const env = { IDP_STATE_FILE: file, IDP_ACCESS_TOKEN_TTL: '5', IDP_DEVICE_CODE_TTL: '60', IDP_REFRESH_TOKEN_TTL: '1000' };
      const one = await startIdp({ env });
      const c1 = makeClient(one.base);
      const t = await c1.signIn();
      assert.equal(t.expires_in, 5);
      const stored = JSON.parse(readFileSync(file, 'utf8')).store.RefreshToken;
      const rt = Object.values(stored)[0].payload;
      assert.equal(rt.exp - rt.iat, 1000, 'IDP_REFRESH_TOKEN_TTL');
      const d = await c1.post('/common/oauth2/v2.0/devicecode', { client_id: pub.client_id, scope: 'User.Read' });
      assert.equal(d.body.expires_in, 60);
      const keys1 = await (await fetch(`${one.base}/common/discovery/v2.0/keys`)).json();
      assert.equal((await one.stop()).code, 0);

      const two = await startIdp({ env, port: one.port });
      try {
        assert.equal(two.base, one.base);
        const c2 = makeClient(two.base);
        const keys2 = await (await fetch(`${two.base}/common/discovery/v2.0/keys`)).json();
        assert.deepEqual(keys2, keys1, 'same signing keys');
        const r = await c2.token('common', { client_id: pub.client_id, grant_type: 'refresh_token', refresh_token: t.refresh_token, scope: 'User.Read offline_access' });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.ok(verifyWithJwks(r.body.access_token, keys1));
      } finally {
        await two.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
