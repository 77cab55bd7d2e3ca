import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite/index.js';
import { blobKeyId, decryptSecret, keyIdOf } from '../../src/store/secrets.js';
import { createHitl } from '../../src/policy/hitl.js';
import { Sealer, resealApproval } from '../../src/policy/seal.js';
import { suiteTempDir } from '../support/temp-store.js';

const tmp = suiteTempDir('riposte-rotation-');
const CANARY = 'rotation-canary-';

async function open(path: string, key: Buffer, nextKey: Buffer | null = null): Promise<SqliteStore> {
  const s = new SqliteStore({ path, secretKey: key, nextKey });
  try {
    await s.migrate();
  } catch (err) {
    await s.close();
    throw err;
  }
  return s;
}

/** A store with `n` assets, a repository with credentials and a webhook secret, and two approvals. */
async function seeded(path: string, key: Buffer, n: number): Promise<{ approvals: string[] }> {
  const s = await open(path, key);
  for (let i = 0; i < n; i++) {
    await s.putAsset({ name: `a${i}`, appId: 'x', config: {}, secrets: { token: `${CANARY}${i}` } }, 'test');
  }
  await s.addRepo({ name: 'pb', kind: 'git', url: 'https://git.example/pb.git', credentials: `user:${CANARY}repo` }, 'test');
  await s.setRepoWebhookSecret('pb', `${CANARY}hook`, 'test');
  await s.ingest({ name: 'i', label: 'l', severity: 'high', source: 'test', artifacts: [] },
    [{ id: 'r1', playbookId: 'p', playbookVersion: 1, playbookHash: 'h' }], 'test');
  const hitl = createHitl({ policy: s.policyStore(), secretKey: s.keyRing().keys(), wake: () => {} });
  const base = {
    runId: 'r1', app: 'intune', action: 'wipeDevice', kind: 'contain', asset: 'mdm', params: { deviceId: 'd1' },
    reasons: ['supervised'], approvers: { users: [], roles: ['analyst'] }, quorum: 1, fourEyes: true,
    requestedBy: 'system', ttlMs: 3_600_000,
  };
  const a1 = await hitl.approvals.ensure({ ...base, seq: 1 });
  const a2 = await hitl.approvals.ensure({ ...base, seq: 2 });
  await hitl.approvals.decide(a2.id, { name: 'alice', roles: ['analyst'] }, 'approve', 'api');
  await s.close();
  return { approvals: [a1.id, a2.id] };
}

test('a rotation stopped between transactions resumes; afterwards every secret and seal is under the new key only', async () => {
  const path = join(tmp.sub(), 'riposte.db');
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const { approvals } = await seeded(path, oldKey, 5);

  // A crash after 3 rows: each row is its own transaction, so the others stay under the old key.
  const s1 = await open(path, oldKey);
  assert.throws(() => s1.rotateMasterKey(newKey, 'cli:test', {
    afterRow: (done) => { if (done === 3) throw new Error('simulated crash'); },
  }), /simulated crash/);
  await s1.close();

  // Mid-rotation: opening with the old key alone is refused (the new key is needed), with both every secret reads.
  await assert.rejects(open(path, oldKey), /rotation from key [0-9a-f]{16} to key [0-9a-f]{16} is unfinished/);
  const mid = await open(path, oldKey, newKey);
  const byKey = mid.keyStatus().secretsByKey;
  assert.equal(byKey[keyIdOf(newKey)], 3);
  assert.equal(byKey[keyIdOf(oldKey)], 4);
  for (let i = 0; i < 5; i++) assert.deepEqual(await mid.getAssetSecrets(`a${i}`), { token: `${CANARY}${i}` });
  // A write during the rotation goes under the new key.
  await mid.putAsset({ name: 'a-mid', appId: 'x', config: {}, secrets: { token: `${CANARY}mid` } }, 'test');
  const sealer = new Sealer([newKey, oldKey]);
  const r = mid.rotateMasterKey(newKey, 'cli:test', { reseal: (a) => resealApproval(sealer, a) });
  assert.equal(r.resumed, true);
  assert.deepEqual(r.reencrypted, { assets: 2, repoCredentials: 1, repoWebhookSecrets: 1, approvalSeals: 2 });
  await mid.close();

  await assert.rejects(open(path, oldKey), (e: unknown) =>
    e instanceof Error && e.name === 'SecretKeyError' && /master key [0-9a-f]{16} was retired by a key rotation/.test(e.message));
  const after = await open(path, newKey);
  try {
    const status = after.keyStatus();
    assert.deepEqual(status, {
      currentKeyId: keyIdOf(newKey), nextKeyId: null, retiredKeyIds: [keyIdOf(oldKey)], secretsByKey: { [keyIdOf(newKey)]: 8 },
    });
    for (const row of after.db.prepare('SELECT name, secrets FROM assets').all() as Array<{ name: string; secrets: string }>) {
      assert.equal(blobKeyId(row.secrets), keyIdOf(newKey));
      assert.throws(() => decryptSecret(row.secrets, oldKey, `riposte:asset:${row.name}`), /encrypted with master key/);
    }
    assert.equal(await after.repoCredentials('pb'), `user:${CANARY}repo`);
    assert.equal(await after.repoWebhookSecret('pb'), `${CANARY}hook`);
    // Approvals verify under the new key alone, the decided one with its decision.
    const hitl = createHitl({ policy: after.policyStore(), secretKey: after.keyRing().keys(), wake: () => {} });
    for (const id of approvals) {
      const a = await after.policyStore().getApproval(id);
      assert.equal(hitl.approvals.integrityProblem(a!), null, id);
    }
    const audit = await after.listAudit({});
    const actions = audit.map((e) => e.action).filter((a) => a.startsWith('secrets.'));
    assert.deepEqual(actions, ['secrets.rotation.start', 'secrets.rotation.resume', 'secrets.rotation.finish']);
    const text = JSON.stringify(audit);
    for (const secret of [CANARY, oldKey.toString('hex'), newKey.toString('hex')]) assert.ok(!text.includes(secret));
    after.db.pragma('wal_checkpoint(TRUNCATE)');
    const bytes = readFileSync(path);
    for (const k of [oldKey, newKey]) {
      assert.ok(!bytes.includes(k) && !bytes.includes(Buffer.from(k.toString('hex'))), 'no key in the database file');
    }
  } finally {
    await after.close();
  }
});

test('a rotation never launders a tampered approval, and refuses a key that is not the current one', async () => {
  const path = join(tmp.sub(), 'riposte.db');
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const { approvals } = await seeded(path, oldKey, 1);
  const s = await open(path, oldKey);
  s.db.prepare("UPDATE approvals SET status = 'approved' WHERE id = ?").run(approvals[0]);
  assert.throws(() => s.rotateMasterKey(oldKey, 'cli:test'), /needs a different key/);
  const sealer = new Sealer([newKey, oldKey]);
  const r = s.rotateMasterKey(newKey, 'cli:test', { reseal: (a) => resealApproval(sealer, a) });
  assert.equal(r.reencrypted['approvalSeals'], 1, 'only the untouched approval is re-sealed');
  await s.close();
  const after = await open(path, newKey);
  try {
    const hitl = createHitl({ policy: after.policyStore(), secretKey: after.keyRing().keys(), wake: () => {} });
    const tampered = await after.policyStore().getApproval(approvals[0]!);
    assert.match(hitl.approvals.integrityProblem(tampered!) ?? '', /failed its integrity check/);
    // A retired key is never taken as a new one.
    assert.throws(() => after.rotateMasterKey(oldKey, 'cli:test'), /retired by an earlier rotation/);
  } finally {
    await after.close();
  }
});
