// oidc-provider configured like Microsoft's v2.0 endpoint, and the post-processing that gives its
// answers Microsoft's shape (error bodies, token response scopes, per-tenant issuers, device code
// response, discovery document).
import { createHash, createPrivateKey, sign as rsaSign } from 'node:crypto';
import Provider, { errors } from 'oidc-provider';

import { adapterFor } from './adapter.mjs';
import {
  fixtures, userByOid, resourcesOf, isOidcScope, OIDC_SCOPES, GRAPH, OUTLOOK, OUTLOOK365, GRAPH_SCOPES, OUTLOOK_SCOPES,
} from './directory.mjs';
import { fromProviderError, msErrorBody, statusFor, errorPage } from './microsoft-errors.mjs';

/** The prefix of opaque access tokens (as a Microsoft account's Graph tokens start). */
export const OPAQUE_PREFIX = 'EwB';

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const fromB64url = (s) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));

/** Microsoft's `sub` is pairwise: one value per user and app. */
export const pairwiseSub = (oid, clientId) => b64url(createHash('sha256').update(`${oid}|${clientId}`).digest()).slice(0, 43);

/** Re-signs a JWT after changing its payload (the per-tenant `iss` oidc-provider cannot set). */
function resign(jwt, change, privateKey) {
  const [h, p] = jwt.split('.');
  const payload = change(fromB64url(p));
  const data = `${h}.${b64url(JSON.stringify(payload))}`;
  return `${data}.${b64url(rsaSign('sha256', Buffer.from(data), privateKey))}`;
}

/**
 * @param {object} app { base, jwk, store, control, config: { accessTtl, refreshTtl, deviceTtl, interval } }
 */
export function createProvider(app) {
  const { base, jwk, store, control, config } = app;
  const issuerFor = (tid) => `${base}/${tid}/v2.0`;
  const privateKey = createPrivateKey({ key: jwk, format: 'jwk' });

  const clients = Object.values(fixtures.clients).map((c) => ({
    client_id: c.client_id,
    client_name: c.name,
    // The gateway checks the real secrets (several per app, each with its own expiry) and hands
    // oidc-provider this one instead.
    ...(c.confidential ? { client_secret: app.internalSecret, token_endpoint_auth_method: 'client_secret_post' } : { token_endpoint_auth_method: 'none' }),
    application_type: 'native', // loopback redirect URIs match on any port
    grant_types: c.grant_types,
    response_types: ['code'],
    redirect_uris: c.redirect_uris,
  }));

  const appOnly = (ctx) => ctx?.req?.mc?.grantType === 'client_credentials';
  /** Whether the token being issued is for a personal (Microsoft account) user. */
  const personalAccount = (ctx) => {
    const e = ctx?.oidc?.entities ?? {};
    const accountId = e.Account?.accountId ?? e.AuthorizationCode?.accountId ?? e.RefreshToken?.accountId ?? e.DeviceCode?.accountId ?? e.Session?.accountId;
    return Boolean(accountId && userByOid(accountId)?.personal);
  };

  const provider = new Provider(base, {
    adapter: adapterFor(store),
    clients,
    jwks: { keys: [jwk] },
    scopes: OIDC_SCOPES,
    claims: {
      openid: ['sub', 'tid', 'ver'],
      profile: ['name', 'preferred_username', 'oid'],
      email: ['email'],
    },
    conformIdTokenClaims: false,
    async findAccount(_ctx, id) {
      const u = userByOid(id);
      if (!u) return undefined;
      return {
        accountId: id,
        claims: async () => ({ sub: id, tid: u.tid, oid: u.oid, name: u.name, preferred_username: u.upn, email: u.email, ver: '2.0' }),
      };
    },
    routes: {
      authorization: '/oauth2/v2.0/authorize',
      token: '/oauth2/v2.0/token',
      device_authorization: '/oauth2/v2.0/devicecode',
      code_verification: '/oauth2/v2.0/deviceauth',
      jwks: '/discovery/v2.0/keys',
      introspection: '/oauth2/v2.0/introspect',
      revocation: '/oauth2/v2.0/revoke',
    },
    clientAuthMethods: ['client_secret_post', 'none'],
    features: {
      devInteractions: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      dPoP: { enabled: false },
      clientCredentials: { enabled: true },
      deviceFlow: { enabled: true, charset: 'base-20', mask: '*********' },
      // The mail server (a confidential client) introspects tokens issued to any app.
      introspection: { enabled: true, allowedPolicy: (_ctx, client, token) => client.clientAuthMethod !== 'none' || token.clientId === client.clientId },
      revocation: { enabled: true, allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId },
      userinfo: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      resourceIndicators: {
        enabled: true,
        useGrantedResource: () => true,
        async defaultResource(ctx, _client, oneOf) {
          if (oneOf) return Array.isArray(oneOf) ? (oneOf.includes(GRAPH) ? GRAPH : oneOf[0]) : oneOf;
          const resources = resourcesOf(String(ctx.oidc.params.scope ?? '').split(' '));
          if (resources.length <= 1) return resources[0];
          return resources;
        },
        async getResourceServerInfo(ctx, resource) {
          const common = { audience: resource, accessTokenTTL: config.accessTtl };
          const jwt = { accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
          const opaque = { accessTokenFormat: 'opaque' };
          if (appOnly(ctx)) {
            const format = control.tokenFormat === 'opaque' ? opaque : jwt;
            if ([GRAPH, OUTLOOK, OUTLOOK365].includes(resource)) return { ...common, ...format, scope: '' };
          } else if (resource === GRAPH) {
            // Microsoft: work accounts get JWTs, personal accounts opaque tokens (and clients must
            // not depend on either). IDP_ACCESS_TOKEN_FORMAT or /_control/token-format picks one.
            const format = control.tokenFormat === 'opaque' || (control.tokenFormat === 'microsoft' && personalAccount(ctx)) ? opaque : jwt;
            return { ...common, ...format, scope: GRAPH_SCOPES.join(' ') };
          } else if (resource === OUTLOOK) {
            // Opaque, so that a mail server can introspect it.
            return { ...common, accessTokenFormat: 'opaque', scope: OUTLOOK_SCOPES.join(' ') };
          }
          throw new errors.InvalidTarget();
        },
      },
    },
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    rotateRefreshToken: () => true,
    expiresWithSession: () => false,
    issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    async extraTokenClaims(ctx, token) {
      if (token.kind === 'ClientCredentials') {
        const tid = ctx.req.mc.tenant.tid;
        const roles = control.rolesFor(token.clientId, tid, token.resourceServer?.audience);
        const spOid = control.servicePrincipalId(token.clientId, tid);
        return { tid, oid: spOid, appid: token.clientId, azp: token.clientId, idtyp: 'app', ...(roles.length ? { roles } : {}) };
      }
      const u = userByOid(token.accountId);
      if (!u) return undefined;
      return {
        tid: u.tid,
        oid: u.oid,
        name: u.name,
        preferred_username: u.upn,
        email: u.email,
        ...(u.personal ? { unique_name: `live.com#${u.email}` } : { upn: u.upn }),
        appid: token.clientId,
        azp: token.clientId,
        idtyp: 'user',
        scp: token.scope,
      };
    },
    formats: {
      customizers: {
        jwt(_ctx, token, jwt) {
          const p = jwt.payload;
          delete p.scope;
          delete p.client_id;
          p.iss = issuerFor(p.tid);
          p.nbf = p.iat;
          p.ver = '2.0';
          p.sub = token.kind === 'ClientCredentials' ? p.oid : pairwiseSub(token.accountId, token.clientId);
          jwt.header = { typ: 'JWT' };
        },
      },
    },
    ttl: {
      AccessToken: config.accessTtl,
      ClientCredentials: config.accessTtl,
      AuthorizationCode: 600,
      DeviceCode: config.deviceTtl,
      IdToken: 3600,
      RefreshToken: config.refreshTtl,
      Interaction: 600,
      Session: 600,
      Grant: 10 * 365 * 86400,
    },
    async renderError(ctx, out, err) {
      const problem = fromProviderError(ctx.oidc?.route, out, err?.error_detail);
      if (ctx.req.mc?.entry) Object.assign(ctx.req.mc.entry, { error: problem.error, error_codes: [problem.code] });
      ctx.type = 'html';
      ctx.status = problem.status ?? 400;
      ctx.body = errorPage(problem, { correlationId: ctx.req.mc?.correlationId });
    },
  });

  // oidc-provider only puts the reason for an error (error_detail) on the event it emits.
  for (const event of ['grant.error', 'introspection.error', 'revocation.error', 'authorization.error',
    'device_authorization.error', 'discovery.error', 'jwks.error', 'server_error']) {
    provider.on(event, (ctx, err) => {
      if (ctx?.req?.mc) ctx.req.mc.providerError = err;
      if (event === 'server_error') console.error('oidc-provider server_error:', err);
    });
  }

  provider.use(async (ctx, next) => {
    await next();
    const mc = ctx.req.mc;
    if (!mc) return;
    const route = ctx.oidc?.route;
    if (route === 'authorization' || route === 'resume') {
      if (route === 'resume' && mc.entry) {
        mc.entry.client_id = ctx.oidc.client?.clientId ?? null;
        mc.entry.scope = ctx.oidc.params?.scope ?? null;
        mc.entry.user = userByOid(ctx.oidc.session?.accountId)?.upn ?? null;
      }
      rewriteAuthorizationRedirect(ctx, mc);
      return;
    }
    if (ctx.status >= 400 && ctx.body?.error && typeof ctx.body === 'object') {
      const problem = problemOf(route, ctx.body, mc.providerError?.error_detail);
      ctx.status = statusFor(problem);
      ctx.body = msErrorBody(problem, { base, correlationId: mc.correlationId });
      Object.assign(mc.entry ?? {}, { error: problem.error, error_codes: [problem.code] });
      return;
    }
    if (ctx.status !== 200 || !ctx.body || typeof ctx.body !== 'object') return;
    if (route === 'token') tokenResponse(ctx);
    else if (route === 'device_authorization') deviceResponse(ctx, mc);
    else if (route === 'discovery') discovery(ctx, mc);
    else if (route === 'introspection' && ctx.body.active && ctx.body.tid) ctx.body.iss = issuerFor(ctx.body.tid);
  });

  // An error whose description already carries an AADSTS code (set by the interaction or device
  // approval) keeps it; anything else gets the code Microsoft would send.
  function problemOf(route, out, detail) {
    const m = /^AADSTS(\d+): ([\s\S]*)$/.exec(out.error_description ?? '');
    if (m) return { error: out.error, code: Number(m[1]), message: m[2] };
    return fromProviderError(route, out, detail);
  }

  function tokenResponse(ctx) {
    const b = ctx.body;
    const e = ctx.oidc.entities;
    const source = e.AuthorizationCode ?? e.RefreshToken ?? e.DeviceCode;
    if (source) {
      // Microsoft lists the OpenID scopes granted (openid, profile, email) after the resource's,
      // but never offline_access: the refresh token's presence is the only sign of it.
      const oidcScopes = String(source.scope ?? '').split(' ').filter((x) => isOidcScope(x) && x !== 'offline_access');
      b.scope = [...new Set([...String(b.scope ?? '').split(' ').filter((x) => x && x !== 'offline_access'), ...oidcScopes])].join(' ');
    } else {
      delete b.scope; // client credentials: Microsoft sends no scope
    }
    // Opaque access tokens look like a Microsoft account's (`EwB...`); the gateway strips the
    // prefix before handing them back to oidc-provider (introspection, revocation).
    if (typeof b.access_token === 'string' && !b.access_token.includes('.')) b.access_token = OPAQUE_PREFIX + b.access_token;
    b.ext_expires_in = b.expires_in;
    if (b.id_token) {
      const clientId = ctx.oidc.client.clientId;
      b.id_token = resign(b.id_token, (p) => ({ ...p, iss: issuerFor(p.tid), sub: pairwiseSub(p.sub, clientId) }), privateKey);
    }
    // Keep key order close to Microsoft's answer.
    const order = ['token_type', 'scope', 'expires_in', 'ext_expires_in', 'access_token', 'refresh_token', 'id_token'];
    ctx.body = Object.fromEntries([...order.filter((k) => k in b).map((k) => [k, b[k]]), ...Object.entries(b).filter(([k]) => !order.includes(k))]);
  }

  function deviceResponse(ctx, mc) {
    const b = ctx.body;
    const dc = ctx.oidc.entities.DeviceCode;
    store.patch('DeviceCode', dc.jti, { mcTenant: mc.tenant.segment });
    const uri = `${base}/devicelogin`;
    ctx.body = {
      user_code: b.user_code,
      device_code: b.device_code,
      verification_uri: uri,
      expires_in: b.expires_in,
      interval: config.interval,
      message: `To sign in, use a web browser to open the page ${uri} and enter the code ${b.user_code} to authenticate.`,
    };
  }

  function discovery(ctx, mc) {
    const b = ctx.body;
    const t = mc.tenant;
    b.issuer = t.tid ? issuerFor(t.tid) : `${base}/{tenantid}/v2.0`;
    b.subject_types_supported = ['pairwise'];
    b.scopes_supported = OIDC_SCOPES;
    b.token_endpoint_auth_methods_supported = ['client_secret_post', 'client_secret_basic'];
    b.request_uri_parameter_supported = false;
    b.tenant_region_scope = t.kind === 'tenant' ? 'WW' : null;
    b.cloud_instance_name = new URL(base).host;
    b.msgraph_host = 'graph.microsoft.com';
    for (const k of ['authorization_response_iss_parameter_supported', 'claims_parameter_supported', 'request_parameter_supported', 'grant_types_supported']) delete b[k];
  }

  // Errors sent back to the app carry an AADSTS description with trace and correlation IDs, like
  // Microsoft's; oidc-provider's `iss` response parameter is dropped (Microsoft sends none).
  function rewriteAuthorizationRedirect(ctx, mc) {
    const loc = ctx.response.get('location');
    const redirectUri = ctx.oidc.params?.redirect_uri;
    if (!loc || !redirectUri || !loc.startsWith(redirectUri)) return;
    const u = new URL(loc);
    const fragment = u.hash.length > 1 && !u.search.includes('code=') && !u.search.includes('error=');
    const params = fragment ? new URLSearchParams(u.hash.slice(1)) : u.searchParams;
    params.delete('iss');
    const error = params.get('error');
    if (error) {
      const problem = problemOf('authorization', { error, error_description: params.get('error_description') ?? '' }, mc.providerError?.error_detail);
      const body = msErrorBody(problem, { base, correlationId: mc.correlationId });
      const state = params.get('state');
      for (const k of [...params.keys()]) params.delete(k);
      params.set('error', problem.error);
      params.set('error_description', body.error_description);
      params.set('error_uri', body.error_uri);
      if (state !== null) params.set('state', state);
      Object.assign(mc.entry ?? {}, { error: problem.error, error_codes: [problem.code] });
    }
    if (fragment) u.hash = params.toString();
    ctx.set('location', u.href);
  }

  return provider;
}
