/**
 * The fuzz suite's tools: how many runs (bounded in `npm test`; `LOOM_FUZZ_RUNS=5000 npx vitest
 * run test/fuzz` for a long hunt, `LOOM_FUZZ_SEED` to replay one), text and JSON mutators of real
 * bodies, and the two invariants every external parser must keep:
 *   - nothing escapes but the one typed input error (InputError), and its message is one line;
 *   - no NaN, Infinity or (where a quantity must not be) negative number comes out of it.
 */
import fc from 'fast-check';
import { expect, vi } from 'vitest';
import { isInputError } from '../../input/input-error.js';

/** Runs per property: small enough for `npm test`, more with LOOM_FUZZ_RUNS. */
export const RUNS = Math.max(1, Number(process.env.LOOM_FUZZ_RUNS) || 150);
/** A long hunt gets the time it needs (vitest's default is 30 s per test). */
vi.setConfig({ testTimeout: Math.max(30_000, RUNS * 60) });
const SEED = process.env.LOOM_FUZZ_SEED !== undefined ? Number(process.env.LOOM_FUZZ_SEED) : undefined;

export function check<Ts extends [unknown, ...unknown[]]>(property: fc.IProperty<Ts> | fc.IAsyncProperty<Ts>, runs = RUNS): void | Promise<void> {
  const params = { numRuns: runs, ...(SEED !== undefined ? { seed: SEED } : {}) };
  return fc.assert(property as never, params) as void | Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// What hostile inputs are made of

/** Number spellings that break naive parsers. */
export const NUMBERISH = [
  '-1', '0', '-0', '1e308', '1e309', '-1e309', 'NaN', 'Infinity', '-Infinity', '9007199254740993', '99999999999999999999999',
  '18446744073709551615', '18446744073709551616', '-9223372036854775808', '0.0000001', '1.5', '.5', '5.', '0x10', '1_000',
  ' 1', '1 ', '', '+1', '--1', '1e-400', '4294967296', '2147483648', '1,5', '١٢', '1.0e+3',
] as const;

/** Fragments that break naive JSON / XML / line parsers. */
export const FRAGMENTS = [
  '"', "'", '{', '}', '[', ']', ',', ':', '<', '>', '</', '/>', '&amp;', '&', '&#0;', '&lt;', '\u0000', '\n', '\r\n', '\t', ' ',
  'null', 'true', 'false', '<!--', '-->', ']]>', '<![CDATA[', '\\', '\\u0000', '\ud800', '\ufeff', '<!DOCTYPE x [<!ENTITY e "e">]>',
  '<?xml version="1.0"?>', '__proto__', 'constructor', '{"__proto__":{"x":1}}', '=', 'kB', 'max', '-', 'avg10=', 'total=',
] as const;

export const numberish = fc.oneof(
  fc.constantFrom(...NUMBERISH),
  fc.double().map(String),
  fc.bigInt().map(String),
  fc.integer().map(String),
);

const fragment = fc.oneof(fc.constantFrom(...FRAGMENTS), fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 6 }), numberish);

type Mutation =
  | { kind: 'delete'; at: number; len: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'number'; index: number; text: string }
  | { kind: 'truncate'; at: number }
  | { kind: 'duplicate'; at: number; len: number }
  | { kind: 'char'; at: number; text: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fragment }),
  { arbitrary: fc.record({ kind: fc.constant('number' as const), index: fc.nat(), text: numberish }), weight: 3 },
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 200 }) }),
  fc.record({ kind: fc.constant('char' as const), at: fc.nat(), text: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) }),
);

function applyMutation(s: string, m: Mutation): string {
  const at = s.length === 0 ? 0 : m.kind === 'number' ? 0 : (m as { at: number }).at % (s.length + 1);
  switch (m.kind) {
    case 'delete': return s.slice(0, at) + s.slice(at + m.len);
    case 'insert': return s.slice(0, at) + m.text + s.slice(at);
    case 'truncate': return s.slice(0, at);
    case 'duplicate': return s.slice(0, at) + s.slice(at, at + m.len) + s.slice(at);
    case 'char': return s.slice(0, at) + m.text + s.slice(at + 1);
    case 'number': {
      // Replace the index-th run of digits (a number in the body) by a hostile spelling.
      const runs = [...s.matchAll(/-?\d+(\.\d+)?/g)];
      if (runs.length === 0) return s + m.text;
      const r = runs[m.index % runs.length]!;
      return s.slice(0, r.index) + m.text + s.slice(r.index + r[0].length);
    }
  }
}

/** A real body with 1–6 textual mutations. */
export function mutatedText(seed: string): fc.Arbitrary<string> {
  return fc.array(mutation, { minLength: 1, maxLength: 6 }).map((ms) => ms.reduce(applyMutation, seed));
}

/** One of several real bodies, mutated; sometimes left intact so the happy path is checked too. */
export function mutatedFrom(seeds: readonly string[]): fc.Arbitrary<string> {
  const seed = fc.constantFrom(...seeds);
  return fc.oneof(
    { arbitrary: seed, weight: 1 },
    { arbitrary: seed.chain(mutatedText), weight: 6 },
    { arbitrary: seed.chain((s) => jsonMutated(s) ?? fc.constant(s)), weight: 3 },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 200 }), weight: 1 },
  );
}

/** Values that break schemas: wrong types, hostile numbers, deep or huge shapes. */
export const evilJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -0, -1, -1e308, 1e308, 2 ** 53 + 1, 0.5, -0.5, '', '-1', 'NaN', 'Infinity', '1e309', {}, [], [[]], { '': null }),
  numberish,
  fc.double(),
  fc.string({ maxLength: 20 }),
  fc.jsonValue({ maxDepth: 3 }),
);

type Path = (string | number)[];

function paths(v: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...prefix, i], out));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...prefix, k], out);
  return out;
}

function setAt(root: unknown, path: Path, value: unknown, remove: boolean): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy;
  for (const p of path.slice(0, -1)) node = node[p] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (remove && !Array.isArray(node)) delete node[last];
  else node[last] = value;
  return copy;
}

/** Structural mutations of a JSON body: a value replaced by an evil one, a key removed, a value wrapped in a list. */
export function jsonMutated(seed: string): fc.Arbitrary<string> | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(seed);
  } catch {
    return undefined;
  }
  const all = paths(doc);
  const edit = fc.record({
    path: fc.constantFrom(...all),
    how: fc.constantFrom('replace', 'replace', 'replace', 'remove', 'wrap', 'string'),
    value: evilJson,
  });
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    let d = doc;
    for (const e of edits) {
      const current = e.path.reduce<unknown>((n, p) => (n as Record<string | number, unknown> | undefined)?.[p], d);
      const v = e.how === 'wrap' ? [current] : e.how === 'string' ? (typeof current === 'number' ? String(current) : JSON.stringify(current) ?? '') : e.value;
      try {
        d = setAt(d, e.path, v, e.how === 'remove');
      } catch {
        // a path removed by an earlier edit
      }
    }
    return JSON.stringify(d);
  });
}

// ---------------------------------------------------------------------------------------------
// Invariants

/** Call a parser: either a result, or the one typed input error (one line); anything else fails the property. */
export function parsedOrInputError<T>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch (err) {
    if (!isInputError(err)) {
      throw new Error(`a ${(err as Error)?.constructor?.name ?? typeof err} escaped instead of an InputError: ${(err as Error)?.stack ?? String(err)}`);
    }
    expect(err.message).not.toMatch(/\n/);
    expect(err.message.length).toBeLessThan(2000);
    return undefined;
  }
}

/** Every number in `v` is finite; under a key in `nonNegative` it is also ≥ 0. Returns the offending path. */
export function insaneNumber(v: unknown, nonNegative: ReadonlySet<string> = new Set(), path = '$'): string | undefined {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return `${path} = ${v}`;
    const key = path.slice(path.lastIndexOf('.') + 1);
    if (nonNegative.has(key) && v < 0) return `${path} = ${v} (must not be negative)`;
    return undefined;
  }
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) {
      const bad = insaneNumber(x, nonNegative, `${path}[${i}]`);
      if (bad) return bad;
    }
  } else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      const bad = insaneNumber(x, nonNegative, `${path}.${k}`);
      if (bad) return bad;
    }
  }
  return undefined;
}

export function expectSaneNumbers(v: unknown, nonNegative: ReadonlySet<string> = new Set()): void {
  const bad = insaneNumber(v, nonNegative);
  expect(bad, 'a number that must never reach a decision').toBeUndefined();
}
