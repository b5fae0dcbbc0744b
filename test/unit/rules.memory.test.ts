import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bytes } from '../../kube/quantity.js';
import { mib, vcores } from '../../yarn/resource.js';
import {
  type AgentRulesState, type ContainerSnapshot, type RulesConfig, type Snapshot,
  decide, initialRulesState, memoryPressure, orderVictims, recordEvictions,
} from '../../agent/rules/index.js';
import { cfg, cid, containerFactory, GiB, ids, NOW, reasons, snapshot } from './rules-fixture.js';

const ctr = containerFactory({ memoryMiB: 4096, vcores: 1, ws: 1, cpuMilli: 500 });

/** A 100 GiB node, `usedGiB` used. CPU idle so only memory rules act. */
const snap = (usedGiB: number, containers: ContainerSnapshot[], state: Partial<AgentRulesState> = {}): Snapshot => snapshot({ usedGiB, containers, state });

const memory = (s: Snapshot, c: RulesConfig = cfg(), now = NOW) => decide(s, c, now, { rules: ['memory'] });
const victims = ids;

// Four workers of 3 GiB, newest first: seq 5 (t4), 4 (t3), 3 (t2), 2 (t1); plus an AM.
const four = () => [
  ctr(1, 1, { ws: 1, startedAt: 0 }),
  ctr(1, 2, { ws: 3, startedAt: 1 }), ctr(1, 3, { ws: 3, startedAt: 2 }),
  ctr(1, 4, { ws: 3, startedAt: 3 }), ctr(1, 5, { ws: 3, startedAt: 4 }),
];

describe('memoryPressure', () => {
  it.each([
    // used GiB, triggered, emergency, release GiB
    [69.99, false, false, 0],
    [70, true, false, 2],
    [75, true, false, 7],
    [89.99, true, false, 21.99],
    [90, true, true, 22],
  ])('used %s GiB of 100 → triggered %s, emergency %s, release %s GiB', (used, trig, emerg, rel) => {
    const p = memoryPressure(snap(used, []), cfg());
    expect(p.triggered).toBe(trig);
    expect(p.emergency).toBe(emerg);
    expect(p.release).toBeGreaterThanOrEqual(Math.round(rel * GiB) - 1);
    expect(p.release).toBeLessThanOrEqual(Math.round(rel * GiB) + 1);
  });

  it('an empty / zero-sized node never triggers', () => {
    const s = snap(0, []);
    s.node.memoryTotal = bytes(0);
    expect(memoryPressure(s, cfg()).triggered).toBe(false);
  });
});

describe('memory eviction', () => {
  it.each<[string, number, ContainerSnapshot[], Record<string, unknown>, string[]]>([
    ['below the threshold: nothing', 69.9, four(), {}, []],
    ['at the threshold, release 2 GiB: the newest 3 GiB worker alone', 70, four(), {}, [cid(1, 5)]],
    ['release 7 GiB stops at the lower percent: exactly three 3 GiB workers', 75, four(), {}, [cid(1, 5), cid(1, 4), cid(1, 3)]],
    ['release 6 GiB exactly: two workers (6 ≥ 6) and not a third', 74, four(), {}, [cid(1, 5), cid(1, 4)]],
    [
      'one huge container covers the release alone',
      80, [ctr(1, 2, { ws: 40, startedAt: 9 }), ctr(1, 3, { ws: 1, startedAt: 1 })], {}, [cid(1, 2)],
    ],
    [
      'largest-memory order picks the huge old one first',
      80, [ctr(1, 2, { ws: 40, startedAt: 1 }), ctr(1, 3, { ws: 1, startedAt: 9 })], { victimOrder: ['largest-memory'] }, [cid(1, 2)],
    ],
    [
      'credits the working set, not the allocation (12 GiB allocated, 1 GiB used each)',
      72, [ctr(1, 2, { ws: 1, startedAt: 3 }), ctr(1, 3, { ws: 1, startedAt: 2 }), ctr(1, 4, { ws: 1, startedAt: 1 })],
      {}, [cid(1, 2), cid(1, 3), cid(1, 4)],
    ],
    [
      'skips containers with a zero working set',
      70, [ctr(1, 2, { ws: 0, startedAt: 9 }), ctr(1, 3, { ws: 5, startedAt: 1 })], {}, [cid(1, 3)],
    ],
    [
      'OPPORTUNISTIC before GUARANTEED even when older',
      70, [ctr(1, 2, { ws: 3, startedAt: 9 }), ctr(1, 3, { ws: 3, startedAt: 1, executionType: 'OPPORTUNISTIC' })], {}, [cid(1, 3)],
    ],
    [
      'threshold / lower from config (80 / 60): release 25 GiB at 85 %',
      85, four(), { memoryEvictThresholdPercent: 80, memoryEvictLowerPercent: 60 },
      [cid(1, 5), cid(1, 4), cid(1, 3), cid(1, 2)],
    ],
  ])('%s', (_n, used, cs, conf, expected) => {
    for (const c of cs) c.allocated = { memoryMiB: mib(12 * 1024), vcores: vcores(1) };
    const d = memory(snap(used, cs), cfg(conf));
    expect(victims(d)).toEqual(expected);
    for (const e of d.evictions) {
      expect(e.reason).toBe('memory');
      expect(e.mode).toBe('graceful');
      expect(e.gracePeriodSeconds).toBe(10);
      expect(e.credit.memory).toBe(cs.find((c) => c.id === e.containerId)!.memoryWorkingSet);
    }
  });

  it('the credited working sets reach the release and the last one was needed', () => {
    const d = memory(snap(75, four()), cfg());
    const sum = d.evictions.reduce((s, e) => s + e.credit.memory, 0);
    const release = memoryPressure(snap(75, []), cfg()).release;
    expect(sum).toBeGreaterThanOrEqual(release);
    expect(sum - d.evictions.at(-1)!.credit.memory).toBeLessThan(release);
    expect(d.evictions.at(-1)!.inputs['credited']).toBe(sum);
    expect(d.evictions[0]!.inputs['release']).toBe(release);
  });

  it('empty node: held no-candidates', () => {
    const d = memory(snap(80, []));
    expect(d.evictions).toEqual([]);
    expect(reasons(d)).toEqual(['memory:no-candidates']);
  });

  it('all-AM node: AMs are protected below the emergency level', () => {
    const d = memory(snap(80, [ctr(1, 1, { ws: 5 }), ctr(2, 1, { ws: 5 })]));
    expect(d.evictions).toEqual([]);
    expect(reasons(d)).toEqual(['memory:application-masters-protected', 'memory:insufficient-candidates']);
  });

  it('all-AM node at the emergency level: AMs go, immediately, newest first', () => {
    const d = memory(snap(91, [ctr(1, 1, { ws: 20, startedAt: 1 }), ctr(2, 1, { ws: 20, startedAt: 2 })]));
    expect(victims(d)).toEqual([cid(2, 1), cid(1, 1)]); // release 23 GiB
    expect(d.evictions.every((e) => e.mode === 'immediate' && e.gracePeriodSeconds === 0)).toBe(true);
  });

  it('AMs come after every worker, and only in emergency', () => {
    const cs = [ctr(1, 1, { ws: 10, startedAt: 9 }), ctr(1, 2, { ws: 2, startedAt: 1 })];
    expect(victims(memory(snap(80, cs)))).toEqual([cid(1, 2)]);
    expect(victims(memory(snap(95, cs)))).toEqual([cid(1, 2), cid(1, 1)]);
    expect(victims(memory(snap(95, cs), cfg({ protectApplicationMasters: true })))).toEqual([cid(1, 2)]);
    expect(victims(memory(snap(80, cs), cfg({ protectApplicationMasters: 'never' })))).toEqual([cid(1, 2), cid(1, 1)]);
  });

  it.each([
    ['3.999 s after the last eviction: held', NOW - 3999, true],
    ['exactly the cool time after: evicts', NOW - 4000, false],
    ['long after: evicts', NOW - 60_000, false],
  ])('cool-down: %s', (_n, last, isHeld) => {
    const d = memory(snap(75, four(), { lastMemoryEvictionAt: last }));
    expect(d.evictions.length === 0).toBe(isHeld);
    expect(reasons(d)).toEqual(isHeld ? ['memory:cooldown'] : []);
  });

  it.each([
    ['nothing recent: whole plan', [], 3, false],
    ['9 in the last minute (limit 10): one victim, held', Array.from({ length: 9 }, (_, i) => NOW - 1000 * i), 1, true],
    ['10 in the last minute: none, held', Array.from({ length: 10 }, (_, i) => NOW - 1000 * i), 0, true],
    ['10 older than a minute: whole plan', Array.from({ length: 10 }, (_, i) => NOW - 60_000 - i), 3, false],
  ])('rate limit: %s', (_n, recent, count, isHeld) => {
    const d = memory(snap(75, four(), { recentEvictions: recent }));
    expect(d.evictions).toHaveLength(count);
    expect(reasons(d).includes('memory:rate-limit')).toBe(isHeld);
    if (count > 0) expect(d.evictions[0]!.containerId).toBe(cid(1, 5));
  });

  it('emergency bypasses the cool-down and the rate limit, and kills immediately', () => {
    const state = { lastMemoryEvictionAt: NOW - 100, recentEvictions: Array.from({ length: 10 }, () => NOW - 10) };
    const cs = [ctr(1, 2, { ws: 15, startedAt: 1 }), ctr(1, 3, { ws: 15, startedAt: 2 })];
    const d = memory(snap(90, cs, state));
    expect(victims(d)).toEqual([cid(1, 3), cid(1, 2)]); // release 22 GiB
    expect(d.evictions.every((e) => e.mode === 'immediate')).toBe(true);
    expect(d.held).toEqual([]);
    // and just below the emergency level the same state holds
    expect(reasons(memory(snap(89, cs, state)))).toEqual(['memory:cooldown']);
  });

  it('graceful evictions in flight count as released and are not picked again', () => {
    const cs = four();
    cs[4] = { ...cs[4]!, evicting: true }; // seq 5, 3 GiB on its way out
    const d = memory(snap(75, cs)); // release 7 → 4 still needed
    expect(victims(d)).toEqual([cid(1, 4), cid(1, 3)]);
    const covered = memory(snap(72, cs)); // release 4 → 1 still needed
    expect(victims(covered)).toEqual([cid(1, 4)]);
    const all = four().map((c) => ({ ...c, evicting: !c.isAM }));
    const d2 = memory(snap(72, all));
    expect(d2.evictions).toEqual([]);
    expect(reasons(d2)).toEqual(['memory:covered']);
  });

  it('emergency escalates graceful evictions in flight before choosing new victims', () => {
    const cs = [ctr(1, 2, { ws: 10, startedAt: 1, evicting: true }), ctr(1, 3, { ws: 10, startedAt: 2 }), ctr(1, 4, { ws: 10, startedAt: 3 })];
    const d = memory(snap(90, cs)); // release 22 GiB: 10 in flight + 2 new
    expect(victims(d)).toEqual([cid(1, 2), cid(1, 4), cid(1, 3)]);
    expect(d.evictions.map((e) => e.escalation)).toEqual([true, false, false]);
    expect(d.evictions.every((e) => e.mode === 'immediate')).toBe(true);
    // escalations do not count again toward the rate limit
    const st = recordEvictions(initialRulesState(), d.evictions, NOW);
    expect(st.recentEvictions).toEqual([NOW, NOW]);
    expect(st.lastMemoryEvictionAt).toBe(NOW);
  });

  it('not enough evictable memory: evicts everything it may and says so', () => {
    const d = memory(snap(80, [ctr(1, 2, { ws: 2 }), ctr(1, 3, { ws: 3 })])); // release 12 GiB
    expect(victims(d).sort()).toEqual([cid(1, 2), cid(1, 3)]);
    expect(reasons(d)).toEqual(['memory:insufficient-candidates']);
  });
});

describe('memory eviction properties', () => {
  const arb = fc.record({
    usedPct: fc.double({ min: 70, max: 89.9, noNaN: true }),
    cs: fc.uniqueArray(
      fc.record({
        app: fc.integer({ min: 1, max: 4 }),
        seq: fc.integer({ min: 1, max: 8 }),
        ws: fc.integer({ min: 0, max: 6 * 1024 }), // MiB
        start: fc.integer({ min: 0, max: 50 }),
        opp: fc.boolean(),
      }),
      { selector: (r) => `${r.app}/${r.seq}`, maxLength: 30 },
    ),
    order: fc.uniqueArray(fc.constantFrom('newest', 'oldest', 'largest-memory', 'largest-cpu', 'app-spread', 'most-failed-app'), { maxLength: 3 }),
  });

  it('credited sum ≥ release when non-AM usage suffices, and the victim prefix is minimal', () => {
    fc.assert(fc.property(arb, ({ usedPct, cs, order }) => {
      const containers = cs.map((r) => ctr(r.app, r.seq, {
        ws: r.ws / 1024, startedAt: r.start, executionType: r.opp ? 'OPPORTUNISTIC' : 'GUARANTEED',
      }));
      const config = cfg({ victimOrder: order, maxEvictionsPerMinute: 1000 });
      const s = snap(usedPct, containers);
      const release = memoryPressure(s, config).release;
      const d = memory(s, config);
      const credited = d.evictions.reduce((a, e) => a + e.credit.memory, 0);
      const nonAM = containers.filter((c) => !c.isAM).reduce((a, c) => a + c.memoryWorkingSet, 0);
      expect(d.evictions.every((e) => !containers.find((c) => c.id === e.containerId)!.isAM)).toBe(true);
      if (nonAM >= release) {
        expect(credited).toBeGreaterThanOrEqual(release);
        expect(credited - d.evictions.at(-1)!.credit.memory).toBeLessThan(release);
        // the victims are exactly the prefix of the order (zero working sets skipped)
        const expected = orderVictims(containers.filter((c) => !c.isAM && c.memoryWorkingSet > 0), config)
          .slice(0, d.evictions.length).map((c) => c.id);
        expect(victims(d)).toEqual(expected);
      } else {
        expect(credited).toBe(nonAM);
      }
    }));
  });
});
