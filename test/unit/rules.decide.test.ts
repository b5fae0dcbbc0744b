import { describe, expect, it } from 'vitest';
import { bytes, milliCores } from '../../kube/quantity.js';
import {
  type AgentRulesState, type CpuSample, type Snapshot,
  ALL_RULES, DEFAULT_RULES_CONFIG, RULES, RulesConfigError, decide, evictionBudget, initialRulesState, parseRulesConfig,
  psiEviction, pushCpuSample, recordCpuLimit, recordEvictions,
} from '../../agent/rules/index.js';
import { cid, containerFactory, ids, NOW, reasons, snapshot, type SnapshotOptions } from './rules-fixture.js';

const ctr = containerFactory({ memoryMiB: 4096, vcores: 2, ws: 1, cpuMilli: 300 });
const snap = (o: SnapshotOptions = {}): Snapshot => snapshot(o);

describe('config', () => {
  it('has koordlet defaults and Loom defaults', () => {
    expect(DEFAULT_RULES_CONFIG).toEqual({
      memoryEvictThresholdPercent: 70,
      memoryEvictLowerPercent: 68,
      memoryEvictCoolTimeSeconds: 4,
      memoryEmergencyPercent: 90,
      cpuSuppressThresholdPercent: 65,
      cpuSuppressMaxStepPercent: 10,
      cpuEvictBEUsageThresholdPercent: 90,
      cpuEvictTimeWindowSeconds: 30,
      cpuEvictCoolTimeSeconds: 20,
      psiVictimOrder: ['largest-memory', 'newest'],
      victimOrder: ['newest'],
      maxEvictionsPerMinute: 10,
      gracePeriodSeconds: 10,
      protectApplicationMasters: 'except-emergency',
    });
  });

  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ['lower follows the threshold', { memoryEvictThresholdPercent: 80 }, { memoryEvictLowerPercent: 78, memoryEmergencyPercent: 90 }],
    ['emergency stays above a high threshold', { memoryEvictThresholdPercent: 88 }, { memoryEmergencyPercent: 93 }],
    ['emergency capped at 100', { memoryEvictThresholdPercent: 98 }, { memoryEmergencyPercent: 100 }],
    ['numeric strings (env vars)', { memoryEvictThresholdPercent: '75', maxEvictionsPerMinute: '3' }, { memoryEvictThresholdPercent: 75, maxEvictionsPerMinute: 3 }],
    ['comma-separated victim order', { victimOrder: 'largest-memory, newest' }, { victimOrder: ['largest-memory', 'newest'] }],
    ['protectApplicationMasters: true', { protectApplicationMasters: true }, { protectApplicationMasters: 'always' }],
    ['protectApplicationMasters: false', { protectApplicationMasters: false }, { protectApplicationMasters: 'never' }],
    ['CPU eviction bounds', { cpuEvictBESatisfactionLowerPercent: 60, cpuEvictBESatisfactionUpperPercent: 60 }, { cpuEvictBESatisfactionLowerPercent: 60 }],
  ])('accepts: %s', (_n, input, expected) => {
    expect(parseRulesConfig(input)).toMatchObject(expected);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['lower = threshold', { memoryEvictThresholdPercent: 70, memoryEvictLowerPercent: 70 }, /memoryEvictLowerPercent/],
    ['emergency below threshold', { memoryEmergencyPercent: 60 }, /memoryEmergencyPercent/],
    ['satisfaction lower > 60', { cpuEvictBESatisfactionLowerPercent: 61, cpuEvictBESatisfactionUpperPercent: 80 }, /cpuEvictBESatisfactionLowerPercent/],
    ['satisfaction lower 0', { cpuEvictBESatisfactionLowerPercent: 0, cpuEvictBESatisfactionUpperPercent: 80 }, /cpuEvictBESatisfactionLowerPercent/],
    ['upper missing', { cpuEvictBESatisfactionLowerPercent: 50 }, /\[cpuEvictBESatisfactionUpperPercent\]: is required/],
    ['upper < lower', { cpuEvictBESatisfactionLowerPercent: 50, cpuEvictBESatisfactionUpperPercent: 40 }, /cpuEvictBESatisfactionUpperPercent/],
    ['upper 100', { cpuEvictBESatisfactionLowerPercent: 50, cpuEvictBESatisfactionUpperPercent: 100 }, /cpuEvictBESatisfactionUpperPercent/],
    ['unknown victim key', { victimOrder: ['biggest'] }, /victimOrder/],
    ['repeated victim key', { victimOrder: ['newest', 'newest'] }, /victimOrder/],
    ['threshold > 100', { cpuSuppressThresholdPercent: 101 }, /cpuSuppressThresholdPercent/],
    ['step < 1 %', { cpuSuppressMaxStepPercent: 0.5 }, /cpuSuppressMaxStepPercent/],
    ['not a number', { gracePeriodSeconds: 'soon' }, /gracePeriodSeconds/],
  ])('rejects: %s', (_n, input, message) => {
    expect(() => parseRulesConfig(input)).toThrow(RulesConfigError);
    expect(() => parseRulesConfig(input)).toThrow(message);
  });
});

describe('PSI pressure', () => {
  const conf = parseRulesConfig({ psiEvictThreshold: 20 });
  const cs = () => [ctr(1, 1, { ws: 9 }), ctr(1, 2, { ws: 2, startedAt: 9 }), ctr(1, 3, { ws: 6, startedAt: 1 }), ctr(1, 4, { ws: 6, startedAt: 2 })];
  const psi = (s: Snapshot, c = conf) => decide(s, c, NOW, { rules: ['psi'] });

  it('is off by default', () => {
    expect(psi(snap({ containers: cs(), yarnPsi: 90 }), DEFAULT_RULES_CONFIG)).toEqual({ evictions: [], held: [] });
  });

  it.each<[string, Parameters<typeof snap>[0], string[]]>([
    ['below the threshold: nothing', { yarnPsi: 19.9, nodePsi: 5 }, []],
    ['YARN parent full avg10 ≥ threshold: the largest worker, newest on a tie', { yarnPsi: 20 }, [cid(1, 4)]],
    ['node full avg10 ≥ threshold', { nodePsi: 35 }, [cid(1, 4)]],
  ])('%s', (_n, o, expected) => {
    const d = psi(snap({ containers: cs(), ...o }));
    expect(ids(d)).toEqual(expected);
    for (const e of d.evictions) expect(e).toMatchObject({ reason: 'psi', mode: 'graceful' });
  });

  it('names its source', () => {
    expect(psi(snap({ containers: cs(), nodePsi: 35 })).evictions[0]!.inputs).toMatchObject({ psiSource: 'node', memoryFullAvg10: 35 });
  });

  it.each([
    ['9.9 s after a memory eviction (avg10 still stale): held', NOW - 9_900, ['psi:cooldown']],
    ['10 s after: evicts', NOW - 10_000, []],
  ])('cool-down: %s', (_n, last, held) => {
    const d = psi(snap({ containers: cs(), yarnPsi: 50, state: { lastMemoryEvictionAt: last } }));
    expect(reasons(d)).toEqual(held);
    expect(d.evictions.length).toBe(held.length ? 0 : 1);
  });

  it('a longer memory cool-down applies too', () => {
    const c = parseRulesConfig({ psiEvictThreshold: 20, memoryEvictCoolTimeSeconds: 30 });
    expect(reasons(psi(snap({ containers: cs(), yarnPsi: 50, state: { lastMemoryEvictionAt: NOW - 20_000 } }), c))).toEqual(['psi:cooldown']);
  });

  it('held while an eviction is in flight, at the rate limit, or with only AMs', () => {
    const inflight = cs().map((c, i) => (i === 1 ? { ...c, evicting: true } : c));
    expect(reasons(psi(snap({ containers: inflight, yarnPsi: 50 })))).toEqual(['psi:covered']);
    const full = { recentEvictions: Array.from({ length: 10 }, () => NOW - 1) };
    expect(reasons(psi(snap({ containers: cs(), yarnPsi: 50, state: full })))).toEqual(['psi:rate-limit']);
    expect(reasons(psi(snap({ containers: [ctr(1, 1)], yarnPsi: 50 })))).toEqual(['psi:application-masters-protected']);
    expect(reasons(psi(snap({ containers: [], yarnPsi: 50 })))).toEqual(['psi:no-candidates']);
  });

  it('psiEviction is usable alone', () => {
    const r = psiEviction(snap({ containers: cs(), yarnPsi: 50 }), conf, NOW, { budget: 1, chosen: new Set([cid(1, 4)]) });
    expect(ids(r)).toEqual([cid(1, 3)]);
  });
});

describe('decide', () => {
  const conf = parseRulesConfig({
    psiEvictThreshold: 10,
    cpuEvictBESatisfactionLowerPercent: 50, cpuEvictBESatisfactionUpperPercent: 70, cpuEvictTimeWindowSeconds: 3,
  });
  const starved: CpuSample[] = [0, 1, 2].map((i) => ({ at: NOW - i * 1000, usage: milliCores(1990), limit: milliCores(2000), requested: milliCores(8000) }));

  it('a quiet node: nothing to do', () => {
    const d = decide(snap({ containers: [ctr(1, 2)], nodeCpu: 1000, yarnCpu: 500, limit: 4750 }), conf, NOW); // target 4700, |Δ| < 80m
    expect(d).toEqual({ evictions: [], held: [] });
  });

  it('composes memory, PSI, CPU suppression and CPU eviction without choosing a container twice', () => {
    const cs = [ctr(1, 1, { v: 1 }), ctr(1, 2, { ws: 3, startedAt: 4 }), ctr(1, 3, { ws: 3, startedAt: 3 }), ctr(1, 4, { ws: 3, startedAt: 2 }), ctr(1, 5, { ws: 3, startedAt: 1 })];
    const d = decide(snap({ usedGiB: 71, containers: cs, nodeCpu: 4000, yarnCpu: 1990, limit: 2000, yarnPsi: 50, state: { cpuSatisfactionWindow: starved } }), conf, NOW);
    // memory: release 3 GiB → the newest worker (seq 2). PSI: covered by memory.
    // CPU: release 8000 × (0.70 − 0.25) = 3600m; seq 2 already credits 2000m → one more (seq 3).
    expect(d.evictions.map((e) => `${e.reason}:${e.containerId}`)).toEqual([`memory:${cid(1, 2)}`, `cpu:${cid(1, 3)}`]);
    expect(reasons(d)).toEqual(['psi:covered']);
    // CPU: 65 % of 8000 − (4000 − 1990) = 3190m, up from 2000 by at most 800m
    expect(d.cpuLimit?.milli).toBe(2800);
  });

  it('the rate-limit budget is shared across rules', () => {
    const cs = [ctr(1, 2, { ws: 3, startedAt: 4 }), ctr(1, 3, { ws: 3, startedAt: 3 }), ctr(1, 4, { ws: 3, startedAt: 2 })];
    const state = { cpuSatisfactionWindow: starved, recentEvictions: Array.from({ length: 9 }, () => NOW - 1) };
    const d = decide(snap({ usedGiB: 71, containers: cs, limit: 2000, yarnCpu: 1990, state }), conf, NOW);
    expect(ids(d)).toEqual([cid(1, 2)]);
    expect(reasons(d)).toContain('cpu-evict:rate-limit');
  });

  it('the fast watch runs only the rules it asks for', () => {
    const s = snap({ usedGiB: 71, containers: [ctr(1, 2, { ws: 5 })], nodeCpu: 7000, limit: null, state: { cpuSatisfactionWindow: starved } });
    const d = decide(s, conf, NOW, { rules: ['memory'] });
    expect(ids(d)).toEqual([cid(1, 2)]);
    expect(d.cpuLimit).toBeUndefined();
    expect(decide(s, conf, NOW, { rules: ['cpu-suppress'] })).toEqual({ evictions: [], held: [], cpuLimit: expect.objectContaining({ milli: 1000 }) });
  });

  it('is pure: same inputs, same output, inputs untouched', () => {
    const s = snap({ usedGiB: 80, containers: [ctr(1, 2, { ws: 5 }), ctr(1, 3, { ws: 5 })], nodeCpu: 3000 });
    const before = structuredClone(s);
    expect(decide(s, conf, NOW)).toEqual(decide(s, conf, NOW));
    expect(s).toEqual(before);
  });
});

describe('state helpers', () => {
  it('pushCpuSample keeps only the window', () => {
    const c = parseRulesConfig({ cpuEvictTimeWindowSeconds: 3 });
    let st = initialRulesState();
    for (let t = 0; t < 6; t++) st = pushCpuSample(st, { at: t * 1000, usage: milliCores(1), limit: milliCores(1), requested: milliCores(1) }, c);
    expect(st.cpuSatisfactionWindow.map((s) => s.at)).toEqual([3000, 4000, 5000]);
  });

  it('recordEvictions feeds the rate limit and the cool-downs; recordCpuLimit the limit', () => {
    let st: AgentRulesState = { ...initialRulesState(), recentEvictions: [NOW - 70_000, NOW - 30_000] };
    const ev = (reason: 'memory' | 'cpu' | 'psi' | 'api') => ({
      containerId: cid(1, 2), reason, mode: 'graceful' as const, gracePeriodSeconds: 10,
      credit: { memory: bytes(0), cpu: milliCores(0) }, escalation: false, inputs: {},
    });
    st = recordEvictions(st, [ev('cpu'), ev('api')], NOW);
    expect(st.recentEvictions).toEqual([NOW - 30_000, NOW, NOW]);
    expect(st.lastCpuEvictionAt).toBe(NOW);
    expect(st.lastMemoryEvictionAt).toBeUndefined();
    expect(evictionBudget(st, DEFAULT_RULES_CONFIG, NOW)).toBe(7);
    expect(evictionBudget(st, DEFAULT_RULES_CONFIG, NOW + 30_000)).toBe(8);
    st = recordEvictions(st, [ev('psi')], NOW + 1);
    expect(st.lastMemoryEvictionAt).toBe(NOW + 1);
    expect(recordCpuLimit(st, { milli: milliCores(2500), reason: 'x' }).currentCpuLimit).toBe(2500);
  });
});

describe('the rule registry', () => {
  it('every rule is behind one interface, registered once, in decide\'s order; an off rule is never asked', () => {
    expect(RULES.map((r) => r.name)).toEqual(['memory', 'psi', 'cpu-suppress', 'cpu-evict']);
    expect(ALL_RULES).toEqual(RULES.map((r) => r.name));
    const off = parseRulesConfig({});
    expect(RULES.filter((r) => r.enabled(off)).map((r) => r.name)).toEqual(['memory', 'cpu-suppress']);
    const on = parseRulesConfig({ psiEvictThreshold: 20, cpuEvictBESatisfactionLowerPercent: 30, cpuEvictBESatisfactionUpperPercent: 50 });
    expect(RULES.filter((r) => r.enabled(on)).map((r) => r.name)).toEqual(['memory', 'psi', 'cpu-suppress', 'cpu-evict']);
  });

  it('a rule sees what earlier rules decided: PSI holds while memory evicts in the same decision', () => {
    const s = snap({ usedGiB: 80, yarnPsi: 50, containers: [ctr(1, 2, { ws: 20 }), ctr(1, 3, { ws: 20 })] });
    const c = parseRulesConfig({ psiEvictThreshold: 20 });
    const psi = RULES.find((r) => r.name === 'psi')!;
    const memoryEvictions = decide(s, c, NOW, { rules: ['memory'] }).evictions;
    expect(memoryEvictions.length).toBeGreaterThan(0);
    const held = psi.decide({ snapshot: s, config: c, now: NOW, ctx: { budget: 10, chosen: new Set() }, decided: memoryEvictions });
    expect(held.evictions).toEqual([]);
    expect(held.held?.[0]?.reason).toBe('covered');
  });
});
