/**
 * A hostile commit cannot make the sync read the server's files: not through the bundler (a path
 * or a repository tsconfig.json `extends` out of the repository), not through the type checker
 * (`/// <reference path>`, `import type`, which the bundler never sees), not through symlinks; and
 * nothing of such a file comes back in the errors an analyst or a viewer can read.
 * (Findings of a hostile review, reproduced before the fix: the secret key came back in a TS2304.)
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { RepoSyncer } from '../../src/repos/sync.js';
import { GitRepo, playbookSource } from '../support/git.js';
import { tempDir } from '../support/temp-store.js';
import { openRepoSyncer, type RepoSyncerFixture } from '../support/repo-syncer.js';

const tmp = tempDir('riposte-confine-');
const SECRET = `c0ffee${'ab12'.repeat(14)}d00d`;
let store: SqliteStore;
let syncer: RepoSyncer;
let fx: RepoSyncerFixture;
let n = 0;

before(async () => {
  fx = await openRepoSyncer(tmp.dir, { secretKey: Buffer.alloc(32, 7) });
  ({ store, syncer } = fx);
  mkdirSync(join(tmp.dir, 'outside'));
  writeFileSync(join(tmp.dir, 'outside', 'secret.key'), `${SECRET}\n`);
  writeFileSync(join(tmp.dir, 'outside', 'plain.ts'), `export const password = ${SECRET}x;\n`);
  writeFileSync(join(tmp.dir, 'outside', 'types.d.ts'), `export type Leak = ${SECRET}y;\n`);
});

after(async () => {
  await fx.close();
  tmp.remove();
});

async function syncOf(files: Record<string, string>, setup?: (dir: string) => void) {
  const name = `c${++n}`;
  const repo = GitRepo.create(join(tmp.dir, 'served'), `${name}.git`);
  setup?.(repo.dir);
  repo.commit(files);
  await syncer.add({ name, kind: 'git', url: `file://${repo.dir}` }, 'user:admin');
  const r = await syncer.sync(name, 'user:admin', 'manual');
  const seen = JSON.stringify([r, await store.getRepo(name), await store.listAudit({ limit: 10_000 })]);
  assert.ok(!seen.includes(SECRET), `the secret came back: ${r.errors.join('\n')}`);
  return r;
}

const pb = (id: string, module = '') => playbookSource({ id, module, body: 'return {};' });

test("the repository's tsconfig.json is never read (its extends could name any file)", async () => {
  const r = await syncOf({ 'tsconfig.json': JSON.stringify({ extends: join(tmp.dir, 'outside', 'secret.key') }), 'playbooks/a.ts': pb('conf-a') });
  assert.equal(r.status, 'activated', r.errors.join('\n'));
});

test('the type checker reads nothing outside the repository', async () => {
  const ref = await syncOf({ 'playbooks/a.ts': `/// <reference path="${join(tmp.dir, 'outside', 'plain.ts')}" />\n${pb('conf-b')}` });
  assert.equal(ref.status, 'refused');
  assert.match(ref.errors.join('\n'), /not found|TS6053/);
  const typeOnly = await syncOf({ 'playbooks/a.ts': pb('conf-c', `import type { Leak } from '${join(tmp.dir, 'outside', 'types')}';\nexport type L = Leak;`) });
  assert.equal(typeOnly.status, 'refused');
  const relativeType = await syncOf({ 'playbooks/a.ts': pb('conf-d', "import type { Leak } from '../../../../../../../../../../tmp/x';\nexport type L = Leak;") });
  assert.equal(relativeType.status, 'refused');
});

test('the bundler refuses a path out of the repository before reading it', async () => {
  const r = await syncOf({ 'playbooks/a.ts': pb('conf-e', `import key from '${join(tmp.dir, 'outside', 'secret.key')}';\nexport const k = key;`) });
  assert.equal(r.status, 'refused');
  assert.match(r.errors.join('\n'), /is outside the repository/);
});

test('symlinks and oversized trees are refused before anything is exported', async () => {
  const r = await syncOf({ 'playbooks/a.ts': pb('conf-f') }, (dir) => {
    mkdirSync(join(dir, 'lib'));
    symlinkSync(join(tmp.dir, 'outside', 'secret.key'), join(dir, 'lib', 'k.ts'));
  });
  assert.equal(r.status, 'refused');
  assert.deepEqual(r.errors, ['lib/k.ts: symlinks are not allowed in a playbook repository']);
  const big = await syncOf({ 'playbooks/a.ts': pb('conf-g'), 'blob.bin': 'x'.repeat(6 * 1024 * 1024) });
  assert.equal(big.status, 'refused');
  assert.match(big.errors.join('\n'), /blob\.bin: \d+ bytes, more than 5242880 per file/);
});

test('a local directory with a symlink is refused too', async () => {
  const dir = join(tmp.dir, 'devdir');
  mkdirSync(join(dir, 'playbooks'), { recursive: true });
  writeFileSync(join(dir, 'playbooks', 'a.ts'), pb('conf-h'));
  symlinkSync(join(tmp.dir, 'outside', 'secret.key'), join(dir, 'playbooks', 'k.ts'));
  await syncer.add({ name: 'devdir', kind: 'dir', url: dir }, 'user:admin');
  const r = await syncer.sync('devdir', 'user:admin', 'manual');
  assert.equal(r.status, 'refused');
  assert.deepEqual(r.errors, ['playbooks/k.ts: symlinks are not allowed in a playbook repository']);
});
