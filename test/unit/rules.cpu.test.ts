import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { milliCores, type MilliCores } from '../../kube/quantity.js';
import {
  type AgentRulesState, type CpuSample, type Snapshot,
  CPU_LIMIT_HARD_MIN_MILLI, cpuSampleOf, cpuSuppress, cpuSuppressPlan, decide, evaluateSatisfaction,
  initialRulesState, pushCpuSample, recordEvictions,
} from '../../agent/rules/index.js';
import { cfg, cid, containerFactory, NOW, snapshot, type SnapshotOptions } from './rules-fixture.js';

const ctr = containerFactory({ memoryMiB: 2048, vcores: 2, ws: 1, cpuMilli: 400 });
const m = (n: number) => milliCores(n);
const snap = (o: SnapshotOptions = {}): Snapshot => snapshot(o);

describe('CPU suppression (8000m node, threshold 65 % = 5200m)', () => {
  it.each<[string, Parameters<typeof snap>[0], Record<string, unknown>, number | undefined]>([
    ['non-YARN 2000m, unlimited → 3200m', { nodeCpu: 3000, yarnCpu: 1000, limit: null }, {}, 3200],
    ['non-YARN is node − YARN, never negative → 5200m', { nodeCpu: 500, yarnCpu: 900, limit: 1000 }, {}, 1800],
    ['floor cpuSuppressMinPercent 50 % raises 200m to 4000m', { nodeCpu: 5000, yarnCpu: 0, limit: null }, { cpuSuppressMinPercent: 50 }, 4000],
    ['hard minimum: target −1800m becomes 1000m', { nodeCpu: 7000, yarnCpu: 0, limit: null }, {}, CPU_LIMIT_HARD_MIN_MILLI],
    ['hard minimum wins over a lower floor', { nodeCpu: 7000, yarnCpu: 0, limit: null }, { cpuSuppressMinPercent: 5 }, 1000],
    ['increase bounded by the step (10 % = 800m): 1000 → 1800', { nodeCpu: 0, limit: 1000 }, {}, 1800],
    ['step from config (25 % = 2000m): 1000 → 3000', { nodeCpu: 0, limit: 1000 }, { cpuSuppressMaxStepPercent: 25 }, 3000],
    ['increase within the step applies fully: 4800 → 5200', { nodeCpu: 0, limit: 4800 }, {}, 5200],
    ['decrease applies at once: 5000 → 1000', { nodeCpu: 7000, limit: 5000 }, {}, 1000],
    ['a limit below the hard minimum jumps to it: 20 → 1000', { nodeCpu: 7000, limit: 20 }, {}, 1000],
    ['…and to the floor, then steps on: 20 → 4000', { nodeCpu: 0, limit: 20 }, { cpuSuppressMinPercent: 50 }, 4000],
    ['no-op: |Δ| 50m < 1 % (80m) → nothing written', { nodeCpu: 2000, yarnCpu: 0, limit: 3250 }, {}, undefined],
    ['|Δ| exactly 1 % (80m) is written', { nodeCpu: 2000, yarnCpu: 0, limit: 3280 }, {}, 3200],
    ['unlimited and target at capacity → nothing', { nodeCpu: 0, limit: null }, { cpuSuppressThresholdPercent: 100 }, undefined],
    ['limit above capacity counts as capacity → nothing', { nodeCpu: 0, limit: 64000 }, { cpuSuppressThresholdPercent: 100 }, undefined],
    ['unlimited → decrease to 5200m at once', { nodeCpu: 0, limit: null }, {}, 5200],
    ['zero capacity → nothing', { cap: 0 }, {}, undefined],
  ])('%s', (_n, s, conf, expected) => {
    const r = cpuSuppress(snap(s), cfg(conf));
    expect(r?.milli).toBe(expected);
    if (r) expect(r.reason).toMatch(/→/);
  });

  it('a 500m node never goes below its capacity as the hard minimum', () => {
    expect(cpuSuppressPlan(snap({ cap: 500, nodeCpu: 500, limit: null }), cfg())?.target).toBe(500);
  });

  it('property: the limit stays in [min(1000, cap), cap], rises at most one step, falls straight to target', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1000, max: 128_000 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }),
      fc.option(fc.integer({ min: 0, max: 200_000 }), { nil: null }), fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 100 }),
      (cap, nodeFrac, yarnFrac, limit, thr, step) => {
        const nodeCpu = Math.floor(cap * nodeFrac);
        const c = cfg({ cpuSuppressThresholdPercent: thr, cpuSuppressMaxStepPercent: step });
        const p = cpuSuppressPlan(snap({ cap, nodeCpu, yarnCpu: Math.floor(nodeCpu * yarnFrac), limit }), c)!;
        expect(p.next).toBeGreaterThanOrEqual(Math.min(1000, cap));
        expect(p.next).toBeLessThanOrEqual(cap);
        if (p.target > p.current) {
          expect(p.next).toBeLessThanOrEqual(Math.max(p.current + Math.floor((cap * step) / 100), Math.min(1000, cap)));
        }
        else expect(p.next).toBe(p.target);
        if (p.write) expect(Math.abs(p.write.milli - p.current) * 100).toBeGreaterThanOrEqual(cap);
      },
    ));
  });
});

// CPU eviction: lower 50, upper 70, window 30 s (≥ 10 samples), usage threshold 90.
const evictCfg = (o: Record<string, unknown> = {}) => cfg({
  cpuEvictBESatisfactionLowerPercent: 50, cpuEvictBESatisfactionUpperPercent: 70, cpuEvictTimeWindowSeconds: 30, ...o,
});
const samples = (n: number, s: { usage: number; limit: number; requested: number }, endAt = NOW): CpuSample[] =>
  Array.from({ length: n }, (_, i) => ({ at: endAt - (n - 1 - i) * 1000, usage: m(s.usage), limit: m(s.limit), requested: m(s.requested) }));
// 4 workers × 2 vcores = 8000m requested, newest = highest seq; plus a 1-vcore AM.
const workers = () => [ctr(1, 1, { v: 1 }), ctr(1, 2), ctr(1, 3), ctr(1, 4), ctr(1, 5)];
const starved = { usage: 1950, limit: 2000, requested: 8000 }; // sat 25 %, busy 97.5 %
const cpuDecide = (window: CpuSample[], state: Partial<AgentRulesState> = {}, conf: Record<string, unknown> = {}, containers = workers()) =>
  decide(snap({ containers, limit: 2000, state: { cpuSatisfactionWindow: window, ...state } }), evictCfg(conf), NOW, { rules: ['cpu-evict'] });
const ids = (d: ReturnType<typeof decide>) => d.evictions.map((e) => e.containerId);
const reasons = (d: ReturnType<typeof decide>) => d.held.map((h) => `${h.rule}:${h.reason}`);

describe('evaluateSatisfaction', () => {
  it.each([
    ['starved and busy: release = 8000 × (0.70 − 0.25) = 3600', starved, 0.25, true, 3600],
    ['starved but idle (50 % of limit): no release', { usage: 1000, limit: 2000, requested: 8000 }, 0.25, false, 0],
    ['limit < 1000m counts as busy whatever the usage', { usage: 0, limit: 800, requested: 8000 }, 0.1, true, 4800],
    ['satisfied (62.5 %): no release', { usage: 5000, limit: 5000, requested: 8000 }, 0.625, true, 0],
    ['exactly at lower (50 %): release 8000 × 0.2', { usage: 4000, limit: 4000, requested: 8000 }, 0.5, true, 1600],
    ['nothing requested: satisfaction ∞, no release', { usage: 4000, limit: 4000, requested: 0 }, Infinity, true, 0],
  ])('%s', (_n, s, sat, busy, release) => {
    const e = evaluateSatisfaction(samples(10, s), evictCfg());
    expect(e.satisfaction).toBeCloseTo(sat, 10);
    expect(e.busy).toBe(busy);
    expect(e.release).toBeCloseTo(release, 6);
  });
});

describe('CPU eviction', () => {
  it('is off while cpuEvictBESatisfactionLowerPercent is unset', () => {
    const d = decide(snap({ containers: workers(), state: { cpuSatisfactionWindow: samples(30, starved) } }), cfg(), NOW, { rules: ['cpu-evict'] });
    expect(d).toEqual({ evictions: [], held: [] });
  });

  it.each([
    [0, false], [9, false], [10, true], [30, true],
  ])('with %i samples in a 30 s window: evicts = %s', (n, evicts) => {
    const d = cpuDecide(samples(n, starved));
    expect(d.evictions.length > 0).toBe(evicts);
    if (!evicts) expect(reasons(d)).toEqual(n === 0 ? [] : ['cpu-evict:window-not-filled']);
  });

  it('samples outside the window do not count', () => {
    const old = samples(20, starved, NOW - 30_000); // all at ≤ now − 30 s
    expect(ids(cpuDecide([...old, ...samples(9, starved)]))).toEqual([]);
    expect(ids(cpuDecide([...old, ...samples(10, starved)]))).toHaveLength(2);
  });

  it('release 3600m: two 2-vcore workers, newest first, crediting their allocation; AM never', () => {
    const d = cpuDecide(samples(10, starved));
    expect(ids(d)).toEqual([cid(1, 5), cid(1, 4)]);
    expect(d.evictions.map((e) => e.credit.cpu)).toEqual([2000, 2000]);
    expect(d.evictions[0]).toMatchObject({ reason: 'cpu', mode: 'graceful', gracePeriodSeconds: 10 });
    expect(d.evictions[0]!.inputs).toMatchObject({ release: 3600, satisfactionPercent: 25, samples: 10 });
  });

  it('only while YARN is busy', () => {
    const d = cpuDecide(samples(10, { usage: 1700, limit: 2000, requested: 8000 })); // 85 % < 90 %
    expect(d.evictions).toEqual([]);
    expect(reasons(d)).toEqual(['cpu-evict:not-busy']);
    expect(ids(cpuDecide(samples(10, { usage: 1700, limit: 2000, requested: 8000 }), {}, { cpuEvictBEUsageThresholdPercent: 80 }))).toHaveLength(2);
  });

  it('rechecks with the latest samples and takes the smaller release', () => {
    // window average: sat (8×2000 + 2×3200)/10/8000 = 28 %; release 8000 × 0.42 = 3360
    // latest two: sat 40 % → release 8000 × 0.30 = 2400 → one 2-vcore worker is not enough, two are
    const w = [...samples(8, starved, NOW - 2000), ...samples(2, { usage: 3100, limit: 3200, requested: 8000 })];
    const d = cpuDecide(w);
    expect(d.evictions[0]!.inputs['release']).toBe(2400);
    expect(ids(d)).toEqual([cid(1, 5), cid(1, 4)]);
    // latest two satisfied: no eviction even though the average is low
    const ok = [...samples(8, starved, NOW - 2000), ...samples(2, { usage: 5000, limit: 5000, requested: 8000 })];
    expect(ids(cpuDecide(ok))).toEqual([]);
  });

  it('honours the 20 s cool-down', () => {
    expect(reasons(cpuDecide(samples(10, starved), { lastCpuEvictionAt: NOW - 19_999 }))).toEqual(['cpu-evict:cooldown']);
    expect(ids(cpuDecide(samples(10, starved), { lastCpuEvictionAt: NOW - 20_000 }))).toHaveLength(2);
  });

  it('credits evictions in flight and containers chosen earlier in the decision', () => {
    const cs = workers();
    cs[4] = { ...cs[4]!, evicting: true }; // 2000m already on its way
    expect(ids(cpuDecide(samples(10, starved), {}, {}, cs))).toEqual([cid(1, 4)]);
  });

  it('rate limit caps the victims', () => {
    const d = cpuDecide(samples(10, starved), { recentEvictions: Array.from({ length: 9 }, () => NOW - 5) });
    expect(ids(d)).toEqual([cid(1, 5)]);
    expect(reasons(d)).toEqual(['cpu-evict:rate-limit']);
  });

  it('all-AM node: held, AMs protected', () => {
    const d = cpuDecide(samples(10, starved), {}, {}, [ctr(1, 1, { v: 4 }), ctr(2, 1, { v: 4 })]);
    expect(d.evictions).toEqual([]);
    expect(reasons(d)).toEqual(['cpu-evict:application-masters-protected', 'cpu-evict:insufficient-candidates']);
  });

  it('end to end through pushCpuSample / cpuSampleOf / recordEvictions', () => {
    const conf = evictCfg();
    let state = initialRulesState();
    const cs = workers(); // 9 vcores requested
    let evictedAt: number | undefined;
    for (let t = 0; t < 40; t++) {
      const now = NOW + t * 1000;
      const s = snap({ containers: cs, limit: 2000, yarnCpu: 1990, state });
      state = pushCpuSample(state, cpuSampleOf(s, now), conf);
      const d = decide({ ...s, state }, conf, now, { rules: ['cpu-evict'] });
      if (d.evictions.length > 0 && evictedAt === undefined) evictedAt = t;
      state = recordEvictions(state, d.evictions, now);
    }
    expect(evictedAt).toBe(9); // the 10th sample fills a third of the 30 s window
    expect(state.cpuSatisfactionWindow.length).toBe(30);
    expect(state.lastCpuEvictionAt).toBe(NOW + 29_000); // again 20 s later
  });
});

describe('cpuSampleOf', () => {
  it('uses the capacity as the limit when unlimited or above it', () => {
    const s = snap({ cap: 8000, yarnCpu: 700, limit: null, containers: workers() });
    expect(cpuSampleOf(s, NOW)).toEqual({ at: NOW, usage: 700, limit: 8000, requested: 9000 });
    expect(cpuSampleOf(snap({ limit: 20_000 }), NOW).limit).toBe(8000 as MilliCores);
    expect(cpuSampleOf(snap({ limit: 3000 }), NOW).limit).toBe(3000 as MilliCores);
  });
});
