/**
 * Layered settings for every `loom` command: flags > `LOOM_*` environment > YAML file > defaults.
 *
 * Each setting is declared once (key, type, default, help) and gets, mechanically, a flag
 * (`hysteresis.cpuMilli` → `--hysteresis-cpu-milli`), an environment variable
 * (`LOOM_HYSTERESIS_CPU_MILLI`) and a YAML key (nested `hysteresis: {cpuMilli: …}`).
 * Every layer is validated; the first bad value stops the program with one line naming where it
 * came from and what is wrong.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

// YAML is read only when a file is given; loading it lazily keeps it out of the agent's memory.
const parseYaml = (text: string): unknown => (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text);
import type { Command } from 'commander';

export type SettingKind = 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'duration-ms';

export interface SettingSpec {
  /** camelCase key, dotted for nesting (`hysteresis.percent`). */
  key: string;
  kind: SettingKind;
  description: string;
  default?: string | number | boolean;
  /** Allowed values for `enum`. */
  choices?: readonly string[];
  min?: number;
  max?: number;
  /** Optional extra check; returns a problem description or undefined. */
  check?: (value: unknown) => string | undefined;
}

export type SettingsValues = Record<string, string | number | boolean | undefined>;

export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

export const flagOf = (key: string): string =>
  '--' + key.replace(/\./g, '-').replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
export const envOf = (key: string): string =>
  'LOOM_' + key.replace(/\./g, '_').replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
const camelOfFlag = (key: string): string =>
  flagOf(key).slice(2).replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function convert(spec: SettingSpec, raw: unknown, where: string): string | number | boolean {
  const bad = (why: string) => new SettingsError(`${where}: ${why}`);
  let value: string | number | boolean;
  switch (spec.kind) {
    case 'string':
      if (typeof raw !== 'string' && typeof raw !== 'number') throw bad(`expected a string, got ${JSON.stringify(raw)}`);
      value = String(raw);
      if (value === '') throw bad('must not be empty');
      break;
    case 'enum':
      if (typeof raw !== 'string' || !spec.choices?.includes(raw)) {
        throw bad(`expected one of ${spec.choices?.join(', ')}, got ${JSON.stringify(raw)}`);
      }
      value = raw;
      break;
    case 'boolean':
      if (typeof raw === 'boolean') value = raw;
      else if (typeof raw === 'string' && /^(true|1|yes|on)$/i.test(raw)) value = true;
      else if (typeof raw === 'string' && /^(false|0|no|off)$/i.test(raw)) value = false;
      else throw bad(`expected true or false, got ${JSON.stringify(raw)}`);
      break;
    case 'number':
    case 'integer':
    case 'duration-ms': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (!Number.isFinite(n)) throw bad(`expected a number, got ${JSON.stringify(raw)}`);
      if (spec.kind !== 'number' && !Number.isInteger(n)) throw bad(`expected an integer, got ${n}`);
      if (spec.min !== undefined && n < spec.min) throw bad(`must be ≥ ${spec.min}, got ${n}`);
      if (spec.max !== undefined && n > spec.max) throw bad(`must be ≤ ${spec.max}, got ${n}`);
      value = n;
      break;
    }
  }
  const problem = spec.check?.(value);
  if (problem) throw bad(problem);
  return value;
}

function lookup(tree: unknown, key: string): unknown {
  let node: unknown = tree;
  for (const part of key.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** Keys of a YAML tree, dotted, for unknown-key detection. */
function leafKeys(tree: unknown, prefix = ''): string[] {
  if (tree === null || typeof tree !== 'object' || Array.isArray(tree)) return [prefix];
  return Object.entries(tree as Record<string, unknown>).flatMap(([k, v]) => {
    const full = prefix ? `${prefix}.${k}` : k;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? leafKeys(v, full) : [full];
  });
}

export function readSettingsFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SettingsError(`--config ${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new SettingsError(`--config ${path}: not valid YAML (${(err as Error).message.split('\n')[0]})`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new SettingsError(`--config ${path}: expected a mapping of settings at the top level`);
  return doc as Record<string, unknown>;
}

export interface ResolveInput {
  specs: readonly SettingSpec[];
  /** Values commander parsed (only the ones given on the command line are set). */
  flags: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  file?: { path: string; doc: Record<string, unknown> };
}

/** Merge the four layers and validate; throws {@link SettingsError} naming the culprit. */
export function resolveSettings({ specs, flags, env, file }: ResolveInput): SettingsValues {
  if (file) {
    const known = new Set(specs.map((s) => s.key));
    for (const key of leafKeys(file.doc)) {
      if (!known.has(key)) throw new SettingsError(`--config ${file.path}: unknown key "${key}"`);
    }
  }
  const out: SettingsValues = {};
  for (const spec of specs) {
    const flagValue = flags[camelOfFlag(spec.key)];
    const envValue = env[envOf(spec.key)];
    const fileValue = file ? lookup(file.doc, spec.key) : undefined;
    if (flagValue !== undefined) out[spec.key] = convert(spec, flagValue, flagOf(spec.key));
    else if (envValue !== undefined && envValue !== '') out[spec.key] = convert(spec, envValue, envOf(spec.key));
    else if (fileValue !== undefined && fileValue !== null) out[spec.key] = convert(spec, fileValue, `--config ${file!.path}: key "${spec.key}"`);
    else if (spec.default !== undefined) out[spec.key] = convert(spec, spec.default, `default of ${spec.key}`);
  }
  return out;
}

/** Declare one commander option per setting (values arrive as strings; conversion happens later). */
export function addSettingOptions(cmd: Command, specs: readonly SettingSpec[]): Command {
  for (const spec of specs) {
    const flag = flagOf(spec.key);
    const dflt = spec.default !== undefined ? ` (default: ${String(spec.default)})` : '';
    const help = `${spec.description}${spec.choices ? ` [${spec.choices.join('|')}]` : ''}${dflt}; env ${envOf(spec.key)}`;
    if (spec.kind === 'boolean') {
      cmd.option(flag, help);
      cmd.option(`--no-${flag.slice(2)}`, `disable ${flag}`);
    } else {
      cmd.option(`${flag} <value>`, help);
    }
  }
  return cmd;
}

/** The full resolution for one command invocation: reads --config if given. */
export function settingsFor(specs: readonly SettingSpec[], flags: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): SettingsValues {
  const configPath = (flags.config as string | undefined) ?? env.LOOM_CONFIG;
  const file = configPath ? { path: configPath, doc: readSettingsFile(configPath) } : undefined;
  return resolveSettings({ specs, flags, env, ...(file ? { file } : {}) });
}
