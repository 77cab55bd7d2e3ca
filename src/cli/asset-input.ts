/**
 * Turns the flags of `riposte assets add` into an asset's configuration and secrets, checked
 * against the app's config schema. Secret values come only from files, environment variables,
 * stdin or a no-echo prompt — never from the command line, where they would land in shell history
 * and `ps` — and no message ever contains one.
 */
import { readFileSync } from 'node:fs';
import type { AppDefinition } from '../sdk/app.js';
import { CliError } from './open-store.js';
import { configFields } from './commands/apps.js';
import type { FieldInfo } from './schema-fields.js';
import { writeErr } from './output.js';

export const MASK = '••••••';

const SECRET_SOURCES = '<key>=@<file>, <key>=env:<VAR> or <key>=- (stdin), or use --prompt-secrets';

export interface AssetFlags {
  config: string[];
  configFile?: string;
  secret: string[];
  promptSecrets?: boolean;
}

export interface AssetInput {
  config: Record<string, unknown>;
  secrets: Record<string, string>;
}

/** Reads stdin to the end (for `key=-`). */
export type StdinReader = () => Promise<string>;
/** Asks for one secret on the terminal without echo. */
export type SecretPrompter = (field: FieldInfo & { secret: boolean }) => Promise<string>;

function splitPair(flag: '--config' | '--secret', raw: string): [string, string] {
  const eq = raw.indexOf('=');
  if (eq <= 0) {
    // Without '=', a --secret argument may be the secret itself: never echo it.
    throw new CliError(flag === '--secret' ? '--secret must look like <key>=@<file>, <key>=env:<VAR> or <key>=- (stdin)' : `--config "${raw}" must look like <key>=<value>`);
  }
  return [raw.slice(0, eq), raw.slice(eq + 1)];
}

function unknownKey(app: AppDefinition, key: string, fields: FieldInfo[]): CliError {
  return new CliError(`app ${app.id} has no configuration field "${key}" (fields: ${fields.map((f) => f.name).join(', ')})`);
}

const BOOL: Record<string, boolean> = { true: true, false: false, yes: true, no: false, on: true, off: false, '1': true, '0': false };

/** A `--config` value typed per the field's JSON type (numbers, booleans, JSON arrays/objects). */
export function typedValue(field: FieldInfo, raw: string): unknown {
  const t = new Set(field.jsonTypes);
  if (t.has('boolean') && Object.hasOwn(BOOL, raw.toLowerCase())) return BOOL[raw.toLowerCase()];
  if ((t.has('number') || t.has('integer')) && raw.trim() !== '' && Number.isFinite(Number(raw))) return Number(raw);
  if ((t.has('array') || t.has('object')) && /^\s*[[{]/.test(raw)) {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      throw new CliError(`--config ${field.name}: expected JSON (${field.type})`);
    }
  }
  if (t.has('string') || t.size === 0) return raw;
  throw new CliError(`--config ${field.name}: expected ${field.type}, got "${raw}"`);
}

/** The value of one `--secret key=source`, trailing newline of a file or stdin removed. */
async function secretValue(key: string, source: string, readStdin: StdinReader, env: NodeJS.ProcessEnv): Promise<string> {
  let value: string;
  if (source.startsWith('@')) {
    const path = source.slice(1);
    try {
      value = readFileSync(path, 'utf8');
    } catch (err) {
      throw new CliError(`--secret ${key}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  } else if (source.startsWith('env:')) {
    const name = source.slice(4);
    value = env[name] ?? '';
    if (value === '') throw new CliError(`--secret ${key}: environment variable ${name || '(none)'} is not set or empty`);
  } else if (source === '-') {
    value = await readStdin();
  } else {
    // The given text may be the secret itself: do not echo it.
    throw new CliError(`--secret ${key}: give the value as ${SECRET_SOURCES.replace(/<key>/g, key)}; a value typed on the command line would end up in shell history`);
  }
  value = value.replace(/\r?\n$/, '');
  if (value === '') throw new CliError(`--secret ${key}: the value is empty`);
  return value;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new CliError(`--config-file: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CliError(`--config-file ${path} is not valid JSON`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new CliError(`--config-file ${path} must hold a JSON object`);
  return parsed as Record<string, unknown>;
}

// Messages without input values: a value may be a secret.
const errorMap = (iss: { code?: string; input?: unknown; expected?: string }): string | undefined => {
  if (iss.code === 'invalid_type') return iss.input === undefined ? 'required' : `expected ${iss.expected ?? 'another type'}`;
  return undefined;
};

/**
 * Config and secrets for an asset of `app`: `--config-file` first, `--config` over it, then the
 * secrets; everything validated together with the app's schema. Secret fields found in the config
 * file are moved to the secrets (a file is as safe a source as `--secret key=@file`).
 */
export async function assetInput(
  app: AppDefinition, flags: AssetFlags,
  io: { readStdin: StdinReader; prompt?: SecretPrompter; env?: NodeJS.ProcessEnv },
): Promise<AssetInput> {
  const fields = configFields(app);
  const byName = new Map(fields.map((f) => [f.name, f]));
  const config: Record<string, unknown> = {};
  const secrets: Record<string, string> = {};

  if (flags.configFile !== undefined) {
    for (const [key, value] of Object.entries(readConfigFile(flags.configFile))) {
      const f = byName.get(key);
      if (!f) throw unknownKey(app, key, fields);
      if (f.secret) {
        if (typeof value !== 'string' || value === '') throw new CliError(`--config-file: secret field "${key}" must be a non-empty string`);
        secrets[key] = value;
      } else config[key] = value;
    }
  }
  for (const pair of flags.config) {
    const [key, raw] = splitPair('--config', pair);
    const f = byName.get(key);
    if (!f) throw unknownKey(app, key, fields);
    if (f.secret) throw new CliError(`"${key}" is a secret of app ${app.id}: pass it with --secret ${SECRET_SOURCES.replace(/<key>/g, key)}, not --config`);
    config[key] = typedValue(f, raw);
  }
  let fromStdin: string | undefined;
  for (const pair of flags.secret) {
    const [key, source] = splitPair('--secret', pair);
    const f = byName.get(key);
    if (!f) throw unknownKey(app, key, fields);
    if (!f.secret) throw new CliError(`"${key}" is not a secret of app ${app.id}: pass it with --config ${key}=<value>`);
    if (source === '-') {
      if (fromStdin !== undefined) throw new CliError(`only one secret can be read from stdin (${fromStdin} and ${key} both use -)`);
      fromStdin = key;
    }
    secrets[key] = await secretValue(key, source, io.readStdin, io.env ?? process.env);
  }
  if (flags.promptSecrets) {
    if (!io.prompt) throw new CliError('--prompt-secrets needs a terminal; read a secret from stdin with --secret <key>=- instead');
    for (const f of fields) {
      if (!f.secret || Object.hasOwn(secrets, f.name)) continue;
      const value = await io.prompt(f);
      if (value !== '') secrets[f.name] = value;
      else if (f.required) throw new CliError(`secret "${f.name}" is required`);
    }
  }

  const parsed = app.config.safeParse({ ...config, ...secrets }, { error: errorMap });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const key = i.path.map(String).join('.') || '(configuration)';
      const hint = byName.get(key)?.secret && i.message === 'required' ? ` (a secret: --secret ${key}=@file, env:VAR or -, or --prompt-secrets)` : '';
      return `${key}: ${i.message}${hint}`;
    });
    throw new CliError(`invalid configuration for app ${app.id}: ${problems.join('; ')}`);
  }
  return { config, secrets };
}

/** Config with every secret field shown as MASK (set secrets only). */
export function maskedConfig(config: Record<string, unknown>, secretFields: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config };
  for (const s of secretFields) out[s] = MASK;
  return out;
}

/** `key=value` pairs for a table cell. */
export function configSummary(masked: Record<string, unknown>): string {
  return Object.entries(masked).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
}

/** Reads a secret from the terminal without echoing it (raw mode); Ctrl-C cancels. */
export function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  // Echo off before the question is shown: a person (or a paste) typing right after the prompt
  // appears must never see the secret echoed.
  stdin.setRawMode(true);
  writeErr(question);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const done = (err?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      writeErr('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
        if (ch === '\u0003') return done(new CliError('cancelled', 130));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

export async function readAllStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new CliError('--secret <key>=- reads the secret from stdin, but stdin is a terminal: pipe it in, or use --prompt-secrets');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
