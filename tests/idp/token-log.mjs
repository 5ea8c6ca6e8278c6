// Every token and secret this provider hands out, one per line, for the secret-leak scan
// (scripts/leak-scan.py) that searches the app's files for them after the tests. Written to
// IDP_TOKEN_LOG, or to $MAILCONN_ARTIFACTS/idp-tokens.log when only that is set; off otherwise.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

const file = process.env.IDP_TOKEN_LOG
  || (process.env.MAILCONN_ARTIFACTS ? join(process.env.MAILCONN_ARTIFACTS, 'idp-tokens.log') : null);
if (file) mkdirSync(dirname(file), { recursive: true });

const KEYS = new Set(['access_token', 'refresh_token', 'id_token', 'device_code', 'secretText', 'code']);

/** The secret values in a parsed JSON body (a client secret's `value` is one too). */
export function secretsIn(body, out = []) {
  if (Array.isArray(body)) for (const v of body) secretsIn(v, out);
  else if (body && typeof body === 'object') {
    for (const [k, v] of Object.entries(body)) {
      if (typeof v === 'string' && v.length >= 8 && (KEYS.has(k) || (k === 'value' && v.includes('Q~')))) out.push(v);
      else if (typeof v === 'object') secretsIn(v, out);
    }
  }
  return out;
}

/** Records the secrets in a JSON response and in an authorization code redirect. */
export function recordIssued(res) {
  if (!file) return;
  const chunks = [];
  const { write, end } = res;
  res.write = function (chunk, ...rest) {
    if (chunk && typeof chunk !== 'function') chunks.push(Buffer.from(chunk));
    return write.call(this, chunk, ...rest);
  };
  res.end = function (chunk, ...rest) {
    if (chunk && typeof chunk !== 'function') chunks.push(Buffer.from(chunk));
    try {
      const found = [];
      const location = res.getHeader('location');
      if (location) {
        const u = new URL(String(location), 'http://x');
        for (const p of [u.searchParams, new URLSearchParams(u.hash.slice(1))]) {
          const code = p.get('code');
          if (code) found.push(code);
        }
      }
      if (/json/.test(String(res.getHeader('content-type') ?? '')) && chunks.length) {
        secretsIn(JSON.parse(Buffer.concat(chunks).toString('utf8')), found);
      }
      if (found.length) appendFileSync(file, found.map((s) => `${s}\n`).join(''), { mode: 0o600 });
    } catch { /* not JSON: nothing issued */ }
    return end.call(this, chunk, ...rest);
  };
}
