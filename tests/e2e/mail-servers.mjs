// Dovecot and the Exchange stand-in (the `mail-servers` bin of crates/testkit) for a test, and an
// app registration whose mail servers are theirs.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { track } from './harness.mjs';
import { cli, fixtures } from './idp.mjs';

const CARGO_TARGET = process.env.CARGO_TARGET_DIR ?? join(process.env.HOME ?? '', '.cache/mailconn/target');
const MAIL_SERVERS = join(CARGO_TARGET, 'debug/mail-servers');

/** Dovecot and the Exchange stand-in (SMTP AUTH off for mailboxes), for this provider. */
export async function startMailServers(idpBase) {
  const proc = track(spawn(MAIL_SERVERS, [idpBase, '--exchange-smtp-auth-off', 'mailbox'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  }));
  const line = await new Promise((ok, fail) => {
    createInterface({ input: proc.stdout }).once('line', ok);
    proc.once('exit', (code) => fail(new Error(`mail-servers exited with ${code}`)));
  });
  return { ...JSON.parse(line), stop: () => proc.stdin.end() };
}

/** `mailconn app add` with the "Mail programs" permissions and these servers. */
export function addMailApp(dataDir, authority, name, servers) {
  cli(dataDir, ['app', 'add', '--name', name, '--client-id', fixtures.clients.web.client_id,
    '--tenant', 'contoso.test', '--authority-url', authority, '--graph-url', 'http://127.0.0.1:9',
    '--preset', 'mail-programs', '--secret-stdin', '--secret-expires', '2099-01-01',
    '--imap-server', servers.imap, '--pop-server', servers.pop, '--smtp-server', servers.smtp],
  fixtures.clients.web.secrets[0].value);
}
