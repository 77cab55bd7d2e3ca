/**
 * LDAP directory app against a REAL OpenLDAP slapd (Debian slapd 2.5, ppolicy overlay) on
 * ldap://127.0.0.1:38901 and ldaps://127.0.0.1:38951, started by scripts/services/ldap.sh (see
 * its header for the seeded directory). The "active-directory" flavour runs against the same
 * slapd: an AD-shaped entry (sAMAccountName, userPrincipalName, userAccountControl, memberOf,
 * unicodePwd with the real AD OIDs). Every test undoes what it changed.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { Attribute, Change, Client, InvalidCredentialsError, ResultCodeError, BusyError, UnavailableError, SizeLimitExceededError, FilterParser } from 'ldapts';
import { ldapApp, buildUserFilter, escapeFilterValue } from '../../src/apps/ldap/index.js';
import { firstRdnValue } from '../../src/apps/ldap/filter.js';
import { mapLdapError } from '../../src/apps/ldap/session.js';
import { adUnicodePwd, passwordChangedAt, passwordModifyValue } from '../../src/apps/ldap/users.js';
import { capabilities } from '../../src/sdk/capabilities.js';
import { RetryableError, TerminalError } from '../../src/sdk/errors.js';
import { requirePrograms } from '../support/real-server.js';
import { rejects } from '../support/assert-errors.js';
import { actionContext, reconcileContext } from '../support/action-context.js';

const a = ldapApp.actions;
type Cfg = Parameters<typeof a.getUser.handler>[1]['config'];

const URL = 'ldap://127.0.0.1:38901';
const LDAPS = 'ldaps://127.0.0.1:38951';
const BASE = 'dc=contoso,dc=example';
const ADMIN = { dn: `cn=admin,${BASE}`, pw: 'admin-secret' };
const SVC = { dn: `cn=riposte,ou=service-accounts,${BASE}`, pw: 'riposte-secret' };
const AUDITOR = { dn: `cn=auditor,ou=service-accounts,${BASE}`, pw: 'auditor-secret' };
const STATE = join(process.env.RIPOSTE_SERVICES_DIR ?? '/tmp/riposte-services', 'ldap');
const START = 'bash scripts/services/ldap.sh install && bash scripts/services/ldap.sh start   (as root)';
const dnOf = (uid: string) => `uid=${uid},ou=people,${BASE}`;
const CAROL = `cn=Carol Carter,ou=people,${BASE}`;

const cfg = (over: Partial<Cfg> = {}): Cfg => ldapApp.config.parse({ url: URL, bindDN: SVC.dn, bindPassword: SVC.pw, baseDN: BASE, timeoutMs: 5000, ...over });
let adCfg: Cfg;
const ctx = (config: Cfg = cfg()) => actionContext(config, 'run-1:step-1', { timeoutMs: 20_000 });
const rctx = (intentAt: Date, config: Cfg = cfg()) =>
  reconcileContext(config, 'run-1:step-1', { timeoutMs: 20_000, intentAt });
const getUser = async (user: string, config?: Cfg) => capabilities.directory.getUser.output.parse(await a.getUser.handler({ user }, ctx(config)));

/** Runs fn with a fresh client bound as dn (admin by default), always unbinding. */
async function asDn<T>(fn: (c: Client) => Promise<T>, who: { dn: string; pw: string } = ADMIN, url = URL): Promise<T> {
  const c = new Client({ url, timeout: 5000, connectTimeout: 5000 });
  try {
    await c.bind(who.dn, who.pw);
    return await fn(c);
  } finally {
    await c.unbind().catch(() => undefined);
  }
}
const canBind = (dn: string, pw: string) => asDn(async () => true, { dn, pw }).catch((err) => {
  if (err instanceof InvalidCredentialsError) return false;
  throw err;
});
const readAttr = (dn: string, attr: string, binary = false) =>
  asDn(async (c) => (await c.search(dn, { scope: 'base', attributes: [attr], explicitBufferAttributes: binary ? [attr] : [] })).searchEntries[0]?.[attr]);
const setPasswordAsAdmin = (dn: string, pw: string) => asDn((c) => c.exop('1.3.6.1.4.1.4203.1.11.1', passwordModifyValue(dn, pw)));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * TCP proxy to slapd that forwards everything until the client sends a ModifyRequest (LDAP op
 * 0x66), then swallows the server's replies: the modify is applied but its answer is lost.
 */
async function lostReplyProxy(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((client) => {
    const upstream = net.connect(38901, '127.0.0.1');
    sockets.add(client).add(upstream);
    let swallow = false;
    client.on('data', (buf) => {
      const lenBytes = (buf[1]! & 0x80) ? buf[1]! & 0x7f : 0;
      const idAt = 2 + lenBytes;
      if (buf[0] === 0x30 && buf[idAt] === 0x02 && buf[idAt + 2 + buf[idAt + 1]!] === 0x66) swallow = true;
      upstream.write(buf);
    });
    upstream.on('data', (buf) => { if (!swallow) client.write(buf); });
    client.on('error', () => upstream.destroy()).on('close', () => upstream.destroy());
    upstream.on('error', () => client.destroy()).on('close', () => client.destroy());
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  return {
    url: `ldap://127.0.0.1:${port}`,
    close: () => new Promise((r) => { for (const s of sockets) s.destroy(); srv.close(() => r()); }),
  };
}

let serverChecked: Promise<void> | undefined;
/** Fails (never skips) when slapd is missing or not running, naming what to do. */
function requireServer(): Promise<void> {
  serverChecked ??= (async () => {
    requirePrograms('LDAP suite', [
      { program: '/usr/sbin/slapd', packages: 'slapd' },
      { program: 'ldapsearch', packages: 'ldap-utils' },
    ]);
    try {
      await asDn(async () => undefined, SVC);
    } catch (err) {
      throw new Error(`OpenLDAP is not answering on ${URL} (${(err as Error).message}). Start it with: ${START}`);
    }
    adCfg = cfg({ flavor: 'active-directory', url: LDAPS, caCert: readFileSync(join(STATE, 'tls', 'ca.pem'), 'utf8') });
  })();
  return serverChecked;
}

describe('ldap app: declaration and helpers', () => {
  it('declares kinds, idempotency, the undo pair and the reconcile', () => {
    assert.equal(ldapApp.id, 'ldap-directory');
    assert.deepEqual(ldapApp.implements, ['directory']);
    assert.deepEqual(ldapApp.secrets, ['bindPassword']);
    assert.deepEqual([a.getUser.kind, a.getGroups.kind, a.disableUser.kind, a.enableUser.kind, a.resetPassword.kind], ['investigate', 'investigate', 'contain', 'correct', 'correct']);
    assert.equal(a.getUser.readOnly && a.getGroups.readOnly, true);
    assert.equal(a.disableUser.idempotent && a.enableUser.idempotent, true);
    assert.equal(a.resetPassword.idempotent, false);
    assert.equal(typeof a.resetPassword.reconcile, 'function');
    assert.equal(a.disableUser.undo, 'enableUser');
    assert.equal(a.enableUser.undo, 'disableUser');
  });

  it('escapes filter values per RFC 4515 and rejects broken templates', () => {
    assert.equal(escapeFilterValue('*)(uid=*'), '\\2a\\29\\28uid=\\2a');
    assert.equal(escapeFilterValue('a\\b\0c'), 'a\\5cb\\00c');
    assert.equal(escapeFilterValue('José'), 'José');
    assert.equal(buildUserFilter('(uid={user})', '*'), '(uid=\\2a)');
    assert.ok(FilterParser.parseString(buildUserFilter(cfg().userFilter, '*)(|(objectClass=*')));
    assert.throws(() => buildUserFilter('(uid={user}', 'x'), (e: Error) => e instanceof TerminalError && /userFilter/.test(e.message));
    assert.throws(() => ldapApp.config.parse({ ...cfg(), userFilter: '(uid=jdoe)' }), /\{user\}/);
    assert.throws(() => ldapApp.config.parse({ ...cfg(), url: 'http://dc1' }), /ldaps?:\/\//);
  });

  it('unescapes RDN values, encodes AD passwords and password-modify requests', () => {
    assert.equal(firstRdnValue('cn=Sales\\, EMEA,ou=groups,dc=x'), 'Sales, EMEA');
    assert.equal(firstRdnValue('CN=Caf\\C3\\A9,DC=x'), 'Café');
    assert.deepEqual(adUnicodePwd('Ab1!'), Buffer.from([0x22, 0, 0x41, 0, 0x62, 0, 0x31, 0, 0x21, 0, 0x22, 0]));
    assert.equal(passwordModifyValue('uid=a', 'pw').toString('hex'), '300b80057569643d61' + '82027077');
    // AD pwdLastSet: 100 ns intervals since 1601-01-01.
    assert.equal(passwordChangedAt({ dn: 'x', pwdLastSet: '133000000000000000' }, 'active-directory')?.toISOString(), '2022-06-18T04:26:40.000Z');
    assert.equal(passwordChangedAt({ dn: 'x', pwdLastSet: '0' }, 'active-directory'), undefined);
    assert.equal(passwordChangedAt({ dn: 'x', pwdChangedTime: '20260102030405Z' }, 'openldap')?.toISOString(), '2026-01-02T03:04:05.000Z');
  });

  it('maps busy/unavailable to applied no, write timeouts to unknown, keeps AD bind sub-codes', () => {
    const c = cfg();
    for (const e of [new BusyError('busy'), new UnavailableError('down')]) {
      const m = mapLdapError(e, 'write', c, dnOf('jdoe'));
      assert.ok(m instanceof RetryableError);
      assert.equal(m.applied, 'no');
      assert.equal(m.vendorCode, String((e as ResultCodeError).code));
    }
    const io = mapLdapError(Object.assign(new Error('ModifyRequest: Operation timed out'), {}), 'write', c, dnOf('jdoe'));
    assert.ok(io instanceof RetryableError && io.applied === 'unknown');
    const ad = mapLdapError(new InvalidCredentialsError('80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 775, v4563'), 'connect', c);
    assert.ok(ad instanceof TerminalError);
    assert.equal(ad.message, `bind failed: invalid credentials for ${SVC.dn} (AD data 775)`);
  });
});

describe('ldap app: lookups against slapd', () => {
  before(requireServer);

  it('getUser by uid, by mail (UPN-like) and by DN maps the entry to a UserRecord', async () => {
    const want = {
      found: true,
      user: {
        id: dnOf('jdoe'), userName: 'jdoe', displayName: 'John Doe', email: 'jdoe@contoso.example', department: 'Finance',
        jobTitle: 'Financial Analyst', manager: dnOf('mgarcia'), enabled: true,
      },
    };
    assert.deepEqual(await getUser('jdoe'), want);
    assert.deepEqual(await getUser('jdoe@contoso.example'), want);
    assert.deepEqual(await getUser('UID=jdoe, OU=people, DC=contoso, DC=example'), want);
  });

  it('getUser by userPrincipalName and sAMAccountName on the AD-shaped entry (ldaps, CA from caCert)', async () => {
    const byUpn = await getUser('ccarter@corp.contoso.example', adCfg);
    assert.deepEqual(byUpn.user, {
      id: CAROL, userName: 'ccarter', displayName: 'Carol Carter', email: 'carol.carter@contoso.example', department: 'Finance',
      jobTitle: 'Contract Accountant', manager: dnOf('mgarcia'), enabled: true,
    });
    assert.equal((await getUser('ccarter', adCfg)).user?.id, CAROL);
  });

  it('filter injection does not match everything: *)(uid=* and * find nobody', async () => {
    // The same value unescaped would match every entry (proof the test can fail):
    const raw = await asDn((c) => c.search(BASE, { filter: '(|(mail=*)(uid=*))', sizeLimit: 5, attributes: ['1.1'] }), SVC);
    assert.ok(raw.searchEntries.length > 1);
    assert.deepEqual(await getUser('*)(uid=*'), { found: false });
    assert.deepEqual(await getUser('*'), { found: false });
    assert.deepEqual(await getUser('jdoe)(|(uid=*'), { found: false });
  });

  it('unknown user → found false; an ambiguous value is a TerminalError listing the entries', async () => {
    assert.deepEqual(await getUser('nobody@contoso.example'), { found: false });
    assert.deepEqual(await getUser(`uid=ghost,ou=people,${BASE}`), { found: false });
    const err = await rejects(getUser('shared@load.contoso.example'), TerminalError);
    assert.match(err.message, /ambiguous.*bulk0001.*bulk0002/);
  });

  it('getGroups searches member, uniqueMember and memberUid', async () => {
    const jdoe = await a.getGroups.handler({ user: 'jdoe' }, ctx());
    assert.deepEqual(jdoe.groups.map((g) => g.name), ['finance', 'mobile-users', 'vpn-users']);
    assert.equal(jdoe.source, 'search');
    const asmith = await a.getGroups.handler({ user: 'asmith' }, ctx());
    assert.deepEqual(asmith.groups, [
      { dn: `cn=engineering,ou=groups,${BASE}`, name: 'engineering' },
      { dn: `cn=mobile-users,ou=groups,${BASE}`, name: 'mobile-users' },
    ]);
    assert.deepEqual(await a.getGroups.handler({ user: 'nobody' }, ctx()), { found: false, groups: [], count: 0 });
  });

  it('getGroups uses memberOf when the entry has it (AD)', async () => {
    const out = await a.getGroups.handler({ user: 'ccarter' }, ctx(adCfg));
    assert.equal(out.source, 'memberOf');
    assert.deepEqual(out.groups.map((g) => g.name), ['finance', 'mobile-users']);
  });

  it('getGroups pages past the server size limit: 1200 groups (a plain search stops at 1000)', async () => {
    const filter = `(member=uid=many.groups,ou=bulk,${BASE})`;
    await assert.rejects(asDn((c) => c.search(BASE, { filter, attributes: ['cn'] }), SVC), SizeLimitExceededError);
    const out = await a.getGroups.handler({ user: 'many.groups' }, ctx());
    assert.equal(out.count, 1200);
    assert.equal(new Set(out.groups.map((g) => g.dn)).size, 1200);
    assert.equal(out.groups[0]?.name, 'bulk-group-0001');
    assert.equal(out.groups[1199]?.name, 'bulk-group-1200');
  });

  it('testConnectivity binds and reads the base DN; a missing base DN is terminal', async () => {
    assert.deepEqual(await ldapApp.testConnectivity!(ctx()), { ok: true, detail: `bound as ${SVC.dn}; ${BASE} readable` });
    const err = await rejects(ldapApp.testConnectivity!(ctx(cfg({ baseDN: 'dc=missing,dc=example' }))), TerminalError);
    assert.equal(err.vendorCode, '32');
  });
});

describe('ldap app: errors against slapd', () => {
  before(requireServer);

  it('wrong bind password → TerminalError "bind failed: invalid credentials" without the password', async () => {
    const err = await rejects(getUser('jdoe', cfg({ bindPassword: 'Wr0ng-Secret-xyz' })), TerminalError);
    assert.match(err.message, /^bind failed: invalid credentials/);
    assert.equal(err.vendorCode, '49');
    assert.doesNotMatch(JSON.stringify({ m: err.message, s: err.stack }), /Wr0ng-Secret-xyz/);
  });

  it('unreachable server → RetryableError applied no, for reads and for writes', async () => {
    const port = await freePort();
    const err = await rejects(getUser('jdoe', cfg({ url: `ldap://127.0.0.1:${port}` })), RetryableError);
    assert.equal(err.applied, 'no');
    assert.match(err.message, /unreachable: ECONNREFUSED/);
    const w = await rejects(a.disableUser.handler({ user: 'jdoe' }, ctx(cfg({ url: `ldap://127.0.0.1:${port}` }))), RetryableError);
    assert.equal(w.applied, 'no');
  });

  it('ldaps with an untrusted certificate → TerminalError; tlsRejectUnauthorized false connects', async () => {
    const err = await rejects(getUser('jdoe', cfg({ url: LDAPS })), TerminalError);
    assert.match(err.message, /TLS handshake.*SELF_SIGNED/);
    assert.equal((await getUser('jdoe', cfg({ url: LDAPS, tlsRejectUnauthorized: false }))).found, true);
  });

  it('insufficient access (read-only account) → TerminalError naming the entry', async () => {
    const ro = cfg({ bindDN: AUDITOR.dn, bindPassword: AUDITOR.pw });
    const err = await rejects(a.disableUser.handler({ user: 'bwong' }, ctx(ro)), TerminalError);
    assert.equal(err.vendorCode, '50');
    assert.ok(err.message.includes(dnOf('bwong')), err.message);
    assert.equal((await getUser('bwong')).user?.enabled, true);
  });

  it('a modify whose reply is lost → RetryableError applied unknown (and it did apply)', async () => {
    const proxy = await lostReplyProxy();
    try {
      const err = await rejects(a.disableUser.handler({ user: 'bwong' }, ctx(cfg({ url: proxy.url, timeoutMs: 1500 }))), RetryableError);
      assert.equal(err.applied, 'unknown');
      assert.equal((await getUser('bwong')).user?.enabled, false);
    } finally {
      await proxy.close();
      await a.enableUser.handler({ user: 'bwong' }, ctx());
    }
    assert.equal((await getUser('bwong')).user?.enabled, true);
  });

  it('the action timeout (ctx.signal) aborts a hanging modify: RetryableError applied unknown', async () => {
    const proxy = await lostReplyProxy();
    const started = Date.now();
    try {
      const c = { ...ctx(cfg({ url: proxy.url, timeoutMs: 30_000 })), signal: AbortSignal.timeout(400) };
      const err = await rejects(a.disableUser.handler({ user: 'bwong' }, c), RetryableError);
      assert.equal(err.applied, 'unknown');
      assert.match(err.message, /aborted/);
      assert.ok(Date.now() - started < 5000);
    } finally {
      await proxy.close();
      await a.enableUser.handler({ user: 'bwong' }, ctx());
    }
  });
});

describe('ldap app: containment against slapd', () => {
  before(requireServer);

  it('OpenLDAP: disable (ppolicy lock) blocks binds, is idempotent; enable restores', async () => {
    try {
      assert.equal(await canBind(dnOf('bwong'), 'bwong-Passw0rd'), true);
      assert.deepEqual(await a.disableUser.handler({ user: 'bwong' }, ctx()), { user: 'bwong', dn: dnOf('bwong'), enabled: false, changed: true });
      assert.equal(await readAttr(dnOf('bwong'), 'pwdAccountLockedTime'), '000001010000Z');
      assert.equal((await getUser('bwong')).user?.enabled, false);
      assert.equal(await canBind(dnOf('bwong'), 'bwong-Passw0rd'), false);
      assert.equal((await a.disableUser.handler({ user: 'bwong' }, ctx())).changed, false);
      assert.equal((await a.enableUser.handler({ user: 'bwong@contoso.example' }, ctx())).changed, true);
      assert.equal((await getUser('bwong')).user?.enabled, true);
      assert.equal(await canBind(dnOf('bwong'), 'bwong-Passw0rd'), true);
      assert.equal((await a.enableUser.handler({ user: 'bwong' }, ctx())).changed, false);
    } finally {
      await a.enableUser.handler({ user: 'bwong' }, ctx());
    }
  });

  it('disabling an unknown user is a TerminalError', async () => {
    const err = await rejects(a.disableUser.handler({ user: 'ghost' }, ctx()), TerminalError);
    assert.match(err.message, /no user matches "ghost"/);
  });

  it('AD: toggles ACCOUNTDISABLE in userAccountControl keeping the other bits', async () => {
    try {
      assert.equal(await readAttr(CAROL, 'userAccountControl'), '66048');
      assert.equal((await a.disableUser.handler({ user: 'ccarter' }, ctx(adCfg))).changed, true);
      assert.equal(await readAttr(CAROL, 'userAccountControl'), '66050');
      assert.equal((await getUser('ccarter', adCfg)).user?.enabled, false);
      assert.equal((await a.disableUser.handler({ user: 'ccarter' }, ctx(adCfg))).changed, false);
      await a.enableUser.handler({ user: 'ccarter' }, ctx(adCfg));
      assert.equal(await readAttr(CAROL, 'userAccountControl'), '66048');
      assert.equal((await getUser('ccarter', adCfg)).user?.enabled, true);
    } finally {
      await a.enableUser.handler({ user: 'ccarter' }, ctx(adCfg));
    }
  });
});

describe('ldap app: resetPassword against slapd', () => {
  before(requireServer);

  const ORIGINAL = 'asmith-Passw0rd';

  it('sets the given password (old one stops working), never echoes it; reconcile reads pwdChangedTime', async () => {
    const pw = `Tmp-${Math.random().toString(36).slice(2)}!9`;
    const intent = new Date(Date.now() - 1000);
    try {
      const out = await a.resetPassword.handler({ user: 'asmith', newPassword: pw }, ctx());
      assert.deepEqual(a.resetPassword.output.parse(out), { user: 'asmith', dn: dnOf('asmith'), reset: true, generated: false });
      assert.equal(await canBind(dnOf('asmith'), pw), true);
      assert.equal(await canBind(dnOf('asmith'), ORIGINAL), false);
      const input = { user: 'asmith', newPassword: pw };
      const r = await a.resetPassword.reconcile!(input, rctx(intent));
      assert.equal(r.applied, true);
      assert.doesNotMatch(JSON.stringify(r), new RegExp(pw));
      assert.deepEqual(await a.resetPassword.reconcile!(input, rctx(new Date(Date.now() + 600_000))), { applied: false });
      assert.equal((await a.resetPassword.reconcile!(input, rctx(new Date(Date.now() + 30_000)))).applied, 'unknown');
    } finally {
      await setPasswordAsAdmin(dnOf('asmith'), ORIGINAL);
    }
    assert.equal(await canBind(dnOf('asmith'), ORIGINAL), true);
  });

  it('without newPassword sets a random password that is not returned', async () => {
    try {
      const out = await a.resetPassword.handler({ user: 'asmith' }, ctx());
      assert.deepEqual(out, { user: 'asmith', dn: dnOf('asmith'), reset: true, generated: true });
      assert.equal(await canBind(dnOf('asmith'), ORIGINAL), false);
    } finally {
      await setPasswordAsAdmin(dnOf('asmith'), ORIGINAL);
    }
  });

  it('errors never contain the new password', async () => {
    const pw = 'Never-Shown-4242!';
    const ro = cfg({ bindDN: AUDITOR.dn, bindPassword: AUDITOR.pw });
    const denied = await rejects(a.resetPassword.handler({ user: 'asmith', newPassword: pw }, ctx(ro)), TerminalError);
    assert.equal(denied.vendorCode, '50');
    const missing = await rejects(a.resetPassword.handler({ user: 'ghost', newPassword: pw }, ctx()), TerminalError);
    for (const e of [denied, missing]) assert.doesNotMatch(`${e.message}\n${e.stack}`, /Never-Shown/);
    assert.equal(await canBind(dnOf('asmith'), ORIGINAL), true);
  });

  it('AD: refuses ldap:// before sending; over ldaps writes unicodePwd as quoted UTF-16LE', async () => {
    const pw = 'Ünïcode-Pässw0rd!';
    const plain = await rejects(a.resetPassword.handler({ user: 'ccarter', newPassword: pw }, ctx({ ...adCfg, url: URL })), TerminalError);
    assert.match(plain.message, /ldaps:\/\//);
    assert.doesNotMatch(plain.message, /Pässw0rd/);
    try {
      assert.equal((await a.resetPassword.handler({ user: 'ccarter', newPassword: pw }, ctx(adCfg))).reset, true);
      const stored = await readAttr(CAROL, 'unicodePwd', true);
      assert.ok(Buffer.isBuffer(stored));
      assert.deepEqual(stored, Buffer.from(`"${pw}"`, 'utf16le'));
    } finally {
      await asDn((c) => c.modify(CAROL, new Change({ operation: 'delete', modification: new Attribute({ type: 'unicodePwd', values: [] }) })));
    }
  });
});
