/**
 * The PAN-OS simulator on the wire, byte for byte, against the shapes of VENDOR-APIS.md §2 —
 * compared as strings, so no XML parser (neither the app's nor the simulator's) judges itself.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PanosSimulator } from '../../lab/panos-sim.js';
import { ROOT } from '../cli/fixture.js';

const X = "/config/devices/entry[@name='localhost.localdomain']/vsys/entry[@name='vsys1']";
const OK_20 = '<response status="success" code="20"><msg>command succeeded</msg></response>';
/** An error answer: HTTP 200, status="error", a code and one msg/line. */
const err = (code: number, line: string) =>
  `<response status="error" code="${code}"><msg><line>${line}</line></msg></response>`;
/** A User-ID answer whose payload reports `failures`. */
const uidError = (failures: string) => '<response status="error"><msg><line><uid-response><version>2.0</version>' +
  `<payload>${failures}</payload></uid-response></line></msg></response>`;

describe('PAN-OS simulator: answers as documented', () => {
  let sim: PanosSimulator;
  before(async () => {
    sim = new PanosSimulator({ users: { admin: 'pw' }, apiKeys: ['k'], commitDelayMs: 30 });
    await sim.start(0);
  });
  after(() => sim.stop());

  interface Answer { status: number; body: string }
  async function call(params: Record<string, string>, key: string | null = 'k'): Promise<Answer> {
    const res = await fetch(`${sim.url}/api/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(key === null ? {} : { 'x-pan-key': key }) },
      body: new URLSearchParams(params).toString(),
    });
    assert.equal(res.headers.get('content-type'), 'application/xml; charset=UTF-8');
    return { status: res.status, body: await res.text() };
  }
  const body = async (params: Record<string, string>) => (await call(params)).body;
  const set = (xpath: string, element: string) => body({ type: 'config', action: 'set', xpath, element });
  const get = (xpath: string) => body({ type: 'config', action: 'get', xpath });
  const job = (id: number) => body({ type: 'op', cmd: `<show><jobs><id>${id}</id></jobs></show>` });
  const uid = (payload: string) => body({
    type: 'user-id',
    cmd: `<uid-message><version>2.0</version><type>update</type><payload>${payload}</payload></uid-message>`,
  });

  it('keygen: the key on success, HTTP 403 "Invalid Credential" otherwise', async () => {
    assert.deepEqual(await call({ type: 'keygen', user: 'admin', password: 'pw' }, null), {
      status: 200, body: `<response status="success"><result><key>${sim.keyFor('admin')}</key></result></response>`,
    });
    assert.deepEqual(await call({ type: 'keygen', user: 'admin', password: 'nope' }, null), {
      status: 403,
      body: '<response status="error" code="403"><result><msg>Invalid Credential</msg></result></response>',
    });
    assert.equal((await call({ type: 'config', action: 'get', xpath: X }, 'bad-key')).status, 403);
  });

  it('config set answers code 20 and stores the element, escaped on the way out', async () => {
    const element = '<ip-netmask>192.0.2.1/32</ip-netmask><description>INC &lt;7&gt; &amp; "x" &#233;</description>' +
      '<tag><member>soar</member></tag>';
    assert.equal(await set(`${X}/address/entry[@name='soar-192.0.2.1']`, element), OK_20);
    const member = '<static><member>soar-192.0.2.1</member></static>';
    assert.equal(await set(`${X}/address-group/entry[@name='soar-block']`, member), OK_20);
    // set merges: the same member again changes nothing.
    assert.equal(await set(`${X}/address-group/entry[@name='soar-block']`, member), OK_20);
    assert.equal(await get(`${X}/address/entry[@name='soar-192.0.2.1']`),
      '<response status="success"><result total-count="1" count="1"><entry name="soar-192.0.2.1">' +
      '<ip-netmask>192.0.2.1/32</ip-netmask><description>INC &lt;7&gt; &amp; &quot;x&quot; é</description>' +
      '<tag><member>soar</member></tag></entry></result></response>');
    assert.equal(await get(`${X}/address-group`),
      '<response status="success"><result total-count="1" count="1"><address-group><entry name="soar-block">' +
      '<static><member>soar-192.0.2.1</member></static></entry></address-group></result></response>');
    assert.equal(await get(`${X}/address/entry[@name='none']`),
      '<response status="success"><result total-count="0" count="0"/></response>');
  });

  it('errors are HTTP 200 with status="error", a code and msg/line', async () => {
    assert.equal(await body({ type: 'config', action: 'show', xpath: `${X}/address/entry[@name='soar-192.0.2.1']` }),
      err(7, 'No such node'), 'not committed yet: absent from the running config');
    assert.equal(await set(X.replace('vsys1', 'vsys9'), '<a/>'), err(6, 'Bad Xpath'));
    assert.equal(await body({ type: 'config', action: 'delete', xpath: `${X}/address/entry[@name='soar-192.0.2.1']` }),
      err(10, 'soar-192.0.2.1 cannot be deleted because of references from: ' +
        'address-group -&gt; soar-block -&gt; static'));
    assert.equal(await set(`${X}/address/entry[@name='bad']`, '<ip-netmask>192.0.2.300</ip-netmask>'),
      err(12, 'address -&gt; bad -&gt; ip-netmask &apos;192.0.2.300&apos; is not a valid IP netmask'));
    const MALFORMED = new RegExp(`^${err(18, 'Malformed Request: [^<]+')}$`);
    const before = await get(X);
    for (const element of ['<ip-netmask>1.2.3.4</ip-netmask', 'loose<a/>', '<a><b></a>', '<a x=1/>']) {
      const r = await set(`${X}/address/entry[@name='m']`, element);
      assert.match(r, MALFORMED, element);
    }
    assert.equal(await get(X), before, 'a malformed request changes nothing');
    assert.deepEqual(await call({ type: 'frob' }), {
      status: 400,
      body: '<response status="error" code="400"><result>' +
        '<msg>Illegal value for parameter &quot;type&quot; [frob].</msg></result></response>',
    });
  });

  it('commit: a job id (code 19), "in progress" meanwhile, the job polled to FIN/OK, then "no changes"', async () => {
    assert.equal(await body({ type: 'commit', cmd: '<commit></commit>' }),
      '<response status="success" code="19"><result><msg><line>Commit job enqueued with jobid 1</line></msg>' +
      '<job>1</job></result></response>');
    assert.equal(await body({ type: 'commit', cmd: '<commit></commit>' }),
      err(13, 'Another commit is in progress. Please try again later'));
    const jobXml = (status: string, result: string, progress: string, details: string) => new RegExp(
      '^<response status="success"><result><job><tenq>\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z</tenq><id>1</id><user>api</user>' +
      `<type>Commit</type><status>${status}</status><queued>NO</queued><stoppable>no</stoppable>` +
      `<result>${result}</result><progress>${progress}</progress>${details}<warnings/></job></result></response>$`);
    assert.match(await job(1), jobXml('ACT', 'PEND', '\\d{1,2}', '<details/>'));
    await new Promise((r) => setTimeout(r, 40));
    assert.match(await job(1),
      jobXml('FIN', 'OK', '100', '<details><line>Configuration committed successfully</line></details>'));
    assert.equal(await body({ type: 'commit', cmd: '<commit></commit>' }),
      '<response status="success" code="19"><msg>There are no changes to commit.</msg></response>');
    assert.equal(sim.isBlocked('192.0.2.1', 'vsys1'), false, 'soar-block is not the simulator\'s block group');
    assert.equal(await job(9), err(7, 'job 9 not found'));
  });

  it('User-ID: register, "already exists, ignore", read back, "does not exist, ignore unreg"', async () => {
    const entry = (tag: string) => `<entry ip="198.51.100.9"><tag>${tag}</tag></entry>`;
    assert.equal(await uid(`<register>${entry('<member timeout="3600">soar-block</member>')}</register>`),
      '<response status="success"><result><uid-response><version>2.0</version><payload/></uid-response></result>' +
      '</response>');
    assert.equal(await uid(`<register>${entry('<member>soar-block</member>')}</register>`),
      uidError('<register><entry ip="198.51.100.9" message="tag soar-block already exists, ignore"/></register>'));
    const show = '<show><object><registered-ip><tag><entry name="soar-block"/></tag></registered-ip></object></show>';
    assert.equal(await body({ type: 'op', cmd: show }),
      '<response status="success"><result><entry ip="198.51.100.9" from_agent="0" persistent="1">' +
      '<tag><member>soar-block</member></tag></entry><count>1</count></result></response>');
    assert.equal(await uid(`<unregister>${entry('<member>other</member>')}</unregister>`),
      uidError('<unregister><entry ip="198.51.100.9" message="tag other does not exist, ignore unreg"/></unregister>'));
  });

  it('system info', async () => {
    assert.equal(await body({ type: 'op', cmd: '<show><system><info></info></system></show>' }),
      '<response status="success"><result><system><hostname>lab-fw</hostname><ip-address>127.0.0.1</ip-address>' +
      '<model>PA-VM</model><serial>007000000000001</serial><sw-version>10.2.4</sw-version></system></result>' +
      '</response>');
  });
});

describe('PAN-OS simulator: housekeeping and independence', () => {
  it('forgetCommittedBlocks drops committed block members and their objects, keeps uncommitted ones', async () => {
    const sim = new PanosSimulator({ apiKeys: ['k'], commitDelayMs: 1 });
    await sim.start(0);
    try {
      const api = (params: Record<string, string>) => fetch(`${sim.url}/api/`, {
        method: 'POST', headers: { 'x-pan-key': 'k' }, body: new URLSearchParams(params),
      }).then((r) => r.text());
      const set = (xpath: string, element: string) => api({ type: 'config', action: 'set', xpath, element });
      const block = async (ip: string) => {
        await set(`${X}/address/entry[@name='b-${ip}']`, `<ip-netmask>${ip}/32</ip-netmask>`);
        await set(`${X}/address-group/entry[@name='riposte-block']`, `<static><member>b-${ip}</member></static>`);
      };
      await block('192.0.2.1');
      await api({ type: 'commit', cmd: '<commit/>' });
      await new Promise((r) => setTimeout(r, 10));
      await block('192.0.2.2');
      assert.equal(sim.isBlocked('192.0.2.1'), true);
      sim.forgetCommittedBlocks();
      assert.equal(sim.isBlocked('192.0.2.1'), false);
      const candidate = await api({ type: 'config', action: 'get', xpath: X });
      assert.doesNotMatch(candidate, /192\.0\.2\.1\//);
      assert.match(candidate, /<entry name="b-192\.0\.2\.2"><ip-netmask>192\.0\.2\.2\/32<\/ip-netmask><\/entry>/);
      assert.match(candidate, /<member>b-192\.0\.2\.2<\/member>/);
    } finally {
      await sim.stop();
    }
  });

  it('no lab module uses the PAN-OS app\'s XML code', () => {
    const lab = join(ROOT, 'lab');
    const users = readdirSync(lab).filter((f) => f.endsWith('.ts'))
      .filter((f) => /from\s+['"][^'"]*apps\/panos\//.test(readFileSync(join(lab, f), 'utf8')));
    assert.deepEqual(users, []);
  });
});
