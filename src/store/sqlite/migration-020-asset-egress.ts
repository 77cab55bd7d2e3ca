/**
 * Migration 20: each asset carries its egress allowances (`riposte assets add --egress-allow
 * loopback|private|<CIDR>`), a JSON array; new assets reach public addresses only. Assets that
 * exist already keep what they could reach before (loopback and private ranges; link-local and
 * metadata addresses are refused for every asset from now on): an upgrade must not cut an on-prem
 * firewall off in the middle of an incident. Operators narrow them with `--replace`.
 */
import type { Migration } from './migrations.js';

export const MIGRATION_020_ASSET_EGRESS: Migration = {
  version: 20,
  name: 'assets.egress_allow: loopback/private ranges an asset may reach (SSRF guard)',
  sql: `
ALTER TABLE assets ADD COLUMN egress_allow TEXT NOT NULL DEFAULT '[]';
UPDATE assets SET egress_allow = '["loopback","private"]';
`,
};
