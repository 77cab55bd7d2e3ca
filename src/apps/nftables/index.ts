/**
 * Linux nftables firewall app. Blocks IPs by adding them, with a timeout and a comment naming the
 * run, to an IPv4 or IPv6 set in a table Riposte owns; a base chain (hook `forward` for a firewall
 * between networks, `input` for a host) drops traffic from and to those sets. The table, sets and
 * chain are created on first use, idempotently.
 *
 * It drives the `nft` CLI directly (as root or with CAP_NET_ADMIN), or inside a network namespace
 * through `ip netns exec` (labs and tests). Remote hosts over SSH are not supported yet.
 */
import { z } from 'zod';
import { defineApp, type ActionContext } from '../../sdk/app.js';
import { capabilities } from '../../sdk/capabilities.js';
import { TerminalError } from '../../sdk/errors.js';
import { isNoSuchObject, runNft } from './run.js';
import {
  blockScript, expectedRules, nftComment, parseChain, parseIp, parseSetElements, parseTables, setFor, setsOf, setupScript,
  unblockScript, type BlockedEntry, type NftObjects,
} from './ruleset.js';

/** nft identifiers we accept for our own objects (no quoting needed). */
const NFT_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

const config = z.object({
  netns: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,62}$/).optional()
    .describe('Network namespace to run nft in (ip netns exec); omit for the host'),
  family: z.enum(['inet', 'ip', 'ip6']).default('inet'),
  table: z.string().regex(NFT_NAME).default('riposte'),
  set4: z.string().regex(NFT_NAME).default('blocked4'),
  set6: z.string().regex(NFT_NAME).default('blocked6'),
  chain: z.string().regex(NFT_NAME).default('riposte_block'),
  hook: z.enum(['input', 'forward']).default('forward').describe("'forward' for a firewall between networks, 'input' for a host"),
  priority: z.number().int().min(-1000).max(1000).default(-10),
  nftPath: z.string().min(1).default('nft'),
  ipPath: z.string().min(1).default('ip'),
  defaultTtlSeconds: z.number().int().positive().optional().describe('Timeout of a block when the step gives none; none = until unblocked'),
});
type Config = z.output<typeof config>;

function objects(cfg: Config): NftObjects {
  return { family: cfg.family, table: cfg.table, set4: cfg.set4, set6: cfg.set6, chain: cfg.chain, hook: cfg.hook, priority: cfg.priority };
}

function nft(ctx: ActionContext<Config>, args: string[], stdin?: string): Promise<string> {
  return runNft(ctx.config, args, stdin === undefined ? { signal: ctx.signal } : { signal: ctx.signal, stdin });
}

/**
 * Makes sure table, sets and chain exist with our rules. Reads the chain first, so counters are
 * kept when everything is already in place; otherwise creates what is missing in one transaction.
 */
async function ensureSetup(ctx: ActionContext<Config>): Promise<void> {
  const o = objects(ctx.config);
  let chain: ReturnType<typeof parseChain> | undefined;
  try {
    chain = parseChain(await nft(ctx, ['-j', 'list', 'chain', o.family, o.table, o.chain]));
  } catch (err) {
    if (!isNoSuchObject(err)) throw err;
  }
  if (chain !== undefined && (chain.hook !== o.hook || chain.priority !== o.priority)) {
    // Changing a base chain's hook means recreating it: leave that to an administrator.
    throw new TerminalError(`nftables: chain ${o.family} ${o.table} ${o.chain} exists with hook ${chain.hook ?? '?'} priority ` +
      `${chain.priority ?? '?'}, but the asset says hook ${o.hook} priority ${o.priority}; delete the chain or fix the asset`, { applied: 'no' });
  }
  const want = expectedRules(o).map((r) => r.comment);
  if (chain !== undefined && chain.ruleComments.length === want.length && want.every((c) => chain.ruleComments.includes(c))) return;
  ctx.log('creating nftables table, sets and chain', { family: o.family, table: o.table, chain: o.chain, hook: o.hook });
  await nft(ctx, ['-f', '-'], setupScript(o));
}

function runId(idempotencyKey: string): string {
  return idempotencyKey.replace(/:[^:]*$/, '') || idempotencyKey;
}

export const nftablesApp = defineApp({
  id: 'linux-nftables',
  name: 'Linux nftables',
  vendor: 'netfilter.org',
  product: 'nftables',
  version: '1.0.0',
  description: 'Blocks IPs on a Linux firewall or host through nftables sets with per-element timeouts.',
  config,
  secrets: [],
  implements: ['firewall'],

  actions: (action) => ({
    blockIp: action({
      description: 'Add the IP to the blocked set (with a timeout when given); traffic from and to it is dropped.',
      kind: 'contain',
      readOnly: false,
      // The element is replaced atomically: repeating gives one element, with the latest timeout and comment.
      idempotent: true,
      undo: 'unblockIp',
      input: capabilities.firewall.blockIp.input,
      output: capabilities.firewall.blockIp.output.extend({
        set: z.string(),
        ttlSeconds: z.number().int().positive().optional(),
        comment: z.string(),
      }),
      async handler(input, ctx) {
        const { ip, v } = parseIp(input.ip);
        const o = objects(ctx.config);
        const set = setFor(o, v);
        const ttl = input.ttlSeconds ?? ctx.config.defaultTtlSeconds;
        // The run id goes first so it survives the 128-byte cut; the playbook's comment names the incident.
        const comment = nftComment(`riposte ${runId(ctx.idempotencyKey)}${input.comment ? `: ${input.comment}` : ''}`);
        await ensureSetup(ctx);
        await nft(ctx, ['-f', '-'], blockScript(o, set, ip, ttl, comment));
        const detail = `blocked in ${o.family} ${o.table} ${set}${ttl === undefined ? ' until unblocked' : ` for ${ttl} s`}` +
          (ctx.config.netns === undefined ? '' : ` (network namespace ${ctx.config.netns})`);
        return ttl === undefined ? { blocked: true, ip, detail, set, comment } : { blocked: true, ip, detail, set, ttlSeconds: ttl, comment };
      },
    }),

    unblockIp: action({
      description: 'Remove the IP from the blocked set; an IP that is not in it counts as unblocked.',
      kind: 'correct',
      readOnly: false,
      idempotent: true,
      input: capabilities.firewall.unblockIp.input,
      output: capabilities.firewall.unblockIp.output.extend({ set: z.string() }),
      async handler(input, ctx) {
        const { ip, v } = parseIp(input.ip);
        const o = objects(ctx.config);
        const set = setFor(o, v);
        try {
          await nft(ctx, ['-f', '-'], unblockScript(o, set, ip));
        } catch (err) {
          // The element, the set or the whole table is absent: nothing blocks this IP.
          if (!isNoSuchObject(err)) throw err;
          return { unblocked: true, ip, set, detail: `${ip} was not in ${o.family} ${o.table} ${set}` };
        }
        return { unblocked: true, ip, set, detail: `removed from ${o.family} ${o.table} ${set}` };
      },
    }),

    listBlocked: action({
      description: 'List the blocked IPs with their remaining time and comment.',
      kind: 'investigate',
      readOnly: true,
      idempotent: true,
      input: z.object({}),
      output: z.object({
        ips: z.array(z.string()),
        entries: z.array(z.object({ ip: z.string(), set: z.string(), expiresInSeconds: z.number().optional(), comment: z.string().optional() })),
      }),
      async handler(_input, ctx) {
        const o = objects(ctx.config);
        const entries: Array<BlockedEntry & { set: string }> = [];
        for (const { name } of setsOf(o)) {
          let stdout: string;
          try {
            stdout = await nft(ctx, ['-j', 'list', 'set', o.family, o.table, name]);
          } catch (err) {
            if (isNoSuchObject(err)) continue; // not set up yet: nothing blocked
            throw err;
          }
          for (const e of parseSetElements(stdout)) entries.push({ ...e, set: name });
        }
        return { ips: entries.map((e) => e.ip), entries };
      },
    }),
  }),

  async testConnectivity(ctx) {
    const { version, tables } = parseTables(await runNft(ctx.config, ['-j', 'list', 'tables'], { signal: ctx.signal }));
    const ours = tables.some((t) => t.family === ctx.config.family && t.name === ctx.config.table);
    const where = ctx.config.netns === undefined ? '' : ` in network namespace ${ctx.config.netns}`;
    return { ok: true, detail: `nft ${version}${where}; table ${ctx.config.family} ${ctx.config.table} ${ours ? 'present' : 'not created yet (created on first block)'}` };
  },
});
