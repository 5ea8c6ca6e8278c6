// An unbounded in-memory store for oidc-provider (its default is an LRU of about 1,000 entries,
// which loses refresh tokens once there are more than about a hundred live grants).
//
// Expired entries are kept for a grace period so that oidc-provider can still tell "expired"
// (AADSTS700082, expired_token) from "not found" (AADSTS70000, bad_verification_code).

const GRACE_MS = {
  RefreshToken: 30 * 86400_000,
  DeviceCode: 86400_000,
  AuthorizationCode: 86400_000,
  default: 3600_000,
};

const grantable = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

export class Store {
  /** @param {object} [snapshot] what toJSON() returned, to resume after a restart */
  constructor(snapshot) {
    this.models = new Map();
    this.onWrite = () => {};
    this.writes = 0;
    for (const [name, entries] of Object.entries(snapshot ?? {})) {
      this.models.set(name, new Map(Object.entries(entries)));
    }
  }

  model(name) {
    let m = this.models.get(name);
    if (!m) this.models.set(name, (m = new Map()));
    return m;
  }

  /** The stored payload (a copy), whether expired or not; undefined once past the grace period. */
  get(name, id) {
    const entry = this.model(name).get(id);
    if (!entry) return undefined;
    if (entry.expiresAt && Date.now() > entry.expiresAt + (GRACE_MS[name] ?? GRACE_MS.default)) {
      this.model(name).delete(id);
      return undefined;
    }
    return structuredClone(entry.payload);
  }

  set(name, id, payload, expiresIn) {
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : payload.exp ? payload.exp * 1000 : null;
    this.model(name).set(id, { payload: structuredClone(payload), expiresAt });
    this.written();
  }

  /** Changes fields of a stored payload in place (control endpoints, scope upgrades). */
  patch(name, id, fields) {
    const entry = this.model(name).get(id);
    if (!entry) return false;
    Object.assign(entry.payload, fields);
    if (typeof fields.exp === 'number') entry.expiresAt = fields.exp * 1000;
    this.written();
    return true;
  }

  delete(name, id) {
    this.model(name).delete(id);
    this.written();
  }

  *entries(name) {
    for (const [id, { payload }] of this.model(name)) yield [id, payload];
  }

  written() {
    if (++this.writes % 200 === 0) this.purge();
    this.onWrite();
  }

  purge() {
    const now = Date.now();
    for (const [name, m] of this.models) {
      const grace = GRACE_MS[name] ?? GRACE_MS.default;
      for (const [id, e] of m) if (e.expiresAt && now > e.expiresAt + grace) m.delete(id);
    }
  }

  toJSON() {
    const out = {};
    for (const [name, m] of this.models) out[name] = Object.fromEntries(m);
    return out;
  }
}

/** The adapter class oidc-provider instantiates once per model name. */
export function adapterFor(store) {
  return class MemoryAdapter {
    constructor(name) {
      this.name = name;
    }

    async upsert(id, payload, expiresIn) {
      store.set(this.name, id, payload, expiresIn);
    }

    async find(id) {
      return store.get(this.name, id);
    }

    async findByUserCode(userCode) {
      for (const [id, p] of store.entries(this.name)) if (p.userCode === userCode) return store.get(this.name, id);
      return undefined;
    }

    async findByUid(uid) {
      for (const [id, p] of store.entries(this.name)) if (p.uid === uid) return store.get(this.name, id);
      return undefined;
    }

    async consume(id) {
      // Microsoft keeps a rotated refresh token usable and never revokes the whole family when an
      // old one comes back, so a refresh token is never marked consumed (oidc-provider would
      // revoke the grant on reuse). Codes and device codes stay single-use.
      if (this.name === 'RefreshToken') {
        store.patch(this.name, id, { rotatedAt: Math.floor(Date.now() / 1000) });
        return;
      }
      store.patch(this.name, id, { consumed: Math.floor(Date.now() / 1000) });
    }

    async destroy(id) {
      store.delete(this.name, id);
    }

    async revokeByGrantId(grantId) {
      if (!grantable.has(this.name)) return;
      for (const [id, p] of [...store.entries(this.name)]) if (p.grantId === grantId) store.delete(this.name, id);
    }
  };
}
