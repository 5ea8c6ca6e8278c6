// The user's side, headless: the sign-in and consent "pages" (an interaction answered at once for
// the account named by login_hint), device code approval at /devicelogin, and admin consent.
import {
  clientById, resolveTenant, userForHint, userProblem, clientTenantProblem, redirectUriAllowed, notFoundInTenant,
  isOidcScope, resourcesOf, resourceOf,
} from './directory.mjs';
import { sendPage, redirectProblem } from './gateway.mjs';

const now = () => Math.floor(Date.now() / 1000);

const unknownUser = (hint, tenant) => ({
  error: 'invalid_request', code: 50034,
  message: `The user account {EUII Hidden} does not exist in the '${tenant.name}' directory. To sign into this application, the account must be added to the directory. (login_hint '${hint}')`,
});

/** Grants what was asked for: the OpenID scopes and each resource's scopes. */
function grantScopes(grant, scopes) {
  const oidc = scopes.filter(isOidcScope);
  if (oidc.length) grant.addOIDCScope(oidc.join(' '));
  for (const res of resourcesOf(scopes)) grant.addResourceScope(res, scopes.filter((s) => resourceOf(s) === res).join(' '));
}

/** GET /interaction/:uid — oidc-provider asks for login and consent; answer both at once. */
export async function interaction(app, req, res, uid) {
  const { provider } = app;
  const i = await provider.Interaction.find(uid);
  if (!i) {
    return sendPage(res, 400, { error: 'invalid_request', code: 9002313, message: 'The sign-in session was not found or has expired. Start the sign-in again.' });
  }
  const tenant = resolveTenant(new URL(i.returnTo).pathname.split('/')[1]);
  const client = clientById(i.params.client_id);
  const user = userForHint(i.params.login_hint, tenant);
  if (!user) return sendPage(res, 400, unknownUser(i.params.login_hint, tenant));

  const problem = userProblem(client, tenant, user);
  if (problem) {
    i.result = { error: problem.error, error_description: `AADSTS${problem.code}: ${problem.message}` };
  } else {
    const grant = i.grantId ? await provider.Grant.find(i.grantId) : new provider.Grant({ accountId: user.oid, clientId: client.client_id });
    grantScopes(grant, String(i.params.scope ?? '').split(' ').filter(Boolean));
    const d = i.prompt?.details ?? {};
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    for (const [res, scopes] of Object.entries(d.missingResourceScopes ?? {})) grant.addResourceScope(res, scopes.join(' '));
    i.result = {
      login: { accountId: user.oid, amr: ['pwd'], remember: false },
      consent: { grantId: await grant.save() },
    };
  }
  await i.save(i.exp - now());
  res.writeHead(303, { location: i.returnTo, 'cache-control': 'no-store' });
  res.end();
}

/**
 * Approves (or declines) a device code as the account named by loginHint. Returns
 * { user, declined, problem, recorded } (recorded: the polling app will see the error).
 */
export async function approveDevice(app, { userCode, loginHint, decline }) {
  const { provider, store } = app;
  const normalized = String(userCode ?? '').toUpperCase().replace(/\W/g, '');
  const code = normalized ? await provider.DeviceCode.findByUserCode(normalized, { ignoreExpiration: true }) : undefined;
  if (!code) return { problem: { error: 'invalid_request', code: 70000, message: "That code didn't work. Check the code and try again." } };
  if (code.isExpired) return { problem: { error: 'expired_token', code: 70019, message: 'That code has expired. Ask the app for a new one.' } };
  if (code.accountId || code.error) return { problem: { error: 'invalid_request', code: 70000, message: 'That code was already used.' } };

  const tenant = resolveTenant(store.get('DeviceCode', code.jti)?.mcTenant ?? 'common');
  const client = clientById(code.clientId);
  const refuse = async (problem) => {
    code.error = problem.error;
    code.errorDescription = `AADSTS${problem.code}: ${problem.message}`;
    await code.save();
    return { problem, recorded: true, declined: problem.error === 'authorization_declined' };
  };
  const declined = { error: 'authorization_declined', code: 65004, message: 'The user declined to authorize the request.' };
  if (decline) return refuse(declined);

  const user = userForHint(loginHint, tenant);
  if (!user) return { problem: unknownUser(loginHint, tenant) };
  const problem = clientTenantProblem(client, tenant) ?? userProblem(client, tenant, user);
  if (problem?.code === 65004) return { ...(await refuse(declined)), user };
  if (problem) return { ...(await refuse(problem)), user };

  const scopes = String(code.params?.scope ?? '').split(' ').filter(Boolean);
  const grant = new provider.Grant({ accountId: user.oid, clientId: client.client_id });
  grantScopes(grant, scopes);
  const resources = resourcesOf(scopes);
  Object.assign(code, {
    accountId: user.oid,
    grantId: await grant.save(),
    authTime: now(),
    amr: ['pwd'],
    scope: scopes.join(' '),
    ...(resources.length ? { resource: resources.length === 1 ? resources[0] : resources } : {}),
  });
  await code.save();
  return { user };
}

const page = (res, status, title, text) => {
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${esc(title)}</title></head><body><h1>${esc(title)}</h1><p>${esc(text)}</p></body></html>\n`);
};

/** GET /devicelogin?user_code=..&login_hint=..[&decline=1]; without user_code, a form. */
export async function deviceLogin(app, req, res, url) {
  const q = url.searchParams;
  if (!q.get('user_code')) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    return res.end(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Enter code</title></head><body><h1>Enter code</h1>
<form method="get" action="/devicelogin"><input name="user_code" placeholder="Code" autofocus>
<input name="login_hint" placeholder="alice@contoso.test"><button>Next</button></form></body></html>
`);
  }
  const entry = app.control.logStart({ endpoint: 'devicelogin', login_hint: q.get('login_hint') });
  const out = await approveDevice(app, { userCode: q.get('user_code'), loginHint: q.get('login_hint'), decline: ['1', 'true', 'yes'].includes(q.get('decline')) });
  if (out.problem) {
    Object.assign(entry, { status: 400, error: out.problem.error, error_codes: [out.problem.code] });
    if (out.declined) return page(res, 200, 'Sign-in declined', 'You declined to sign in to the app on your other device. You may now close this window.');
    return page(res, 400, 'Sign in', `AADSTS${out.problem.code}: ${out.problem.message}`);
  }
  entry.status = 200;
  return page(res, 200, 'You are signed in', `${out.user.upn} signed in to the app on your other device. You may now close this window.`);
}

/** GET /{tenant}/v2.0/adminconsent?client_id=..&redirect_uri=..&state=..[&login_hint=..] */
export function adminConsent(app, req, res, tenant, url, mc) {
  const q = Object.fromEntries(url.searchParams);
  mc.entry = app.control.logStart({ endpoint: 'adminconsent', tenant: tenant.segment, client_id: q.client_id ?? null, scope: q.scope ?? null, login_hint: q.login_hint ?? null });
  const client = clientById(q.client_id);
  if (!client) return sendPage(res, 400, notFoundInTenant(q.client_id ?? '', tenant), mc);
  if (!q.redirect_uri || !redirectUriAllowed(client, q.redirect_uri)) {
    return sendPage(res, 400, { error: 'invalid_request', code: 50011, message: `The redirect URI '${q.redirect_uri ?? ''}' specified in the request does not match the redirect URIs configured for the application '${client.client_id}'.` }, mc);
  }
  const back = { redirectUri: q.redirect_uri, state: q.state };
  if (tenant.kind === 'consumers') {
    return redirectProblem(app, res, back, { error: 'invalid_request', code: 50059, message: 'No tenant-identifying information found in either the request or implied by any provided credentials. Admin consent needs a work or school tenant.' }, mc);
  }
  const admin = userForHint(q.login_hint, tenant);
  if (!admin) return sendPage(res, 400, unknownUser(q.login_hint, tenant), mc);
  const target = tenant.tid ? tenant : resolveTenant(admin.tid);
  const problem = clientTenantProblem(client, target) ?? userProblem(client, target, admin);
  if (problem) return redirectProblem(app, res, back, problem, mc);
  if (!admin.admin) {
    return redirectProblem(app, res, back, { error: 'consent_required', code: 90094, message: `The grant requires admin permission. ${admin.upn} is not an administrator of '${target.name}'.` }, mc);
  }
  app.control.setConsented(client.client_id, target.tid, true);
  const u = new URL(q.redirect_uri);
  u.searchParams.set('admin_consent', 'True');
  u.searchParams.set('tenant', target.tid);
  if (q.scope) u.searchParams.set('scope', q.scope);
  if (q.state != null) u.searchParams.set('state', q.state);
  Object.assign(mc.entry, { status: 302 });
  res.writeHead(302, { location: u.href, 'cache-control': 'no-store' });
  return res.end();
}
