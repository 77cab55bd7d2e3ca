/**
 * Palo Alto Networks PAN-OS firewall app (XML API). Blocking puts an address object
 * `riposte-<ip>` into a static address group (default `riposte-block`) and commits; a security
 * rule denying that group must exist on the firewall (created once by an administrator).
 *
 * Commits apply the whole candidate configuration, including other administrators' pending
 * changes; a failed commit leaves our change in the candidate configuration.
 */
import { z } from 'zod';
import { defineApp } from '../../sdk/app.js';
import { capabilities } from '../../sdk/capabilities.js';
import { TerminalError } from '../../sdk/errors.js';
import { childElements, escapeXml, firstChild, textOf } from './xml.js';
import { ipFromObjectName, isNotPresent, objectName, PanosClient, parseIp, type PanosConfig } from './client.js';

/** PAN-OS object names: up to 63 characters; letters, digits, `_`, `.`, `-`, space. */
const OBJECT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.\- ]{0,62}$/;

const config = z.object({
  url: z.url().describe('Firewall management URL, e.g. https://fw.example.com'),
  apiKey: z.string().min(1).optional(),
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  vsys: z.string().regex(/^[A-Za-z0-9_.\-]+$/).default('vsys1'),
  addressGroup: z.string().regex(OBJECT_NAME).default('riposte-block'),
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
  description: 'Blocks IPs through a static address group on a PAN-OS firewall (XML API, commit per change).',
  config,
  secrets: ['apiKey', 'password'],
  implements: ['firewall'],

  actions: (action) => ({
    blockIp: action({
      description: 'Add the IP (as address object riposte-<ip>) to the block address group and commit.',
      kind: 'contain',
      readOnly: false,
      // `set` merges and the object name derives from the IP, so repeating is harmless.
      idempotent: true,
      undo: 'unblockIp',
      timeoutMs: 180_000,
      input: capabilities.firewall.blockIp.input,
      output: capabilities.firewall.blockIp.output.extend({ objectName: z.string(), jobId: z.string().optional() }),
      async handler(input, ctx) {
        const { ip, hostPrefix } = parseIp(input.ip);
        const c = new PanosClient(ctx.config, ctx.signal);
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
      description: 'Remove the IP from the block address group, delete its address object and commit.',
      kind: 'correct',
      readOnly: false,
      idempotent: true,
      timeoutMs: 180_000,
      input: capabilities.firewall.unblockIp.input,
      output: capabilities.firewall.unblockIp.output.extend({ jobId: z.string().optional() }),
      async handler(input, ctx) {
        const { ip } = parseIp(input.ip);
        const c = new PanosClient(ctx.config, ctx.signal);
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
      description: 'List the members of the block address group (running config by default).',
      kind: 'investigate',
      readOnly: true,
      idempotent: true,
      input: z.object({ source: z.enum(['running', 'candidate']).default('running') }),
      output: z.object({
        group: z.string(),
        ips: z.array(z.string()),
        members: z.array(z.object({ name: z.string(), ip: z.string().optional() })),
      }),
      async handler(input, ctx) {
        const c = new PanosClient(ctx.config, ctx.signal);
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
  }),

  async testConnectivity(ctx) {
    const c = new PanosClient(ctx.config, ctx.signal);
    const r = await c.op('<show><system><info></info></system></show>', 'show system info');
    const sys = firstChild(firstChild(r, 'result'), 'system');
    return { ok: true, detail: `${textOf(firstChild(sys, 'hostname')).trim() || 'firewall'} running PAN-OS ${textOf(firstChild(sys, 'sw-version')).trim() || 'unknown'}` };
  },
});
