// The token log the secret-leak scan reads: every issued token and secret, from a real provider.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { secretsIn } from './token-log.mjs';

test('secret values are found at any depth, other values are not', () => {
  const found = secretsIn({
    access_token: 'eyJ0eXAi.aaaa.bbbb', refresh_token: 'M.C5_BAY.rt-value', token_type: 'Bearer',
    expires_in: 3600, nested: [{ value: 'Wq18Q~secret-value', displayName: 'current' }, { secretText: 'Ab1Q~new.secret' }],
  });
  assert.deepEqual(found.sort(), ['Ab1Q~new.secret', 'M.C5_BAY.rt-value', 'Wq18Q~secret-value', 'eyJ0eXAi.aaaa.bbbb']);
});

test('the provider writes what it issues to IDP_TOKEN_LOG', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'idp-token-log-'));
  const log = join(dir, 'tokens.log');
  const child = spawn(process.execPath, [join(import.meta.dirname, 'server.mjs'), '--port', '0'], {
    env: { ...process.env, IDP_TOKEN_LOG: log }, stdio: ['ignore', 'pipe', 'ignore'],
  });
  try {
    const base = await new Promise((resolve, reject) => {
      child.stdout.once('data', (d) => resolve(JSON.parse(String(d).split('\n')[0]).base));
      child.once('exit', reject);
    });
    const fixtures = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures.json'), 'utf8'));
    const web = fixtures.clients.web;
    const res = await fetch(`${base}/${fixtures.tenants.contoso.id}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: web.client_id,
        client_secret: web.secrets[0].value, scope: 'https://graph.microsoft.com/.default' }),
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.ok(readFileSync(log, 'utf8').split('\n').includes(body.access_token));
  } finally {
    child.kill('SIGTERM');
  }
});
