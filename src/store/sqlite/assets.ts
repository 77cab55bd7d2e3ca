/** Assets (secrets encrypted at rest), ingestion sources and playbook settings (API tokens: api-tokens.ts). */
import type Database from 'better-sqlite3';
import type { AutomationLevel } from '../../common/domain.js';
import {
  MAX_TRIGGER_LENGTH, type AssetRecord, type PlaybookSettings, type SourceKind, type SourceRecord,
} from '../records.js';
import type { KeyRing } from '../secrets.js';
import type { AuditLog } from './audit.js';
import { ConflictError, NotFoundError, ValidationError, isConstraint, nowIso, sha256Hex } from './common.js';
import { sourceMappingSchema } from '../source-mapping.js';
import { issueLines } from '../../common/issues.js';
import { allowanceProblem } from '../../common/ip-ranges.js';

interface AssetRow {
  name: string; app_id: string; description: string | null; config: string; secrets: string; secret_fields: string;
  egress_allow: string; created_at: string; updated_at: string;
}
interface SourceRow { name: string; kind: string; mapping: string; token_hash: string; enabled: number; created_at: string; updated_at: string }
interface SettingsRow {
  playbook_id: string; enabled: number; automation: string | null; bindings: string; updated_at: string;
  dry_run: number; trigger_when: string | null;
}

export interface AssetInput {
  name: string; appId: string; description?: string; config: Record<string, unknown>; secrets: Record<string, string>;
  egressAllow?: string[];
}

const toAsset = (r: AssetRow): AssetRecord => ({
  name: r.name, appId: r.app_id, description: r.description, config: JSON.parse(r.config) as Record<string, unknown>,
  secretFields: JSON.parse(r.secret_fields) as string[], egressAllow: JSON.parse(r.egress_allow) as string[], createdAt: r.created_at, updatedAt: r.updated_at,
});
const toSource = (r: SourceRow): SourceRecord => ({
  name: r.name, kind: r.kind as SourceKind, mapping: JSON.parse(r.mapping) as unknown, enabled: r.enabled !== 0, createdAt: r.created_at,
});
const toSettings = (r: SettingsRow): PlaybookSettings => ({
  playbookId: r.playbook_id, enabled: r.enabled !== 0, automation: r.automation as AutomationLevel | null,
  bindings: JSON.parse(r.bindings) as Record<string, string>, dryRun: r.dry_run === 1, triggerWhen: r.trigger_when,
  updatedAt: r.updated_at,
});

// Authenticated data binds each ciphertext to its asset: a blob copied to another row fails to decrypt.
export const aadFor = (assetName: string): string => `riposte:asset:${assetName}`;

function requireToken(token: string): void {
  if (typeof token !== 'string' || token.length === 0) throw new ValidationError('token must be a non-empty string');
}

export class ConfigRepo {
  private readonly s;
  private readonly putAssetTx;
  private readonly deleteAssetTx;
  private readonly putSourceTx;
  private readonly setSourceMappingTx;
  private readonly putSettingsTx;
  private readonly setTriggerTx;

  constructor(db: Database.Database, private readonly audit: AuditLog, private readonly key: KeyRing) {
    this.s = {
      asset: db.prepare<[string], AssetRow>('SELECT * FROM assets WHERE name = ?'),
      assets: db.prepare<[], AssetRow>('SELECT * FROM assets ORDER BY name'),
      upsertAsset: db.prepare(`INSERT INTO assets (name, app_id, description, config, secrets, secret_fields, egress_allow,
          created_at, updated_at)
        VALUES (@name, @app_id, @description, @config, @secrets, @secret_fields, @egress_allow, @now, @now)
        ON CONFLICT(name) DO UPDATE SET app_id = excluded.app_id, description = excluded.description, config = excluded.config,
          secrets = excluded.secrets, secret_fields = excluded.secret_fields, egress_allow = excluded.egress_allow,
          updated_at = excluded.updated_at`),
      deleteAsset: db.prepare<[string]>('DELETE FROM assets WHERE name = ?'),
      source: db.prepare<[string], SourceRow>('SELECT * FROM sources WHERE name = ?'),
      sourceByHash: db.prepare<[string], SourceRow>('SELECT * FROM sources WHERE token_hash = ?'),
      sources: db.prepare<[], SourceRow>('SELECT * FROM sources ORDER BY name'),
      setSourceMapping: db.prepare<[string, string, string]>(
        'UPDATE sources SET mapping = ?, updated_at = ? WHERE name = ?'),
      upsertSource: db.prepare(`INSERT INTO sources (name, kind, mapping, token_hash, enabled, created_at, updated_at)
        VALUES (@name, @kind, @mapping, @token_hash, 1, @now, @now)
        ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, mapping = excluded.mapping, token_hash = excluded.token_hash,
          updated_at = excluded.updated_at`),
      settings: db.prepare<[string], SettingsRow>('SELECT * FROM playbook_settings WHERE playbook_id = ?'),
      upsertSettings: db.prepare(`INSERT INTO playbook_settings (playbook_id, enabled, automation, bindings, updated_at, dry_run)
        VALUES (@playbook_id, @enabled, @automation, @bindings, @updated_at, @dry_run)
        ON CONFLICT(playbook_id) DO UPDATE SET enabled = excluded.enabled, automation = excluded.automation,
          bindings = excluded.bindings, updated_at = excluded.updated_at, dry_run = excluded.dry_run`),
      // Only the trigger condition: a playbook without settings yet gets the defaults.
      upsertTrigger: db.prepare<[{ id: string; when: string | null; now: string }]>(`INSERT INTO playbook_settings
        (playbook_id, enabled, automation, bindings, updated_at, dry_run, trigger_when)
        VALUES (@id, 1, NULL, '{}', @now, 0, @when)
        ON CONFLICT(playbook_id) DO UPDATE SET trigger_when = excluded.trigger_when, updated_at = excluded.updated_at`),
    };
    this.putAssetTx = db.transaction((a: AssetInput, actor: string) => {
      const existing = this.s.asset.get(a.name);
      const secretFields = Object.keys(a.secrets).sort();
      const egressAllow = [...new Set(a.egressAllow ?? [])].sort();
      this.s.upsertAsset.run({
        name: a.name, app_id: a.appId, description: a.description ?? null, config: JSON.stringify(a.config ?? {}),
        secrets: this.key.encrypt(JSON.stringify(a.secrets), aadFor(a.name)), secret_fields: JSON.stringify(secretFields),
        egress_allow: JSON.stringify(egressAllow), now: nowIso(),
      });
      // Names of secret fields only: values never reach the audit log.
      this.audit.appendInTx({ actor, action: existing ? 'asset.update' : 'asset.create', target: `asset:${a.name}`,
        detail: { appId: a.appId, description: a.description ?? null, config: a.config ?? {}, secretFields, egressAllow } });
      return toAsset(this.s.asset.get(a.name)!);
    });
    this.deleteAssetTx = db.transaction((name: string, actor: string) => {
      if (this.s.deleteAsset.run(name).changes === 0) throw new NotFoundError(`asset "${name}" not found`);
      this.audit.appendInTx({ actor, action: 'asset.delete', target: `asset:${name}` });
    });
    this.putSourceTx = db.transaction((src: { name: string; kind: SourceKind; mapping: unknown; token: string }, actor: string) => {
      const existing = this.s.source.get(src.name);
      try {
        this.s.upsertSource.run({ name: src.name, kind: src.kind, mapping: JSON.stringify(src.mapping ?? null),
          token_hash: sha256Hex(src.token), now: nowIso() });
      } catch (err) {
        if (isConstraint(err, 'UNIQUE')) throw new ConflictError('this token is already used by another source; use a unique token per source');
        throw err;
      }
      this.audit.appendInTx({ actor, action: existing ? 'source.update' : 'source.create', target: `source:${src.name}`,
        detail: { kind: src.kind, tokenChanged: existing ? existing.token_hash !== sha256Hex(src.token) : true } });
      return toSource(this.s.source.get(src.name)!);
    });
    this.setSourceMappingTx = db.transaction((name: string, mapping: unknown, actor: string) => {
      const existing = this.s.source.get(name);
      if (!existing) throw new NotFoundError(`source "${name}" not found`);
      if (existing.kind !== 'splunk-webhook') {
        throw new ValidationError(
          `source "${name}" is a ${existing.kind} source: only splunk-webhook sources have a mapping`);
      }
      this.s.setSourceMapping.run(JSON.stringify(mapping), nowIso(), name);
      this.audit.appendInTx({ actor, action: 'source.mapping', target: `source:${name}`, detail: { mapping } });
      return toSource(this.s.source.get(name)!);
    });
    this.putSettingsTx = db.transaction((p: Omit<PlaybookSettings, 'updatedAt' | 'triggerWhen'>, actor: string) => {
      this.s.upsertSettings.run({ playbook_id: p.playbookId, enabled: p.enabled ? 1 : 0, automation: p.automation ?? null,
        bindings: JSON.stringify(p.bindings ?? {}), updated_at: nowIso(), dry_run: p.dryRun ? 1 : 0 });
      this.audit.appendInTx({ actor, action: 'playbook.settings', target: `playbook:${p.playbookId}`,
        detail: { enabled: p.enabled, automation: p.automation ?? null, bindings: p.bindings ?? {}, dryRun: p.dryRun ?? false } });
      return toSettings(this.s.settings.get(p.playbookId)!);
    });
    this.setTriggerTx = db.transaction((playbookId: string, when: string | null, actor: string) => {
      const before = this.s.settings.get(playbookId)?.trigger_when ?? null;
      this.s.upsertTrigger.run({ id: playbookId, when, now: nowIso() });
      this.audit.appendInTx({
        actor, action: 'playbook.trigger', target: `playbook:${playbookId}`, detail: { when, before },
      });
      return toSettings(this.s.settings.get(playbookId)!);
    });
  }

  putAsset(a: AssetInput, actor: string): AssetRecord {
    if (typeof a.name !== 'string' || a.name === '') throw new ValidationError('asset name is required');
    if (typeof a.appId !== 'string' || a.appId === '') throw new ValidationError('asset appId is required');
    for (const [k, v] of Object.entries(a.secrets ?? {})) {
      if (typeof v !== 'string') throw new ValidationError(`asset "${a.name}": secret "${k}" must be a string`);
    }
    if (a.egressAllow !== undefined && !Array.isArray(a.egressAllow)) {
      throw new ValidationError(`asset "${a.name}": egressAllow must be a list`);
    }
    for (const e of a.egressAllow ?? []) {
      const problem = allowanceProblem(e);
      if (problem !== null) throw new ValidationError(`asset "${a.name}": ${problem}; nothing was saved`);
    }
    return this.putAssetTx.immediate({ ...a, secrets: a.secrets ?? {} }, actor);
  }

  getAsset(name: string): AssetRecord | null {
    const row = this.s.asset.get(name);
    return row ? toAsset(row) : null;
  }

  listAssets(): AssetRecord[] {
    return this.s.assets.all().map(toAsset);
  }

  deleteAsset(name: string, actor: string): void {
    this.deleteAssetTx.immediate(name, actor);
  }

  getAssetSecrets(name: string): Record<string, string> {
    const row = this.s.asset.get(name);
    if (!row) throw new NotFoundError(`asset "${name}" not found`);
    try {
      return JSON.parse(this.key.decrypt(row.secrets, aadFor(name))) as Record<string, string>;
    } catch (err) {
      if (err instanceof Error) err.message = `asset "${name}": ${err.message}`;
      throw err;
    }
  }

  putSource(src: { name: string; kind: SourceKind; mapping: unknown; token: string }, actor: string): SourceRecord {
    if (typeof src.name !== 'string' || src.name === '') throw new ValidationError('source name is required');
    requireToken(src.token);
    return this.putSourceTx.immediate(src, actor);
  }

  setSourceMapping(name: string, mapping: unknown, actor: string): SourceRecord {
    const parsed = sourceMappingSchema.safeParse(mapping);
    if (!parsed.success) {
      const problems = issueLines(parsed.error.issues.slice(0, 3), '(mapping)');
      throw new ValidationError(`invalid mapping for source "${name}": ${problems.join('; ')}; nothing was changed`);
    }
    return this.setSourceMappingTx.immediate(name, parsed.data, actor);
  }

  findSourceByToken(token: string): SourceRecord | null {
    if (typeof token !== 'string' || token === '') return null;
    const row = this.s.sourceByHash.get(sha256Hex(token));
    return row ? toSource(row) : null;
  }

  listSources(): SourceRecord[] {
    return this.s.sources.all().map(toSource);
  }

  getPlaybookSettings(playbookId: string): PlaybookSettings | null {
    const row = this.s.settings.get(playbookId);
    return row ? toSettings(row) : null;
  }

  putPlaybookSettings(p: Omit<PlaybookSettings, 'updatedAt' | 'triggerWhen'>, actor: string): PlaybookSettings {
    return this.putSettingsTx.immediate(p, actor);
  }

  /** The caller has validated `when` (src/engine/trigger-condition.ts); here it is only bounded. */
  setPlaybookTrigger(playbookId: string, when: string | null, actor: string): PlaybookSettings {
    if (typeof playbookId !== 'string' || playbookId === '') throw new ValidationError('playbook id is required');
    if (when !== null && (typeof when !== 'string' || when.trim() === '' || when.length > MAX_TRIGGER_LENGTH)) {
      throw new ValidationError(
        `a trigger condition must be a non-empty expression of at most ${MAX_TRIGGER_LENGTH} characters`);
    }
    return this.setTriggerTx.immediate(playbookId, when, actor);
  }
}
