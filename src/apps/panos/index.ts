/**
 * Palo Alto Networks PAN-OS firewall app (XML API). Two ways to block, chosen per asset:
 *
 * - `static-group` (default): an address object `riposte-<ip>` goes into a static address group
 *   (default `riposte-block`) and the firewall commits. Commits apply the whole candidate
 *   configuration, including other administrators' pending changes; a failed commit leaves our
 *   change in the candidate configuration.
 * - `dag-tag`: the IP gets a User-ID tag (default `riposte-block`), which puts it into every
 *   dynamic address group whose filter matches the tag. No commit, takes effect at once, and
 *   honours ttlSeconds (tag timeout).
 *
 * Either way a security rule denying the group must exist on the firewall (created and committed
 * once by an administrator; for dag-tag, a dynamic address group whose filter is the dagTag, e.g.
 * `'riposte-block'`).
 */
import { z } from 'zod';
import { defineApp } from '../../sdk/app.js';
import { capabilities } from '../../sdk/capabilities.js';
import { TerminalError } from '../../sdk/errors.js';
import { childElements, escapeXml, firstChild, textOf } from './xml.js';
import { ipFromObjectName, isNotPresent, objectName, PanosClient, parseIp, type PanosConfig } from './client.js';
import { checkTimeout, MAX_TAG_TIMEOUT_SECONDS, registeredIps, registerTag, unregisterTag } from './userid.js';

/** PAN-OS object names: up to 63 characters; letters, digits, `_`, `.`, `-`, space. */
const OBJECT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.\- ]{0,62}$/;
/** PAN-OS tag names: up to 127 characters, no control characters. */
const TAG_NAME = /^[^\u0000-\u001f\u007f]{1,127}$/;
const tagName = z.string().regex(TAG_NAME).refine((t) => t.trim() === t, 'no leading or trailing spaces');

const config = z.object({
  url: z.url().describe('Firewall management URL, e.g. https://fw.example.com'),
  apiKey: z.string().min(1).optional(),
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  vsys: z.string().regex(/^[A-Za-z0-9_.\-]+$/).default('vsys1'),
  addressGroup: z.string().regex(OBJECT_NAME).default('riposte-block'),
  blockMode: z.enum(['static-group', 'dag-tag']).default('static-group')
    .describe("'static-group': address object in a static group + commit; 'dag-tag': User-ID tag for a dynamic address group, no commit"),
  dagTag: tagName.default('riposte-block').describe('Tag registered on blocked IPs in dag-tag mode'),
  commitPollIntervalMs: z.number().int().positive().default(2000),
  commitTimeoutMs: z.number().int().positive().default(120_000),
});

function groupXpath(c: PanosClient, cfg: PanosConfig): string {
  return `${c.vsysXpath}/address-group/entry[@name='${cfg.addressGroup}']`;
}

export const panosApp = defineApp({
  id: 'palo-alto-panos',
  name: 'Palo Alto Networks PAN-OS',
  vendor: 'Palo Alto Networks',
  product: 'PAN-OS',
  version: '1.0.0',
  description: 'Blocks IPs on a PAN-OS firewall (XML API): a static address group with a commit per change, or User-ID tags for a dynamic address group.',
  config,
  secrets: ['apiKey', 'password'],
  implements: ['firewall'],

  actions: (action) => ({
    blockIp: action({
      description: 'static-group: add the IP (as address object riposte-<ip>) to the block address group and commit. ' +
        'dag-tag: register the block tag on the IP (ttlSeconds becomes the tag timeout), no commit.',
      kind: 'contain',
      readOnly: false,
      // `set` merges and the object name derives from the IP; re-registering a tag is a no-op.
      idempotent: true,
      undo: 'unblockIp',
      timeoutMs: 180_000,
      input: capabilities.firewall.blockIp.input,
      output: capabilities.firewall.blockIp.output.extend({
        objectName: z.string().optional(), jobId: z.string().optional(), tag: z.string().optional(),
      }),
      async handler(input, ctx) {
        const { ip, hostPrefix } = parseIp(input.ip);
        const c = new PanosClient(ctx.config, ctx.signal);
        if (ctx.config.blockMode === 'dag-tag') {
          const tag = ctx.config.dagTag;
          const { alreadyRegistered } = await registerTag(c, ctx.config.vsys, ip, tag, input.ttlSeconds);
          // Tags carry no description: the comment only goes to the action log.
          if (input.comment) ctx.log('block comment (not stored on the firewall in dag-tag mode)', { comment: input.comment });
          const ttl = input.ttlSeconds === undefined ? 'no timeout' : `timeout ${input.ttlSeconds} s`;
          const detail = alreadyRegistered
            ? `tag ${tag} was already registered on ${ip} (firewall: already exists, ignore)`
            : `tag ${tag} registered on ${ip} (${ttl}); no commit needed`;
          return { blocked: true, ip, detail, tag };
        }
        const name = objectName(ip);
        const description = `Blocked by Riposte${input.comment ? `: ${input.comment}` : ''}`.slice(0, 1023);
        await c.set(`${c.vsysXpath}/address/entry[@name='${name}']`,
          `<ip-netmask>${ip}/${hostPrefix}</ip-netmask><description>${escapeXml(description)}</description>`);
        await c.set(groupXpath(c, ctx.config), `<static><member>${name}</member></static>`);
        const commit = await c.commit(ctx.log);
        let detail = commit.jobId === undefined ? `already in the running configuration (${commit.detail})` : commit.detail;
        if (input.ttlSeconds !== undefined) {
          detail += `; ttlSeconds ignored: static group blocks do not expire, run unblockIp to lift it`;
          ctx.log('ttlSeconds is not enforced by static address-group blocks', { ttlSeconds: input.ttlSeconds });
        }
        return commit.jobId === undefined ? { blocked: true, ip, detail, objectName: name } : { blocked: true, ip, detail, objectName: name, jobId: commit.jobId };
      },
    }),

    unblockIp: action({
      description: 'static-group: remove the IP from the block address group, delete its address object and commit. ' +
        'dag-tag: unregister the block tag from the IP.',
      kind: 'correct',
      readOnly: false,
      idempotent: true,
      timeoutMs: 180_000,
      input: capabilities.firewall.unblockIp.input,
      output: capabilities.firewall.unblockIp.output.extend({ jobId: z.string().optional(), tag: z.string().optional() }),
      async handler(input, ctx) {
        const { ip } = parseIp(input.ip);
        const c = new PanosClient(ctx.config, ctx.signal);
        if (ctx.config.blockMode === 'dag-tag') {
          const tag = ctx.config.dagTag;
          const { wasRegistered } = await unregisterTag(c, ctx.config.vsys, ip, tag);
          const detail = wasRegistered ? `tag ${tag} unregistered from ${ip}` : `tag ${tag} was not registered on ${ip} (firewall: does not exist, ignore unreg)`;
          return { unblocked: true, ip, detail, tag };
        }
        const name = objectName(ip);
        const notes: string[] = [];
        try {
          await c.delete(`${groupXpath(c, ctx.config)}/static/member[text()='${name}']`);
        } catch (err) {
          if (!isNotPresent(err)) throw err;
          notes.push(`${name} was not in group ${ctx.config.addressGroup}`);
        }
        try {
          await c.delete(`${c.vsysXpath}/address/entry[@name='${name}']`);
        } catch (err) {
          if (isNotPresent(err)) notes.push(`address object ${name} did not exist`);
          // Still referenced elsewhere (another group or a rule): the IP is out of the block group, keep the object.
          else if (err instanceof TerminalError) notes.push(`address object ${name} kept: ${err.message}`);
          else throw err;
        }
        // Commit even when nothing was found: an earlier attempt may have left the removal uncommitted.
        const commit = await c.commit(ctx.log);
        const detail = [commit.detail, ...notes].join('; ');
        return commit.jobId === undefined ? { unblocked: true, ip, detail } : { unblocked: true, ip, detail, jobId: commit.jobId };
      },
    }),

    listBlocked: action({
      description: 'static-group: list the members of the block address group (running config by default). ' +
        'dag-tag: list the IPs the block tag is registered on (source does not apply).',
      kind: 'investigate',
      readOnly: true,
      idempotent: true,
      input: z.object({ source: z.enum(['running', 'candidate']).default('running') }),
      output: z.object({
        /** The static address group (static-group mode). */
        group: z.string().optional(),
        /** The registered tag (dag-tag mode). */
        tag: z.string().optional(),
        ips: z.array(z.string()),
        /** Group members (static-group), or one `{ name: ip, ip }` per tagged IP (dag-tag). */
        members: z.array(z.object({ name: z.string(), ip: z.string().optional() })),
      }),
      async handler(input, ctx) {
        const c = new PanosClient(ctx.config, ctx.signal);
        if (ctx.config.blockMode === 'dag-tag') {
          const ips = await registeredIps(c, ctx.config.vsys, ctx.config.dagTag);
          return { tag: ctx.config.dagTag, ips, members: ips.map((ip) => ({ name: ip, ip })) };
        }
        const group = await c.read(groupXpath(c, ctx.config), input.source);
        const stat = firstChild(group, 'static');
        const names = stat === undefined ? [] : childElements(stat, 'member').map((m) => textOf(m).trim());
        const nets = new Map<string, string>();
        if (names.length > 0) {
          const addresses = await c.read(`${c.vsysXpath}/address`, input.source);
          for (const e of addresses === undefined ? [] : childElements(addresses, 'entry')) {
            const net = textOf(firstChild(e, 'ip-netmask')).trim();
            if (e.attrs.name !== undefined && net !== '') nets.set(e.attrs.name, net.replace(/\/(32|128)$/, ''));
          }
        }
        const members = names.map((name) => {
          const ip = nets.get(name) ?? ipFromObjectName(name);
          return ip === undefined ? { name } : { name, ip };
        });
        return { group: ctx.config.addressGroup, ips: members.flatMap((m) => (m.ip === undefined ? [] : [m.ip])), members };
      },
    }),

    tagIp: action({
      description: 'Register a User-ID tag on an IP (dynamic address group membership, no commit); optional timeout.',
      kind: 'contain',
      readOnly: false,
      idempotent: true,
      undo: 'untagIp',
      input: z.object({
        ip: z.string(),
        tag: tagName,
        ttlSeconds: z.number().int().positive().max(MAX_TAG_TIMEOUT_SECONDS).optional(),
      }),
      output: z.object({ ip: z.string(), tag: z.string(), tagged: z.boolean(), alreadyTagged: z.boolean(), detail: z.string() }),
      async handler(input, ctx) {
        const { ip } = parseIp(input.ip);
        checkTimeout(input.ttlSeconds);
        const c = new PanosClient(ctx.config, ctx.signal);
        const { alreadyRegistered } = await registerTag(c, ctx.config.vsys, ip, input.tag, input.ttlSeconds);
        const detail = alreadyRegistered ? `tag ${input.tag} was already registered on ${ip}`
          : `tag ${input.tag} registered on ${ip}${input.ttlSeconds === undefined ? '' : ` for ${input.ttlSeconds} s`}`;
        return { ip, tag: input.tag, tagged: true, alreadyTagged: alreadyRegistered, detail };
      },
    }),

    untagIp: action({
      description: 'Unregister a User-ID tag from an IP; a tag that is not registered counts as removed.',
      kind: 'correct',
      readOnly: false,
      idempotent: true,
      input: z.object({ ip: z.string(), tag: tagName }),
      output: z.object({ ip: z.string(), tag: z.string(), untagged: z.boolean(), wasTagged: z.boolean(), detail: z.string() }),
      async handler(input, ctx) {
        const { ip } = parseIp(input.ip);
        const c = new PanosClient(ctx.config, ctx.signal);
        const { wasRegistered } = await unregisterTag(c, ctx.config.vsys, ip, input.tag);
        const detail = wasRegistered ? `tag ${input.tag} unregistered from ${ip}` : `tag ${input.tag} was not registered on ${ip}`;
        return { ip, tag: input.tag, untagged: true, wasTagged: wasRegistered, detail };
      },
    }),
  }),

  async testConnectivity(ctx) {
    const c = new PanosClient(ctx.config, ctx.signal);
    const r = await c.op('<show><system><info></info></system></show>', 'show system info');
    const sys = firstChild(firstChild(r, 'result'), 'system');
    return { ok: true, detail: `${textOf(firstChild(sys, 'hostname')).trim() || 'firewall'} running PAN-OS ${textOf(firstChild(sys, 'sw-version')).trim() || 'unknown'}` };
  },
});
