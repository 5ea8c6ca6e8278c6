// Test-only state: the request log, injected faults, mailboxes denied to app-only tokens, the
// mailbox concurrency limit, sent mail; and the /_control/ API over them.
import { randomUUID } from 'node:crypto';

import { TENANTS, createdApps, directorySummary } from './directory.mjs';

/** A tenant GUID or domain as its id, or null. */
function tenantId(value) {
  const v = String(value ?? '').toLowerCase();
  return Object.values(TENANTS).find((t) => t.id === v || t.domain === v)?.id ?? null;
}

export const FAULT_STATUSES = [403, 429, 500, 503, 504];
/** Faults that are not a Graph error: see README ("Faults"). */
export const FAULT_MODES = ['drop', 'hang', 'truncated', 'malformed', 'html', 'huge'];

export class Control {
  constructor() {
    this.log = [];
    this.faults = [];
    this.denied = []; // addresses or ids, lower case
    this.limits = { mailbox_concurrency: 4, retry_after: 1 };
    this.sent = [];
    this.inFlight = new Map(); // "appId|mailbox id" -> count
  }

  logStart(fields) {
    const entry = {
      t_start: Date.now(), t_sent: null, t_end: null, method: null, path: null, query: null, mailbox: null, user: null, tenant: null,
      app_id: null, auth: 'none', status: null, error_code: null, injected: false, throttled: false,
      token_cached: false, token_check: null, in_flight: 0, request_id: null, client_request_id: null, ...fields,
    };
    this.log.push(entry);
    if (this.log.length > 20000) this.log.splice(0, this.log.length - 20000);
    return entry;
  }

  /** Counts a request in flight for app+mailbox; returns [count including it, release()]. */
  enter(key) {
    const n = (this.inFlight.get(key) ?? 0) + 1;
    this.inFlight.set(key, n);
    let done = false;
    return [n, () => {
      if (done) return;
      done = true;
      const left = (this.inFlight.get(key) ?? 1) - 1;
      if (left <= 0) this.inFlight.delete(key);
      else this.inFlight.set(key, left);
    }];
  }

  /** The first fault matching this request (its count goes down by one), or null. */
  takeFault({ path, mailboxNames }) {
    for (const f of this.faults) {
      if (f.pathRe && !f.pathRe.test(path)) continue;
      if (f.mailbox && !mailboxNames.includes(f.mailbox)) continue;
      if (typeof f.remaining === 'number') {
        f.remaining -= 1;
        if (f.remaining <= 0) this.faults.splice(this.faults.indexOf(f), 1);
      }
      f.applied += 1;
      return f;
    }
    return null;
  }

  addFault(body) {
    const status = body.status == null ? null : Number(body.status);
    if (status !== null && !FAULT_STATUSES.includes(status)) return { error: `status must be one of ${FAULT_STATUSES.join(', ')} (or omitted with delay_ms)` };
    const mode = body.mode == null ? null : String(body.mode);
    if (mode !== null && !FAULT_MODES.includes(mode)) return { error: `mode must be one of ${FAULT_MODES.join(', ')}` };
    if (mode !== null && status !== null) return { error: 'give status or mode, not both' };
    const delay = body.delay_ms == null ? 0 : Number(body.delay_ms);
    if (!Number.isFinite(delay) || delay < 0) return { error: 'delay_ms must be a number of milliseconds' };
    if (status === null && mode === null && !delay) return { error: 'give status, mode, delay_ms, or status/mode with delay_ms' };
    const bytes = body.bytes == null ? 8 * 1024 * 1024 : Number(body.bytes);
    if (!Number.isInteger(bytes) || bytes < 64) return { error: 'bytes must be a whole number of at least 64' };
    const count = body.count == null ? null : Number(body.count);
    if (count !== null && (!Number.isInteger(count) || count < 1)) return { error: 'count must be a positive whole number' };
    let pathRe = null;
    if (body.path != null) {
      try {
        pathRe = new RegExp(String(body.path), 'i');
      } catch (e) {
        return { error: `path is not a regular expression: ${e.message}` };
      }
    }
    const retryAfter = body.retry_after == null ? (status === 429 ? 1 : null) : Number(body.retry_after);
    const f = {
      id: randomUUID(), status, mode, ...(mode === 'huge' ? { bytes } : {}), retry_after: retryAfter, count, remaining: count, path: body.path == null ? null : String(body.path), pathRe,
      mailbox: body.mailbox == null ? null : String(body.mailbox).toLowerCase(), delay_ms: delay,
      code: body.code == null ? null : String(body.code), message: body.message == null ? null : String(body.message), applied: 0,
    };
    this.faults.push(f);
    return { fault: f };
  }

  isDenied(names) {
    return this.denied.some((d) => names.includes(d));
  }
}

const publicFault = ({ pathRe, ...f }) => f;

const json = (res, status, body) => {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
};

/** Handles /_control/...; returns false when nothing matched. */
export function handleControl(app, req, res, path, body) {
  const { control } = app;
  const method = req.method;

  if (path === '/_control/health' && method === 'GET') {
    return json(res, 200, { ok: true, base: app.base, idp: app.idp, pid: process.pid });
  }
  if (path === '/_control/directory' && method === 'GET') return json(res, 200, directorySummary());
  if (path === '/_control/log') {
    if (method === 'GET') return json(res, 200, control.log);
    if (method === 'DELETE') {
      control.log.length = 0;
      return json(res, 200, { ok: true });
    }
  }
  if (path === '/_control/faults') {
    if (method === 'GET') return json(res, 200, control.faults.map(publicFault));
    if (method === 'POST') {
      const out = control.addFault(body);
      if (out.error) return json(res, 400, { error: out.error });
      return json(res, 200, publicFault(out.fault));
    }
    if (method === 'DELETE') {
      control.faults.length = 0;
      return json(res, 200, { ok: true });
    }
  }
  if (path === '/_control/access-denied') {
    if (method === 'GET') return json(res, 200, { mailboxes: control.denied });
    if (method === 'POST') {
      if (!Array.isArray(body.mailboxes)) return json(res, 400, { error: 'mailboxes must be an array of addresses' });
      for (const m of body.mailboxes) {
        const k = String(m).toLowerCase();
        if (!control.denied.includes(k)) control.denied.push(k);
      }
      return json(res, 200, { mailboxes: control.denied });
    }
    if (method === 'DELETE') {
      control.denied.length = 0;
      return json(res, 200, { mailboxes: [] });
    }
  }
  if (path === '/_control/limits') {
    if (method === 'GET') return json(res, 200, control.limits);
    if (method === 'POST') {
      for (const k of ['mailbox_concurrency', 'retry_after']) {
        if (body[k] == null) continue;
        const n = Number(body[k]);
        if (!Number.isInteger(n) || n < (k === 'retry_after' ? 0 : 1)) return json(res, 400, { error: `${k} must be a whole number` });
        control.limits[k] = n;
      }
      return json(res, 200, control.limits);
    }
  }
  if (path === '/_control/sent') {
    if (method === 'GET') return json(res, 200, control.sent);
    if (method === 'DELETE') {
      control.sent.length = 0;
      return json(res, 200, { ok: true });
    }
  }
  if (path === '/_control/token-cache' && method === 'DELETE') {
    app.validator.clear();
    return json(res, 200, { ok: true });
  }
  // Creating app registrations (admin.mjs): per-tenant settings and what was created.
  if (path === '/_control/tenant-settings') {
    if (method === 'GET') return json(res, 200, app.admin.settings);
    if (method === 'POST') {
      const tid = tenantId(body.tenant);
      if (!tid) return json(res, 400, { error: 'tenant must name a tenant (GUID or domain)' });
      const next = { ...app.admin.settingsOf(tid) };
      if ('users_can_register_apps' in body) next.users_can_register_apps = body.users_can_register_apps !== false;
      if ('max_password_lifetime_days' in body) {
        const d = body.max_password_lifetime_days == null ? null : Number(body.max_password_lifetime_days);
        if (d !== null && (!Number.isInteger(d) || d < 1)) return json(res, 400, { error: 'max_password_lifetime_days must be a whole number of days, or null' });
        next.max_password_lifetime_days = d;
      }
      if ('policy_id' in body) next.policy_id = body.policy_id == null ? null : String(body.policy_id);
      app.admin.settings[tid] = next;
      return json(res, 200, { tenant: tid, ...next });
    }
  }
  if (path === '/_control/replication') {
    if (method === 'GET') return json(res, 200, { delay_ms: app.admin.replicationDelayMs });
    if (method === 'POST') {
      const d = Number(body.delay_ms ?? 0);
      if (!Number.isFinite(d) || d < 0) return json(res, 400, { error: 'delay_ms must be a number of milliseconds' });
      app.admin.replicationDelayMs = d;
      return json(res, 200, { delay_ms: d });
    }
  }
  if (path === '/_control/created' && method === 'GET') {
    const strip = (list) => list.map((x) => ({ ...(x.props ?? x) , tenant: x.tid }));
    return json(res, 200, {
      applications: strip(createdApps),
      service_principals: strip(app.admin.sps),
      oauth2_permission_grants: app.admin.grants.map(({ tid, ...g }) => ({ ...g, tenant: tid })),
      app_role_assignments: app.admin.assignments.map(({ tid, ...a }) => ({ ...a, tenant: tid })),
    });
  }
  if (path === '/_control/reset' && method === 'POST') {
    app.admin.reset();
    control.log.length = 0;
    control.faults.length = 0;
    control.denied.length = 0;
    control.sent.length = 0;
    control.limits = { mailbox_concurrency: 4, retry_after: 1 };
    app.validator.clear();
    app.mailboxes.boxes.clear();
    return json(res, 200, { ok: true });
  }
  return false;
}
