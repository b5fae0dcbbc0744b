/**
 * Layered settings for every `loom` command: flags > `LOOM_*` environment > YAML file > defaults.
 *
 * Each setting is declared once (key, type, default, help) and gets, mechanically, a flag
 * (`hysteresis.cpuMilli` → `--hysteresis-cpu-milli`), an environment variable
 * (`LOOM_HYSTERESIS_CPU_MILLI`) and a YAML key (nested `hysteresis: {cpuMilli: …}`).
 * Every layer is validated; the first bad value stops the program with one line naming where it
 * came from and what is wrong (an {@link InputError}: `source [key]: problem`).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

// YAML is read only when a file is given; loading it lazily keeps it out of the agent's memory.
const parseYaml = (text: string): unknown => (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text);
import type { Command } from 'commander';
import { InputError } from '../input/input-error.js';
import { parseListenAddress } from './listen-address.js';

export type SettingKind = 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'duration-ms' | 'listen-address';

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

/**
 * A bad flag, `LOOM_*` variable or settings-file key. `source` is the flag, the variable or the
 * file; `key` the file key.
 */
export class SettingsError extends InputError {
  constructor(source: string, problem: string, key?: string) {
    super(source, problem, key ? { key } : {});
    this.name = 'SettingsError';
  }
}

export const flagOf = (key: string): string =>
  '--' + key.replace(/\./g, '-').replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
export const envOf = (key: string): string =>
  'LOOM_' + key.replace(/\./g, '_').replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
const camelOfFlag = (key: string): string =>
  flagOf(key).slice(2).replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** A value as a person would recognise it in a message (YAML's `.nan` is NaN, not `null`). */
export function shownValue(raw: unknown): string {
  if (raw === null || raw === undefined) return 'no value';
  if (typeof raw === 'number') return Number.isNaN(raw) ? 'NaN' : String(raw);
  if (typeof raw === 'string') return JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}…` : raw);
  if (Array.isArray(raw)) return 'a list';
  if (typeof raw === 'object') return 'a mapping';
  return String(raw);
}

function convert(spec: SettingSpec, raw: unknown, source: string, key?: string): string | number | boolean {
  const bad = (why: string) => new SettingsError(source, why, key);
  let value: string | number | boolean;
  switch (spec.kind) {
    case 'string':
    case 'listen-address':
      if (typeof raw !== 'string' && typeof raw !== 'number') throw bad(`expected a string, got ${shownValue(raw)}`);
      value = String(raw);
      if (value === '') throw bad('must not be empty');
      if (spec.kind === 'listen-address') {
        const addr = parseListenAddress(value);
        if ('problem' in addr) throw bad(addr.problem);
      }
      break;
    case 'enum':
      if (typeof raw !== 'string' || !spec.choices?.includes(raw)) {
        throw bad(`expected one of ${spec.choices?.join(', ')}, got ${shownValue(raw)}`);
      }
      value = raw;
      break;
    case 'boolean':
      if (typeof raw === 'boolean') value = raw;
      else if (typeof raw === 'string' && /^(true|1|yes|on)$/i.test(raw)) value = true;
      else if (typeof raw === 'string' && /^(false|0|no|off)$/i.test(raw)) value = false;
      else throw bad(`expected true or false, got ${shownValue(raw)}`);
      break;
    case 'number':
    case 'integer':
    case 'duration-ms': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (!Number.isFinite(n)) throw bad(`expected a ${typeof raw === 'number' ? 'finite ' : ''}number, got ${shownValue(raw)}`);
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

const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The closest known key to a misspelt one (case, dashes, a couple of typos), if any is close. */
function nearestKey(key: string, known: readonly string[]): string | undefined {
  const norm = (k: string) => k.toLowerCase().replace(/[-_.]/g, '');
  const same = known.find((k) => norm(k) === norm(key));
  if (same) return same;
  let best: { key: string; d: number } | undefined;
  for (const k of known) {
    const d = editDistance(norm(k), norm(key));
    if (d <= 2 && (!best || d < best.d)) best = { key: k, d };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * The settings file's values by setting key. A key is written nested (`hysteresis: {percent: 5}`)
 * or dotted (`hysteresis.percent: 5`), never both; anything else is refused by name: an unknown
 * key (with the nearest known one), a group given a plain value, a setting given no value.
 */
export function fileValues(specs: readonly SettingSpec[], doc: Record<string, unknown>, source: string): Map<string, unknown> {
  const leaves = new Set(specs.map((s) => s.key));
  const childrenOf = (group: string) => [...new Set(specs.filter((s) => s.key.startsWith(`${group}.`)).map((s) => s.key.slice(group.length + 1).split('.')[0]!))];
  const out = new Map<string, unknown>();
  const walk = (node: Record<string, unknown>, prefix: string): void => {
    for (const [name, value] of Object.entries(node)) {
      const key = prefix ? `${prefix}.${name}` : name;
      if (leaves.has(key)) {
        if (out.has(key)) throw new SettingsError(source, 'given twice (nested and dotted); keep one', key);
        if (value === null || value === undefined) throw new SettingsError(source, 'has no value (remove the key to use the default)', key);
        out.set(key, value);
        continue;
      }
      const children = childrenOf(key);
      if (children.length > 0) {
        if (!isMapping(value)) throw new SettingsError(source, `is a group of settings: expected a mapping of ${children.join(', ')}, got ${shownValue(value)}`, key);
        walk(value, key);
        continue;
      }
      const near = nearestKey(key, [...leaves]);
      throw new SettingsError(source, `unknown key${near ? ` (did you mean "${near}"?)` : ''}`, key);
    }
  };
  walk(doc, '');
  return out;
}

export function readSettingsFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SettingsError(path, `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new SettingsError(path, `not valid YAML (${(err as Error).message.split('\n')[0]})`);
  }
  if (doc === null || doc === undefined) return {};
  if (!isMapping(doc)) throw new SettingsError(path, `expected a mapping of settings at the top level, got ${shownValue(doc)}`);
  return doc;
}

export interface ResolveInput {
  specs: readonly SettingSpec[];
  /** Values commander parsed (only the ones given on the command line are set). */
  flags: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  file?: { path: string; doc: Record<string, unknown> };
  /**
   * Settings another command reads from the same file, accepted there and ignored here (`loom
   * status` reads the operator's own file, whose loop and listener keys mean nothing to it).
   */
  fileAlsoAccepts?: readonly SettingSpec[];
}

/** Merge the four layers and validate; throws {@link SettingsError} naming the culprit. */
export function resolveSettings({ specs, flags, env, file, fileAlsoAccepts = [] }: ResolveInput): SettingsValues {
  const own = new Set(specs.map((s) => s.key));
  const fileSpecs = [...specs, ...fileAlsoAccepts.filter((s) => !own.has(s.key))];
  const fromFile = file ? fileValues(fileSpecs, file.doc, file.path) : new Map<string, unknown>();
  const out: SettingsValues = {};
  for (const spec of specs) {
    const flagValue = flags[camelOfFlag(spec.key)];
    const envValue = env[envOf(spec.key)];
    if (flagValue !== undefined) out[spec.key] = convert(spec, flagValue, flagOf(spec.key));
    else if (envValue !== undefined && envValue !== '') out[spec.key] = convert(spec, envValue, envOf(spec.key));
    else if (fromFile.has(spec.key)) out[spec.key] = convert(spec, fromFile.get(spec.key), file!.path, spec.key);
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
export function settingsFor(
  specs: readonly SettingSpec[], flags: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env, fileAlsoAccepts: readonly SettingSpec[] = [],
): SettingsValues {
  const configPath = (flags.config as string | undefined) ?? env.LOOM_CONFIG;
  const file = configPath ? { path: configPath, doc: readSettingsFile(configPath) } : undefined;
  return resolveSettings({ specs, flags, env, fileAlsoAccepts, ...(file ? { file } : {}) });
}
