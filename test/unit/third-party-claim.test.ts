/**
 * `withYarnClaimRaw` changes only the `hadoop-yarn` entry of thirdPartyAllocations: every other
 * entry, every unknown top-level field, key order, number spelling and whitespace stay exactly as
 * their writer wrote them (a property test on random annotations, plus fixed cases).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseThirdPartyAllocations, withYarnClaimRaw, yarnClaimOf, WireFormatError } from '../../kube/wire.js';
import type { Bytes, MilliCores } from '../../kube/quantity.js';

const claimArb = fc.record({
  cpu: fc.integer({ min: 0, max: 10_000_000 }).map((n) => n as MilliCores),
  memory: fc.integer({ min: 0, max: 2 ** 45 }).map((n) => n as Bytes),
});

const key = fc.string({ minLength: 1, maxLength: 8 });
const quantityArb = fc.oneof(fc.constantFrom('1', '1500m', '2Gi', '10k', '0'), fc.integer({ min: 0, max: 1e6 }));

/** Another writer's entry: fields in any order, extra fields of any JSON. */
const foreignEntry = fc.record({
  name: fc.string({ minLength: 1, maxLength: 12 }).filter((n) => n !== 'hadoop-yarn'),
  priority: fc.option(fc.constantFrom('koord-batch', 'koord-mid', 'koord-prod'), { nil: undefined }),
  resources: fc.option(fc.dictionary(fc.constantFrom('kubernetes.io/batch-cpu', 'kubernetes.io/batch-memory', 'kubernetes.io/mid-cpu', 'x'), quantityArb), { nil: undefined }),
  extra: fc.dictionary(key.filter((k) => !['name', 'priority', 'resources'].includes(k)), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  order: fc.integer({ min: 0, max: 5 }),
}).map(({ name, priority, resources, extra, order }) => {
  const fields: [string, unknown][] = [['name', name]];
  if (priority !== undefined) fields.push(['priority', priority]);
  if (resources !== undefined) fields.push(['resources', resources]);
  // Rotate the known fields: writers other than Go need not keep Go's order.
  const rotated = [...fields.slice(order % fields.length), ...fields.slice(0, order % fields.length)];
  return Object.fromEntries([...rotated, ...Object.entries(extra)]);
});

const yarnEntry = claimArb.map((c) => ({ resources: { 'kubernetes.io/batch-memory': String(c.memory), 'kubernetes.io/batch-cpu': String(c.cpu) }, priority: 'koord-batch', name: 'hadoop-yarn' }));

const ws = fc.constantFrom('', ' ', '\n', '\n  ', '\t');

const annotationArb = fc.record({
  others: fc.array(foreignEntry, { maxLength: 4 }),
  yarn: fc.option(fc.tuple(yarnEntry, fc.nat()), { nil: undefined }),
  top: fc.dictionary(key.filter((k) => k !== 'allocations'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  topFirst: fc.boolean(),
  gaps: fc.array(ws, { minLength: 20, maxLength: 20 }),
}).map(({ others, yarn, top, topFirst, gaps }) => {
  let g = 0;
  const gap = () => gaps[g++ % gaps.length]!;
  const entries: unknown[] = [...others];
  if (yarn) entries.splice(yarn[1] % (entries.length + 1), 0, yarn[0]);
  const allocText = `[${entries.map((e) => `${gap()}${JSON.stringify(e)}${gap()}`).join(',')}]`;
  const members = Object.entries(top).map(([k, v]) => `${gap()}${JSON.stringify(k)}:${JSON.stringify(v)}${gap()}`);
  const alloc = `${gap()}"allocations"${gap()}:${gap()}${allocText}${gap()}`;
  const all = topFirst ? [...members, alloc] : [alloc, ...members];
  return { raw: `${gap()}{${all.join(',')}}${gap()}`, others, top };
});

describe('withYarnClaimRaw', () => {
  it('changes only the hadoop-yarn entry (property)', () => {
    fc.assert(fc.property(annotationArb, fc.option(claimArb, { nil: null }), ({ raw, others, top }, claim) => {
      const out = withYarnClaimRaw(raw, claim);
      const entries = parseThirdPartyAllocations(out);
      const got = yarnClaimOf(entries);
      expect(got && { cpu: got.cpu + 0, memory: got.memory + 0 }).toEqual(claim ?? undefined);
      // Other entries byte for byte, in their order.
      let from = 0;
      for (const e of others) {
        const text = JSON.stringify(e);
        const at = out.indexOf(text, from);
        expect(at, `entry ${text} kept in ${out}`).toBeGreaterThanOrEqual(0);
        from = at + text.length;
      }
      // Unknown top-level fields byte for byte.
      for (const [k, v] of Object.entries(top)) expect(out).toContain(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
      expect(Object.keys(JSON.parse(out) as object).filter((k) => k !== 'allocations')).toEqual(Object.keys(top));
      // Idempotent: writing the same claim again changes nothing.
      expect(withYarnClaimRaw(out, claim)).toBe(out);
    }), { numRuns: 300 });
  });

  it('keeps number spelling, key order and whitespace of other entries', () => {
    const raw = '{ "spec" : {"v":1.0}, "allocations": [ {"resources":{"kubernetes.io/batch-cpu":1e3},"name":"other","priority":"koord-batch"} ,\n {"name":"hadoop-yarn","priority":"koord-batch","resources":{"kubernetes.io/batch-cpu":"1","kubernetes.io/batch-memory":"1Gi"}} ] }';
    const out = withYarnClaimRaw(raw, { cpu: 2000 as MilliCores, memory: 2 ** 31 as Bytes });
    expect(out).toBe('{ "spec" : {"v":1.0}, "allocations": [ {"resources":{"kubernetes.io/batch-cpu":1e3},"name":"other","priority":"koord-batch"} ,\n {"name":"hadoop-yarn","priority":"koord-batch","resources":{"kubernetes.io/batch-cpu":"2k","kubernetes.io/batch-memory":"2Gi"}} ] }');
    const cleared = withYarnClaimRaw(raw, null);
    expect(cleared).toBe('{ "spec" : {"v":1.0}, "allocations": [ {"resources":{"kubernetes.io/batch-cpu":1e3},"name":"other","priority":"koord-batch"} ] }');
    expect(withYarnClaimRaw('{"allocations":null,"x":1}', { cpu: 1000 as MilliCores, memory: 0 as Bytes })).toBe('{"allocations":[{"name":"hadoop-yarn","priority":"koord-batch","resources":{"kubernetes.io/batch-cpu":"1k","kubernetes.io/batch-memory":"0"}}],"x":1}');
    expect(withYarnClaimRaw('{"x":[1]}', { cpu: 1000 as MilliCores, memory: 0 as Bytes })).toBe('{"x":[1],"allocations":[{"name":"hadoop-yarn","priority":"koord-batch","resources":{"kubernetes.io/batch-cpu":"1k","kubernetes.io/batch-memory":"0"}}]}');
    expect(withYarnClaimRaw(undefined, null)).toBe('{"allocations":[]}');
  });

  it('reads what Go decodes as empty (null, {}, {"allocations":null}) as no entries, and writes the claim over it', () => {
    const claim = { cpu: 1000 as MilliCores, memory: 0 as Bytes };
    const only = '{"allocations":[{"name":"hadoop-yarn","priority":"koord-batch","resources":{"kubernetes.io/batch-cpu":"1k","kubernetes.io/batch-memory":"0"}}]}';
    for (const empty of ['null', ' null\n', '{}', '{"allocations":null}', '{"allocations":[]}']) {
      expect(parseThirdPartyAllocations(empty), empty).toEqual([]);
      expect(JSON.parse(withYarnClaimRaw(empty, claim)), empty).toEqual(JSON.parse(only));
    }
    // Nothing to remove from nothing: the value is left as it is (no write).
    expect(withYarnClaimRaw('null', null)).toBe('null');
  });

  it('refuses to rewrite what it cannot read', () => {
    expect(() => withYarnClaimRaw('{"allocations": "not a list"', null)).toThrow(WireFormatError);
    expect(() => withYarnClaimRaw('{"allocations": [{"priority":"x"}]}', null)).toThrow(WireFormatError);
  });
});
