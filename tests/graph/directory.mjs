// The directory Graph sees: per tenant, the identity provider's users (same object ids as in
// tests/idp/fixtures.json, so /me matches their tokens), shared mailboxes, a user without a
// mailbox and 60 generated mailboxes; the app registrations (application objects) of the
// identity provider's clients; and a few generated messages per mailbox.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export const idpFixtures = JSON.parse(readFileSync(new URL('../idp/fixtures.json', import.meta.url), 'utf8'));

export const GRAPH = idpFixtures.resources.graph.resource; // the `aud` of the idp's Graph tokens
export const CONTOSO_TID = idpFixtures.tenants.contoso.id;
export const FABRIKAM_TID = idpFixtures.tenants.fabrikam.id;
export const CONSUMERS_TID = idpFixtures.tenants.consumers.id;

const sha = (s) => createHash('sha256').update(s).digest();
const guidFrom = (s) => {
  const h = sha(s).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
};
export const isGuid = (s) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);

// ---- users -----------------------------------------------------------------------------------

/** Graph's default property set for a user (what GET /users/{id} answers without $select). */
export const USER_DEFAULT = ['businessPhones', 'displayName', 'givenName', 'jobTitle', 'mail', 'mobilePhone', 'officeLocation', 'preferredLanguage', 'surname', 'userPrincipalName', 'id'];
/** Every property a user has here (others are unknown to $select). */
export const USER_PROPS = [...USER_DEFAULT, 'accountEnabled', 'userType', 'proxyAddresses', 'mailNickname', 'usageLocation', 'department', 'companyName', 'createdDateTime', 'otherMails', 'assignedLicenses'];

const EXCHANGE_SKU = { disabledPlans: [], skuId: '4b9405b0-7788-4568-add1-99614e613b69' }; // Exchange Online (Plan 1)

function user(tid, { id, upn, name, given, surname, job = null, mail = upn, aliases = [], enabled = true, mailbox = true, shared = false, delegates = [], messages = 5, office = null, department = null }) {
  const [nick] = upn.split('@');
  return {
    tid,
    kind: shared ? 'shared' : 'user',
    hasMailbox: mailbox,
    delegates: delegates.map((d) => d.toLowerCase()),
    messageCount: mailbox ? messages : 0,
    props: {
      id,
      businessPhones: [],
      displayName: name,
      givenName: given,
      jobTitle: job,
      mail,
      mobilePhone: null,
      officeLocation: office,
      preferredLanguage: shared ? null : 'en-US',
      surname,
      userPrincipalName: upn,
      accountEnabled: enabled,
      userType: 'Member',
      proxyAddresses: mail ? [`SMTP:${mail}`, ...aliases.map((a) => `smtp:${a}`)] : [],
      mailNickname: nick,
      usageLocation: shared ? null : 'US',
      department,
      companyName: null,
      createdDateTime: '2025-01-01T00:00:00Z',
      otherMails: [],
      assignedLicenses: mailbox && !shared ? [EXCHANGE_SKU] : [],
    },
  };
}

const idpUser = (key) => idpFixtures.users[key];
const [aliceGiven, aliceSurname] = idpUser('alice').name.split(' ');
const [bobGiven, bobSurname] = idpUser('bob').name.split(' ');
const [erinGiven, erinSurname] = idpUser('erin').name.split(' ');
const [carolGiven, carolSurname] = idpUser('carol').name.split(' ');

const pad2 = (n) => String(n).padStart(2, '0');
/** Stable id of generated mailbox userNN in Contoso. */
export const generatedUserId = (n) => `c0c00000-0000-4000-8000-${String(n).padStart(12, '0')}`;
/** How many generated mailboxes (user01...) Contoso has: 60, or GRAPH_GENERATED_USERS (benchmarks). */
const GENERATED_USERS = Math.min(99999, Math.max(60, Number(process.env.GRAPH_GENERATED_USERS) || 60));

function contosoUsers() {
  const tid = CONTOSO_TID;
  const list = [
    user(tid, { id: idpUser('alice').oid, upn: idpUser('alice').upn, name: idpUser('alice').name, given: aliceGiven, surname: aliceSurname, job: 'IT Administrator', office: 'Building 1', department: 'IT', aliases: ['alice.anders@contoso.test'], messages: 12 }),
    user(tid, { id: idpUser('bob').oid, upn: idpUser('bob').upn, name: idpUser('bob').name, given: bobGiven, surname: bobSurname, job: 'Sales Manager', office: 'Building 2', department: 'Sales', aliases: ['bob.berg@contoso.test'] }),
    user(tid, { id: '5a000000-0000-4000-8000-000000000001', upn: 'info@contoso.test', name: 'Contoso Info', given: null, surname: null, enabled: false, shared: true, delegates: ['alice@contoso.test'], messages: 3 }),
    user(tid, { id: '5a000000-0000-4000-8000-000000000002', upn: 'sales@contoso.test', name: 'Contoso Sales', given: null, surname: null, enabled: false, shared: true, delegates: ['alice@contoso.test', 'bob@contoso.test'], messages: 3 }),
    user(tid, { id: '5a000000-0000-4000-8000-000000000003', upn: 'support@contoso.test', name: 'Contoso Support', given: null, surname: null, enabled: false, shared: true, delegates: ['alice@contoso.test'], messages: 3 }),
    user(tid, { id: '0a000000-0000-4000-8000-000000000001', upn: 'nomailbox@contoso.test', name: 'No Mailbox', given: 'No', surname: 'Mailbox', job: 'Contractor', mail: null, mailbox: false }),
  ];
  for (let n = 1; n <= GENERATED_USERS; n++) {
    list.push(user(tid, { id: generatedUserId(n), upn: `user${pad2(n)}@contoso.test`, name: `User ${pad2(n)}`, given: 'User', surname: pad2(n), job: 'Staff', messages: 3 }));
  }
  return list;
}

function fabrikamUsers() {
  const tid = FABRIKAM_TID;
  return [
    user(tid, { id: idpUser('erin').oid, upn: idpUser('erin').upn, name: idpUser('erin').name, given: erinGiven, surname: erinSurname, job: 'Operations Lead', aliases: ['erin.eriksen@fabrikam.test'] }),
    user(tid, { id: '5b000000-0000-4000-8000-000000000001', upn: 'info@fabrikam.test', name: 'Fabrikam Info', given: null, surname: null, enabled: false, shared: true, delegates: ['erin@fabrikam.test'], messages: 3 }),
  ];
}

/**
 * A personal account (consumers tenant). Graph's /me `id` for a Microsoft account is the 16-hex
 * digit account id (CID), which the token carries as the last part of `oid`
 * (00000000-0000-0000-XXXX-XXXXXXXXXXXX); `mail` is null, the address is the userPrincipalName.
 */
function consumerUsers() {
  const c = idpUser('carol');
  const cid = c.oid.replace(/-/g, '').slice(16);
  const u = user(CONSUMERS_TID, { id: cid, upn: c.upn, name: c.name, given: carolGiven, surname: carolSurname, mail: null });
  Object.assign(u.props, { preferredLanguage: null, usageLocation: null, assignedLicenses: [], proxyAddresses: [] });
  u.oid = c.oid;
  u.personal = true;
  return [u];
}

export const TENANTS = {
  [CONTOSO_TID]: { id: CONTOSO_TID, name: idpFixtures.tenants.contoso.name, domain: idpFixtures.tenants.contoso.domain, users: contosoUsers() },
  [FABRIKAM_TID]: { id: FABRIKAM_TID, name: idpFixtures.tenants.fabrikam.name, domain: idpFixtures.tenants.fabrikam.domain, users: fabrikamUsers() },
  [CONSUMERS_TID]: { id: CONSUMERS_TID, name: idpFixtures.tenants.consumers.name, domain: null, users: consumerUsers(), personal: true },
};
for (const t of Object.values(TENANTS)) for (const u of t.users) u.oid ??= u.props.id;

/** Every SMTP address of a user (primary and aliases), lower case. */
export const addressesOf = (u) => u.props.proxyAddresses.map((p) => p.replace(/^smtp:/i, '').toLowerCase());
/** The address that names a user in logs and in fault/access-denied matching. */
export const primaryAddress = (u) => (u.props.mail ?? u.props.userPrincipalName).toLowerCase();

/** The signed-in user of a delegated token (by oid, then upn/preferred_username). */
export function userForToken(claims) {
  const t = TENANTS[claims.tid];
  if (!t) return null;
  const name = String(claims.upn ?? claims.preferred_username ?? '').toLowerCase();
  return t.users.find((u) => u.oid === claims.oid) ?? (name ? t.users.find((u) => u.props.userPrincipalName.toLowerCase() === name) : null) ?? null;
}

/**
 * Directory lookup as GET /users/{x} does it: object id or userPrincipalName (Graph does not look
 * up `mail` or proxy addresses on this path). A personal account's directory is not searchable.
 */
export function findUser(tid, x) {
  const t = TENANTS[tid];
  if (!t || t.personal) return null;
  const k = String(x).toLowerCase();
  return t.users.find((u) => u.props.id === k || u.props.userPrincipalName.toLowerCase() === k) ?? null;
}

/** Mailbox lookup as Exchange does it for /users/{x}/...: id, UPN or any SMTP proxy address. */
export function findMailbox(tid, x) {
  const t = TENANTS[tid];
  if (!t || t.personal) return null;
  const k = String(x).toLowerCase();
  return t.users.find((u) => u.props.id === k || u.props.userPrincipalName.toLowerCase() === k || addressesOf(u).includes(k)) ?? null;
}

/** Any mailbox of any tenant with this address (mail delivery between test mailboxes). */
export function mailboxByAddress(address) {
  const k = String(address).toLowerCase();
  for (const t of Object.values(TENANTS)) {
    const u = t.users.find((x) => x.hasMailbox && (addressesOf(x).includes(k) || x.props.userPrincipalName.toLowerCase() === k));
    if (u) return u;
  }
  return null;
}

// ---- messages --------------------------------------------------------------------------------

export const MESSAGE_DEFAULT = ['id', 'createdDateTime', 'lastModifiedDateTime', 'changeKey', 'categories', 'receivedDateTime', 'sentDateTime', 'hasAttachments', 'internetMessageId', 'subject', 'bodyPreview', 'importance', 'parentFolderId', 'conversationId', 'isDeliveryReceiptRequested', 'isReadReceiptRequested', 'isRead', 'isDraft', 'webLink', 'inferenceClassification', 'body', 'sender', 'from', 'toRecipients', 'ccRecipients', 'bccRecipients', 'replyTo', 'flag'];
export const MESSAGE_PROPS = MESSAGE_DEFAULT;
/** Mail.ReadBasic(.All) gives no body. */
export const MESSAGE_BODY_PROPS = ['body', 'bodyPreview', 'uniqueBody'];

const SENDERS = [
  ['Northwind Traders', 'orders@northwind.test'],
  ['Contoso IT', 'it@contoso.test'],
  ['Adatum Newsletter', 'news@adatum.test'],
  ['Woodgrove Bank', 'statements@woodgrove.test'],
  ['Tailspin Toys', 'hello@tailspin.test'],
];
const SUBJECTS = ['Quarterly report', 'Your order has shipped', 'Team lunch on Friday', 'Password expiry notice', 'Invoice INV-{n}', 'Welcome aboard', 'Meeting notes', 'Re: project timeline'];

const b64 = (buf) => buf.toString('base64url');
export const messageId = (seed) => `AAMkAD${b64(Buffer.concat([sha(`msg|${seed}`), sha(`msg2|${seed}`)])).slice(0, 60)}AAA=`;
export const folderId = (userId, name) => `AAMkAD${b64(sha(`folder|${userId}|${name}`)).slice(0, 40)}AAAA==`;
const addr = (name, address) => ({ emailAddress: { name, address } });

/** Builds a message resource (every property in MESSAGE_PROPS). */
export function makeMessage({ id, owner, folder, subject, content, contentType = 'text', from, to = [], cc = [], bcc = [], replyTo = [], received, isRead = false, importance = 'normal', hasAttachments = false }) {
  const when = received.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const preview = String(content).replace(/<[^>]*>/g, '').replace(/\s+/g, ' ').trim().slice(0, 255);
  return {
    '@odata.etag': `W/"${b64(sha(`etag|${id}`)).slice(0, 40)}"`,
    id,
    createdDateTime: when,
    lastModifiedDateTime: when,
    changeKey: b64(sha(`ck|${id}`)).slice(0, 40),
    categories: [],
    receivedDateTime: when,
    sentDateTime: when,
    hasAttachments,
    internetMessageId: `<${sha(`imid|${id}`).toString('hex').slice(0, 24)}@mail.test>`,
    subject,
    bodyPreview: preview,
    importance,
    parentFolderId: folderId(owner.props.id, folder),
    conversationId: `AAQkAD${b64(sha(`conv|${id}`)).slice(0, 40)}=`,
    isDeliveryReceiptRequested: false,
    isReadReceiptRequested: false,
    isRead,
    isDraft: false,
    webLink: `https://outlook.office365.com/owa/?ItemID=${encodeURIComponent(id)}&exvsurl=1&viewmodel=ReadMessageItem`,
    inferenceClassification: 'focused',
    body: { contentType, content },
    sender: from,
    from,
    toRecipients: to,
    ccRecipients: cc,
    bccRecipients: bcc,
    replyTo,
    flag: { flagStatus: 'notFlagged' },
  };
}

const GENERATED_EPOCH = Date.parse('2026-01-05T09:00:00Z');

function generatedInbox(u) {
  const out = [];
  const me = addr(u.props.displayName, primaryAddress(u));
  for (let n = 0; n < u.messageCount; n++) {
    const [name, address] = SENDERS[n % SENDERS.length];
    const subject = SUBJECTS[n % SUBJECTS.length].replace('{n}', String(1000 + n));
    out.push(makeMessage({
      id: messageId(`${u.props.id}|inbox|${n}`),
      owner: u,
      folder: 'inbox',
      subject,
      content: `Hello ${u.props.displayName},\n\nThis is generated message ${n + 1} of ${u.messageCount} in the test mailbox ${primaryAddress(u)}.\n\n${name}`,
      from: addr(name, address),
      to: [me],
      // newest first: message 0 is the most recent
      received: new Date(GENERATED_EPOCH - n * 3 * 3600_000),
      isRead: n % 3 === 2,
    }));
  }
  return out;
}

/** Mailbox contents, created on first use; sendMail adds to them. */
export class Mailboxes {
  constructor() {
    this.boxes = new Map(); // user id -> { inbox: [], sentitems: [] }
  }

  of(u) {
    let b = this.boxes.get(u.props.id);
    if (!b) {
      b = { inbox: generatedInbox(u), sentitems: [] };
      this.boxes.set(u.props.id, b);
    }
    return b;
  }
}

// ---- calendar events -------------------------------------------------------------------------

/** Graph's default property set for an event (without $select). */
export const EVENT_DEFAULT = ['id', 'createdDateTime', 'lastModifiedDateTime', 'changeKey', 'categories', 'subject', 'bodyPreview', 'importance', 'sensitivity', 'isAllDay', 'isCancelled', 'isOrganizer', 'showAs', 'type', 'webLink', 'body', 'start', 'end', 'location', 'attendees', 'organizer'];
export const EVENT_PROPS = EVENT_DEFAULT;

const EVENT_SUBJECTS = ['Weekly team sync', 'Quarterly review', 'Lunch with the new team'];

/** A mailbox's calendar: three stable events (a shared mailbox's too; none without a mailbox). */
export function eventsOf(mailbox) {
  if (!mailbox.hasMailbox) return [];
  const address = primaryAddress(mailbox);
  return EVENT_SUBJECTS.map((subject, i) => {
    const day = `2026-01-${pad2(12 + i * 7)}`;
    const id = `AAMkAD${b64(sha(`event|${mailbox.props.id}|${i}`)).slice(0, 60)}AAA=`;
    return {
      '@odata.etag': `W/"${b64(sha(`etag|${id}`)).slice(0, 24)}"`,
      id,
      createdDateTime: '2025-12-01T08:00:00Z',
      lastModifiedDateTime: '2025-12-01T08:00:00Z',
      changeKey: b64(sha(`ck|${id}`)).slice(0, 24),
      categories: [],
      subject,
      bodyPreview: `${subject} (generated)`,
      importance: 'normal',
      sensitivity: 'normal',
      isAllDay: false,
      isCancelled: false,
      isOrganizer: true,
      showAs: 'busy',
      type: 'singleInstance',
      webLink: `https://outlook.office365.com/owa/?itemid=${encodeURIComponent(id)}&exvsurl=1&path=/calendar/item`,
      body: { contentType: 'html', content: `<html><body>${subject}</body></html>` },
      start: { dateTime: `${day}T09:00:00.0000000`, timeZone: 'UTC' },
      end: { dateTime: `${day}T10:00:00.0000000`, timeZone: 'UTC' },
      location: { displayName: i === 2 ? 'Cafeteria' : 'Room 1', locationType: 'default' },
      attendees: [],
      organizer: { emailAddress: { name: mailbox.props.displayName, address } },
    };
  });
}

export const FOLDERS = {
  inbox: 'Inbox',
  sentitems: 'Sent Items',
};

// ---- applications ----------------------------------------------------------------------------

export const APPLICATION_DEFAULT = ['id', 'appId', 'displayName', 'signInAudience', 'createdDateTime', 'publisherDomain', 'passwordCredentials', 'keyCredentials', 'identifierUris', 'requiredResourceAccess', 'web', 'publicClient', 'isFallbackPublicClient', 'tags', 'notes', 'description', 'deletedDateTime'];
export const APPLICATION_PROPS = APPLICATION_DEFAULT;

/** Applications created through POST /applications: `{ tid, client: null, props }` (admin.mjs). */
export const createdApps = [];

/** The application objects of a tenant: the idp clients at home there, and those created here. */
export function applications(tid) {
  return [...fixtureApplications(tid), ...createdApps.filter((a) => a.tid === tid)];
}

/** The application object of an idp client: it exists only in the app's home tenant. */
function fixtureApplications(tid) {
  return Object.values(idpFixtures.clients)
    .filter((c) => c.home_tenant === tid)
    .map((c) => ({
      client: c,
      props: {
        id: guidFrom(`application|${c.client_id}`),
        appId: c.client_id,
        displayName: c.name,
        signInAudience: c.sign_in_audience,
        createdDateTime: '2025-01-01T00:00:00Z',
        publisherDomain: TENANTS[tid]?.domain ?? null,
        keyCredentials: [],
        identifierUris: [],
        requiredResourceAccess: [],
        web: { redirectUris: c.confidential ? c.redirect_uris : [], implicitGrantSettings: { enableAccessTokenIssuance: false, enableIdTokenIssuance: false } },
        publicClient: { redirectUris: c.confidential ? [] : c.redirect_uris },
        isFallbackPublicClient: !c.confidential,
        tags: [],
        notes: null,
        description: null,
        deletedDateTime: null,
      },
    }));
}

/** The directory as JSON (GET /_control/directory): users per tenant and applications. */
export function directorySummary() {
  return Object.fromEntries(Object.values(TENANTS).map((t) => [t.id, {
    name: t.name,
    domain: t.domain,
    users: t.users.map((u) => ({ ...u.props, kind: u.kind, oid: u.oid, hasMailbox: u.hasMailbox, delegates: u.delegates, messages: u.messageCount })),
    applications: applications(t.id).map((a) => ({ id: a.props.id, appId: a.props.appId, displayName: a.props.displayName })),
  }]));
}
