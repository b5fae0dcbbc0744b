import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { orderVictims, VICTIM_KEYS, type ContainerSnapshot, type VictimKey } from '../../agent/rules/index.js';
import { cid, containerFactory } from './rules-fixture.js';

const ctr = containerFactory({ memoryMiB: 1024, vcores: 1, ws: 1, cpuMilli: 500 });
const ids = (cs: readonly ContainerSnapshot[]) => cs.map((c) => c.id);
const order = (cs: ContainerSnapshot[], victimOrder: VictimKey[] = ['newest']) => ids(orderVictims(cs, { victimOrder }));

describe('orderVictims', () => {
  it('returns [] for no containers', () => {
    expect(orderVictims([], { victimOrder: ['newest'] })).toEqual([]);
  });

  it('puts ApplicationMasters last and OPPORTUNISTIC before GUARANTEED', () => {
    const am = ctr(9, 1, { startedAt: 9000 }); // newest of all, still last
    const g = ctr(1, 2, { startedAt: 100 });
    const o = ctr(1, 3, { startedAt: 50, executionType: 'OPPORTUNISTIC' });
    const u = ctr(1, 4, { startedAt: 200, executionType: undefined }); // undefined = GUARANTEED
    expect(order([am, g, o, u])).toEqual([o.id, u.id, g.id, am.id]);
  });

  it('orders AMs among themselves by the same chain', () => {
    const a1 = ctr(1, 1, { startedAt: 10 });
    const a2 = ctr(2, 1, { startedAt: 20 });
    expect(order([a1, a2])).toEqual([a2.id, a1.id]);
    expect(order([a1, a2], ['oldest'])).toEqual([a1.id, a2.id]);
  });

  it.each<[string, VictimKey[], ContainerSnapshot[], string[]]>([
    [
      'newest: latest startedAt first',
      ['newest'],
      [ctr(1, 2, { startedAt: 300 }), ctr(1, 3, { startedAt: 100 }), ctr(1, 4, { startedAt: 200 })],
      [cid(1, 2), cid(1, 4), cid(1, 3)],
    ],
    [
      'newest: equal startedAt falls back to container id (higher = newer, later app first)',
      ['newest'],
      [ctr(1, 5, { startedAt: 100 }), ctr(2, 2, { startedAt: 100 }), ctr(1, 9, { startedAt: 100 })],
      [cid(2, 2), cid(1, 9), cid(1, 5)],
    ],
    [
      'newest: no startedAt at all is container id order (numeric, not string)',
      ['newest'],
      [ctr(1, 9), ctr(1, 10), ctr(1, 1000000)],
      [cid(1, 1000000), cid(1, 10), cid(1, 9)],
    ],
    [
      'newest: a missing startedAt counts as older than any known one',
      ['newest'],
      [ctr(1, 9), ctr(1, 2, { startedAt: 5 })],
      [cid(1, 2), cid(1, 9)],
    ],
    [
      'oldest: exact reverse of newest',
      ['oldest'],
      [ctr(1, 2, { startedAt: 300 }), ctr(1, 3, { startedAt: 100 }), ctr(1, 4), ctr(1, 5, { startedAt: 100 })],
      [cid(1, 4), cid(1, 3), cid(1, 5), cid(1, 2)],
    ],
    [
      'largest-memory, ties to the next key (oldest)',
      ['largest-memory', 'oldest'],
      [ctr(1, 2, { ws: 2, startedAt: 2 }), ctr(1, 3, { ws: 8, startedAt: 3 }), ctr(1, 4, { ws: 2, startedAt: 1 })],
      [cid(1, 3), cid(1, 4), cid(1, 2)],
    ],
    [
      'largest-memory, ties with no next key go to container id descending',
      ['largest-memory'],
      [ctr(1, 2, { ws: 2, startedAt: 9 }), ctr(1, 3, { ws: 2, startedAt: 1 }), ctr(1, 4, { ws: 1 })],
      [cid(1, 3), cid(1, 2), cid(1, 4)],
    ],
    [
      'largest-cpu',
      ['largest-cpu'],
      [ctr(1, 2, { cpu: 100 }), ctr(1, 3, { cpu: 3000 }), ctr(1, 4, { cpu: 900 })],
      [cid(1, 3), cid(1, 4), cid(1, 2)],
    ],
    [
      'most-failed-app, unknown failures count as 0, ties to newest',
      ['most-failed-app', 'newest'],
      [ctr(1, 2, { appFailures: 0 }), ctr(2, 2, { appFailures: 3 }), ctr(3, 2), ctr(2, 3, { appFailures: 3 })],
      [cid(2, 3), cid(2, 2), cid(3, 2), cid(1, 2)],
    ],
  ])('%s', (_name, keys, cs, expected) => {
    expect(order(cs, keys)).toEqual(expected);
    expect(order([...cs].reverse(), keys)).toEqual(expected);
  });

  it('app-spread: takes from the biggest app, and rotates as counts fall', () => {
    // app 1: 3 containers, app 2: 2 containers (+ its AM), app 3: 1 container.
    const cs = [
      ctr(1, 2, { startedAt: 1 }), ctr(1, 3, { startedAt: 2 }), ctr(1, 4, { startedAt: 3 }),
      ctr(2, 1, { startedAt: 0 }), ctr(2, 2, { startedAt: 4 }), ctr(2, 3, { startedAt: 5 }),
      ctr(3, 2, { startedAt: 6 }),
    ];
    // counts: app1 3, app2 3 (AM counts toward its app), app3 1.
    // step 1: tie 3/3 → newest → app2 seq3 (t5). app2 → 2.
    // step 2: app1 3 → newest app1 = seq4 (t3). app1 → 2.
    // step 3: app1 2, app2 2 → newest = app2 seq2 (t4). app2 → 1.
    // step 4: app1 2 → app1 seq3 (t2). app1 → 1.
    // step 5: app1 1, app3 1 (app2 only its AM, ranked last) → newest = app3 (t6).
    // step 6: app1 seq2. step 7: the AM.
    expect(order(cs, ['app-spread', 'newest'])).toEqual([
      cid(2, 3), cid(1, 4), cid(2, 2), cid(1, 3), cid(3, 2), cid(1, 2), cid(2, 1),
    ]);
  });

  it('an empty chain orders by container id descending', () => {
    expect(order([ctr(1, 2), ctr(3, 2), ctr(2, 2)], [])).toEqual([cid(3, 2), cid(2, 2), cid(1, 2)]);
  });
});

const arbContainer = fc
  .record({
    app: fc.integer({ min: 1, max: 5 }),
    seq: fc.integer({ min: 1, max: 6 }),
    opp: fc.boolean(),
    ws: fc.integer({ min: 0, max: 8 }),
    cpu: fc.integer({ min: 0, max: 4000 }),
    startedAt: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
    failures: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
  })
  .map((r) => ctr(r.app, r.seq, {
    ws: r.ws, cpu: r.cpu, startedAt: r.startedAt, appFailures: r.failures,
    executionType: r.opp ? 'OPPORTUNISTIC' : 'GUARANTEED',
  }));
const arbContainers = fc.uniqueArray(arbContainer, { selector: (c) => c.id, maxLength: 25 });
const arbKeys = fc.uniqueArray(fc.constantFrom(...VICTIM_KEYS), { maxLength: VICTIM_KEYS.length });

describe('orderVictims properties', () => {
  it('is a permutation, AMs last, OPPORTUNISTIC non-AMs before GUARANTEED ones', () => {
    fc.assert(fc.property(arbContainers, arbKeys, (cs, keys) => {
      const out = orderVictims(cs, { victimOrder: keys });
      expect([...ids(out)].sort()).toEqual([...ids(cs)].sort());
      const firstAM = out.findIndex((c) => c.isAM);
      if (firstAM >= 0) expect(out.slice(firstAM).every((c) => c.isAM)).toBe(true);
      const nonAM = out.filter((c) => !c.isAM);
      const firstG = nonAM.findIndex((c) => c.executionType !== 'OPPORTUNISTIC');
      if (firstG >= 0) expect(nonAM.slice(firstG).every((c) => c.executionType !== 'OPPORTUNISTIC')).toBe(true);
    }));
  });

  it('does not depend on the input order', () => {
    fc.assert(fc.property(arbContainers, arbKeys, fc.infiniteStream(fc.nat()), (cs, keys, rnd) => {
      const shuffled = [...cs];
      const it = rnd[Symbol.iterator]();
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = (it.next().value as number) % (i + 1);
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      expect(ids(orderVictims(shuffled, { victimOrder: keys }))).toEqual(ids(orderVictims(cs, { victimOrder: keys })));
    }));
  });

  it('with a single sort key, non-AM GUARANTEED containers are sorted by it', () => {
    fc.assert(fc.property(arbContainers, (cs) => {
      const g = orderVictims(cs, { victimOrder: ['largest-memory'] }).filter((c) => !c.isAM && c.executionType === 'GUARANTEED');
      for (let i = 1; i < g.length; i++) expect(g[i - 1]!.memoryWorkingSet).toBeGreaterThanOrEqual(g[i]!.memoryWorkingSet);
    }));
  });
});
