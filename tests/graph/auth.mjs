// Bearer token validation against the test identity provider (tests/idp).
//
// Real Graph validates its tokens locally (signature with the tenant's published keys, lifetime,
// audience), so it keeps answering while the identity provider is briefly unreachable. Here a
// token is checked by RFC 7662 introspection at {idp}/{tid}/oauth2/v2.0/introspect (with the
// idp's confidential "web" client), and an active answer is cached until the token's `exp`: a
// token seen once keeps working while the idp is down. A token never seen before while the idp is
// unreachable is checked locally against the idp's signing keys (fetched at start and kept), the
// way Graph would.
import { createHash, createPublicKey, verify as rsaVerify } from 'node:crypto';

import { GRAPH, idpFixtures } from './directory.mjs';

export const MSG = {
  empty: 'Access token is empty.',
  expired: 'Access token has expired or is not yet valid.',
  audience: 'Access token validation failure. Invalid audience.',
  invalid: 'Access token validation failure.',
  malformed: "IDX14100: JWT is not well formed, there are no dots (.).\nThe token needs to be in JWS or JWE Compact Serialization Format. (JWS): 'EncodedHeader.EndcodedPayload.EncodedSignature'. (JWE): 'EncodedProtectedHeader.EncodedEncryptedKey.EncodedInitializationVector.EncodedCiphertext.EncodedAuthenticationTag'.",
  undecodable: 'IDX14102: Unable to decode the header or payload of the JWT as Base64Url encoded string.',
};

const CLOCK_SKEW_S = 300; // as Microsoft's token validation

const decodePart = (s) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
const keyOf = (token) => createHash('sha256').update(token).digest('hex');

export class TokenValidator {
  /**
   * @param {string} idp base URL of the identity provider
   * @param {(msg: string) => void} log
   */
  constructor(idp, log) {
    this.idp = idp.replace(/\/+$/, '');
    this.log = log;
    this.cache = new Map(); // sha256(token) -> { claims, exp }
    this.keys = new Map(); // kid -> KeyObject
    // The web client introspects; a test may expire or delete its current secret, so every
    // secret of fixtures.json is tried, the last one that worked first.
    const web = idpFixtures.clients.web;
    this.clientId = web.client_id;
    this.secrets = web.secrets.map((s) => s.value);
  }

  clear() {
    this.cache.clear();
  }

  /** Fetches the idp's signing keys (kept for when the idp is unreachable). Never throws. */
  async loadKeys() {
    try {
      const r = await fetch(`${this.idp}/common/discovery/v2.0/keys`, { signal: AbortSignal.timeout(5000) });
      if (!r.ok) return false;
      const { keys } = await r.json();
      for (const k of keys ?? []) if (k.kid) this.keys.set(k.kid, createPublicKey({ key: k, format: 'jwk' }));
      return true;
    } catch {
      return false;
    }
  }

  /** One introspection call; returns the JSON answer, or { unreachable } / { unauthorized }. */
  async introspectOnce(tenant, token, secret) {
    const basic = Buffer.from(`${encodeURIComponent(this.clientId)}:${encodeURIComponent(secret)}`).toString('base64');
    let r;
    try {
      r = await fetch(`${this.idp}/${encodeURIComponent(tenant)}/oauth2/v2.0/introspect`, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
        signal: AbortSignal.timeout(5000),
      });
    } catch (e) {
      return { unreachable: e.cause?.code ?? e.name ?? 'error' };
    }
    if (r.status === 401) return { unauthorized: true };
    if (!r.ok) return { unreachable: `HTTP ${r.status}` };
    try {
      return await r.json();
    } catch {
      return { unreachable: 'bad JSON' };
    }
  }

  async introspect(tenant, token) {
    let last = { unreachable: 'no secret' };
    for (const secret of this.secrets) {
      last = await this.introspectOnce(tenant, token, secret);
      if (!last.unauthorized) {
        // remember the secret that works
        this.secrets = [secret, ...this.secrets.filter((s) => s !== secret)];
        return last;
      }
    }
    return last.unauthorized ? { unreachable: 'the web client secrets were all refused' } : last;
  }

  /** Signature check with the kept keys (used only when introspection is impossible). */
  async verifyLocally(token) {
    const [h, p, s] = token.split('.');
    let header;
    try {
      header = decodePart(h);
    } catch {
      return false;
    }
    if (header.alg !== 'RS256') return false;
    if (!this.keys.has(header.kid)) await this.loadKeys();
    const key = this.keys.get(header.kid) ?? (header.kid ? null : [...this.keys.values()][0]);
    if (!key) return false;
    try {
      return rsaVerify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'));
    } catch {
      return false;
    }
  }

  /**
   * Validates the Authorization header. Returns { claims, cached, via } or { error: message }.
   * `via`: 'cache', 'introspection', 'keys' (idp unreachable), or 'local' (rejected without asking).
   * Token values never reach the log.
   */
  async validate(authorization) {
    const m = /^\s*bearer\s*(.*)$/i.exec(authorization ?? '');
    const token = m ? m[1].trim() : '';
    if (!token) return { error: MSG.empty, via: 'local' };

    const key = keyOf(token);
    const hit = this.cache.get(key);
    const now = Date.now() / 1000;
    if (hit) {
      if (hit.exp > now) return { claims: hit.claims, cached: true, via: 'cache' };
      this.cache.delete(key);
    }

    const parts = token.split('.');
    if (parts.length !== 3) {
      // Not a JWT: an opaque token (a personal account's, or any token when the idp is told to
      // issue opaque ones). Only introspection can say what it is; without it, it is refused.
      const r = await this.introspect('common', token);
      if (r.unreachable || r.unauthorized) return { error: MSG.invalid, via: 'introspection' };
      if (!r.active) return { error: MSG.malformed, via: 'introspection' };
      if (r.aud !== GRAPH) return { error: MSG.audience, via: 'introspection' };
      const claims = { ...r };
      delete claims.active;
      if (typeof claims.roles === 'string') claims.roles = claims.roles.split(' ').filter(Boolean);
      this.cache.set(key, { claims, exp: claims.exp });
      return { claims, cached: false, via: 'introspection' };
    }
    let payload;
    try {
      decodePart(parts[0]);
      payload = decodePart(parts[1]);
    } catch {
      return { error: MSG.undecodable, via: 'local' };
    }
    if (typeof payload !== 'object' || payload === null) return { error: MSG.undecodable, via: 'local' };
    if (typeof payload.exp !== 'number' || payload.exp <= now || (typeof payload.nbf === 'number' && payload.nbf > now + CLOCK_SKEW_S)) {
      return { error: MSG.expired, via: 'local' };
    }
    const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (aud.length !== 1 || aud[0] !== GRAPH) return { error: MSG.audience, via: 'local' };
    if (typeof payload.tid !== 'string' || !payload.tid) return { error: MSG.invalid, via: 'local' };

    const r = await this.introspect(payload.tid, token);
    let claims;
    let via = 'introspection';
    if (r.unreachable) {
      this.log(`introspection impossible (${r.unreachable}); checking the token's signature with the kept keys`);
      if (!(await this.verifyLocally(token))) return { error: MSG.invalid, via: 'keys' };
      claims = payload;
      via = 'keys';
    } else {
      if (!r.active) return { error: MSG.invalid, via };
      if (r.aud !== GRAPH) return { error: MSG.audience, via };
      claims = { ...r };
      delete claims.active;
    }
    this.cache.set(key, { claims, exp: claims.exp });
    if (this.cache.size > 5000) {
      for (const [k, v] of this.cache) if (v.exp <= now) this.cache.delete(k);
    }
    return { claims, cached: false, via };
  }
}

/** What a validated token says about its caller. */
export function caller(claims) {
  const app = claims.idtyp === 'app' || (!claims.scp && Array.isArray(claims.roles));
  return {
    kind: app ? 'app' : 'delegated',
    tid: claims.tid,
    appId: claims.appid ?? claims.azp ?? claims.client_id ?? null,
    oid: claims.oid ?? null,
    upn: claims.upn ?? claims.preferred_username ?? null,
    scopes: app ? [] : String(claims.scp ?? '').split(' ').filter(Boolean),
    roles: app ? (Array.isArray(claims.roles) ? claims.roles.map(String) : []) : [],
  };
}

/** Case-insensitive: does the caller hold any of these delegated scopes / app roles? */
export function hasAny(list, wanted) {
  const have = new Set(list.map((s) => s.toLowerCase()));
  return wanted.some((w) => have.has(w.toLowerCase()));
}
