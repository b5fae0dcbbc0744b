import { describe, expect, it } from 'vitest';
import { bytes, milliCores } from '../../kube/quantity.js';
import type { BatchResources } from '../../kube/wire.js';
import { mib, vcores, type YarnResource } from '../../yarn/resource.js';
import {
  DEFAULT_LEDGER_CONFIG, type LedgerConfig, type LedgerDecision, type NodeSnapshot,
  decideNode, doubleBooked, validateLedgerConfig,
} from '../../operator/ledger/index.js';

const Mi = 2 ** 20;
const Gi = 2 ** 30;
const NOW = 1_700_000_000_000;
const b = (cpu: number, memory: number): BatchResources => ({ cpu: milliCores(cpu), memory: bytes(memory) });
const y = (v: number, m: number): YarnResource => ({ vcores: vcores(v), memoryMiB: mib(m) });

/** No hysteresis, no interval: the figures are the math alone. */
const MATH_ONLY: LedgerConfig = { ...DEFAULT_LEDGER_CONFIG, hysteresis: { cpuMilli: 0, memoryBytes: 0, percent: 0 }, growIntervalMs: 0 };

function snapshot(p: {
  O: BatchResources; K?: BatchResources; used?: YarnResource; total?: YarnResource; state?: string;
  lastDesired?: YarnResource; claim?: BatchResources; lastGrowAt?: number;
}): NodeSnapshot {
  return {
    origin: { state: 'ok', value: p.O, source: 'annotation' },
    k8sRequested: p.K ?? b(0, 0),
    nodeManager: { state: 'running', clusterId: 'c1', nodeId: 'nm-0:8041' },
    rm: { status: 'ok', node: { state: p.state ?? 'RUNNING', total: p.total ?? p.lastDesired ?? y(0, 0), used: p.used ?? y(0, 0) } },
    current: {
      ...(p.lastDesired ? { lastDesired: p.lastDesired } : {}),
      ...(p.claim ? { claim: p.claim } : {}),
      ...(p.lastGrowAt !== undefined ? { lastGrowAt: p.lastGrowAt } : {}),
    },
  };
}

const kinds = (d: LedgerDecision): string[] => d.actions.map((a) => a.kind);
const codes = (d: LedgerDecision): string[] => d.reasons.map((r) => (r.resource ? `${r.code}:${r.resource}` : r.code));

// The sample node of the Koordinator docs (reference/koordinator.md §2.2/§2.5).
const SAMPLE_O = b(60646, 245976973438);
const SAMPLE_K = b(10000, 10 * Gi);
const SAMPLE_USED = y(20, 40960);

describe('ledger math, worked numbers', () => {
  it('partitioned, s = 0.5: capacity = U + s·F, claim = capacity', () => {
    const d = decideNode(snapshot({ O: SAMPLE_O, K: SAMPLE_K, used: SAMPLE_USED }), MATH_ONLY, NOW);
    const f = d.figures!;
    // CPU: U = 20000, F = 60646 − 10000 − 20000 = 30646, cap = 20000 + 15323 = 35323 → 35 vcores.
    expect(f.yarnUsed).toEqual(b(20000, 40960 * Mi));
    expect(f.free).toEqual({ cpu: 30646, memory: 192289882238 });
    expect(f.freeBeforeMargin).toEqual(f.free);
    expect(f.margin).toEqual(b(0, 0));
    // Memory: cap = 42949672960 + floor(192289882238 / 2) = 139094614079 B → 132650 MiB.
    expect(f.desired).toEqual(y(35, 132650));
    expect(f.applied).toEqual(y(35, 132650));
    expect(f.claim).toEqual(b(35000, 132650 * Mi));
    expect(f.claim.memory).toBe(139093606400);
  });

  it('shared: capacity = O − K, claim = U', () => {
    const d = decideNode(snapshot({ O: SAMPLE_O, K: SAMPLE_K, used: SAMPLE_USED }), { ...MATH_ONLY, policy: 'shared' }, NOW);
    // CPU 50646 → 50 vcores; memory 235239555198 B → 224341 MiB.
    expect(d.figures!.desired).toEqual(y(50, 224341));
    expect(d.figures!.claim).toEqual(b(20000, 40960 * Mi));
    expect(d.figures!.yarnHold).toEqual(SAMPLE_USED);
  });

  it('rounding: 60646 milli → 60 vcores, 245976973438 B → 234581 MiB (never up, unlike Koordinator)', () => {
    const d = decideNode(snapshot({ O: SAMPLE_O }), { ...MATH_ONLY, policy: 'shared' }, NOW);
    expect(d.figures!.desired).toEqual(y(60, 234581));
    expect(d.figures!.claim).toEqual(b(0, 0));
    const p = decideNode(snapshot({ O: SAMPLE_O }), { ...MATH_ONLY, headroomShare: 1 }, NOW);
    expect(p.figures!.desired).toEqual(y(60, 234581));
    expect(p.figures!.claim).toEqual(b(60000, 234581 * Mi)); // 60000 ≤ 60646, 245976006656 ≤ 245976973438
  });

  it('partitioned, F < 0: capacity = max(0, O − K), claim = U (YARN must shrink)', () => {
    const d = decideNode(snapshot({ O: b(20000, 16 * Gi), K: b(15000, 12 * Gi), used: y(8, 8192) }), MATH_ONLY, NOW);
    expect(d.figures!.free).toEqual({ cpu: -3000, memory: -4 * Gi });
    expect(d.figures!.desired).toEqual(y(5, 4096));
    expect(d.figures!.claim).toEqual(b(8000, 8 * Gi));
    expect(codes(d)).toEqual(expect.arrayContaining(['headroom-negative:cpu', 'headroom-negative:memory']));
  });

  it('K ≥ O gives a legitimate 0/0 capacity, applied with the usual order', () => {
    const d = decideNode(snapshot({
      O: b(10000, 10 * Gi), K: b(12000, 12 * Gi), lastDesired: y(10, 10240), claim: b(10000, 10 * Gi),
    }), MATH_ONLY, NOW);
    expect(d.figures!.desired).toEqual(y(0, 0));
    expect(d.actions).toEqual([
      { kind: 'resize', clusterId: 'c1', nodeId: 'nm-0:8041', capacity: y(0, 0), overCommitTimeoutMs: -1, driftRepair: false },
      { kind: 'set-claim', claim: b(0, 0) },
    ]);
  });

  it('safety margin 10 %: taken off YARN through O′ and carried in the claim', () => {
    const d = decideNode(snapshot({ O: SAMPLE_O, K: SAMPLE_K, used: SAMPLE_USED }), { ...MATH_ONLY, safetyMarginPercent: 10 }, NOW);
    const f = d.figures!;
    // CPU: M = ceil(6064.6) = 6065, O′ = 54581, F = 24581, cap = 20000 + 12290 = 32290 → 32 vcores.
    expect(f.margin).toEqual(b(6065, 24597697344));
    expect(f.effectiveOrigin).toEqual(b(54581, 221379276094));
    expect(f.free).toEqual({ cpu: 24581, memory: 167692184894 });
    expect(f.freeBeforeMargin).toEqual({ cpu: 30646, memory: 192289882238 });
    expect(f.desired).toEqual(y(32, 120921));
    expect(f.claim).toEqual(b(32000 + 6065, 151392555840));
    // Kubernetes is left O − claim − K = 12581 milli; YARN's free 12000; together ≤ F0 − M.
    expect(doubleBooked({ origin: SAMPLE_O, k8sRequested: SAMPLE_K, claim: f.claim, yarnCapacity: b(32000, 120921 * Mi), yarnUsed: f.yarnUsed }))
      .toEqual({ cpu: 0, memory: 0 });
  });

  it('shared with a margin: capacity = O′ − K, claim = U + M', () => {
    const d = decideNode(snapshot({ O: b(100000, 100 * Gi), K: b(10000, 10 * Gi), used: y(5, 5120) }), { ...MATH_ONLY, policy: 'shared', safetyMarginPercent: 20 }, NOW);
    expect(d.figures!.desired).toEqual(y(70, 70 * 1024));
    expect(d.figures!.claim).toEqual(b(5000 + 20000, 25 * Gi));
  });

  it('vcoresPerCore 1.5: offer rounded down, hold rounded up', () => {
    const d = decideNode(snapshot({ O: SAMPLE_O, K: SAMPLE_K, used: y(30, 40960) }), { ...MATH_ONLY, vcoresPerCore: 1.5 }, NOW);
    // U = ceil(30000 / 1.5) = 20000; cap = 35323 milli → floor(52.98) = 52 vcores → ceil(34666.7) = 34667.
    expect(d.figures!.yarnUsed.cpu).toBe(20000);
    expect(d.figures!.desired.vcores).toBe(52);
    expect(d.figures!.claim.cpu).toBe(34667);
    const odd = decideNode(snapshot({ O: SAMPLE_O, K: SAMPLE_K, used: y(7, 0) }), { ...MATH_ONLY, vcoresPerCore: 1.5 }, NOW);
    // U = ceil(4666.7) = 4667; F = 45979; cap = 4667 + 22989 = 27656 → 41 vcores → 27334 milli.
    expect(odd.figures!.yarnUsed.cpu).toBe(4667);
    expect(odd.figures!.free.cpu).toBe(45979);
    expect(odd.figures!.desired.vcores).toBe(41);
    expect(odd.figures!.claim.cpu).toBe(27334);
  });

  it('s·F is floored to whole milli-cores / bytes before the conversion', () => {
    // F = 1999 milli → s·F = 999.5 → 999 → 0 vcores; F = 2 MiB − 1 B → 1048575.5 → 1048575 B → 0 MiB.
    const d = decideNode(snapshot({ O: b(1999, 2 * Mi - 1) }), MATH_ONLY, NOW);
    expect(d.figures!.desired).toEqual(y(0, 0));
    expect(d.figures!.claim).toEqual(b(0, 0));
    const e = decideNode(snapshot({ O: b(2000, 2 * Mi) }), MATH_ONLY, NOW);
    expect(e.figures!.desired).toEqual(y(1, 1));
  });

  it('headroomShare 0 gives YARN exactly what it uses', () => {
    const d = decideNode(snapshot({ O: SAMPLE_O, K: SAMPLE_K, used: SAMPLE_USED }), { ...MATH_ONLY, headroomShare: 0 }, NOW);
    expect(d.figures!.desired).toEqual(SAMPLE_USED);
    expect(d.figures!.claim).toEqual(b(20000, 40960 * Mi));
  });
});

describe('double-booked units', () => {
  it('shared books the headroom twice, partitioned does not', () => {
    const shared = decideNode(snapshot({ O: SAMPLE_O, K: SAMPLE_K, used: SAMPLE_USED }), { ...MATH_ONLY, policy: 'shared' }, NOW).figures!;
    // YARN free 50000 − 20000 = 30000; K8s free 60646 − 20000 − 10000 = 30646 = F0 → 30000 twice.
    expect(doubleBooked({ origin: SAMPLE_O, k8sRequested: SAMPLE_K, claim: shared.claim, yarnCapacity: b(50000, 224341 * Mi), yarnUsed: shared.yarnUsed }))
      .toEqual({ cpu: 30000, memory: 224341 * Mi - 40960 * Mi });
    const part = decideNode(snapshot({ O: SAMPLE_O, K: SAMPLE_K, used: SAMPLE_USED }), MATH_ONLY, NOW).figures!;
    expect(doubleBooked({ origin: SAMPLE_O, k8sRequested: SAMPLE_K, claim: part.claim, yarnCapacity: b(35000, 132650 * Mi), yarnUsed: part.yarnUsed }))
      .toEqual({ cpu: 0, memory: 0 });
  });

  it('matches max(0, (cap − U) + (O − claim − K) − F0) in the normal regime', () => {
    // O 100, K 20, U 30 → F0 50; cap 60 (free 30), claim 40 (K8s free 40) → 70 − 50 = 20.
    expect(doubleBooked({ origin: b(100, 100), k8sRequested: b(20, 20), claim: b(40, 40), yarnCapacity: b(60, 60), yarnUsed: b(30, 30) }))
      .toEqual({ cpu: 20, memory: 20 });
  });

  it('an over-committed YARN does not hide what Kubernetes over-promises', () => {
    // O 10, K 0, U 8 on a capacity shrunk to 4, no claim: K8s offers all 10, only 2 are free → 8.
    expect(doubleBooked({ origin: b(10, 10), k8sRequested: b(0, 0), claim: b(0, 0), yarnCapacity: b(4, 4), yarnUsed: b(8, 8) }))
      .toEqual({ cpu: 8, memory: 8 });
  });
});

describe('hysteresis and grow interval', () => {
  // shared, U = 0, K = 0: desired = floor(O) and the claim stays 0/0, so only capacity moves.
  const cfg: LedgerConfig = {
    ...DEFAULT_LEDGER_CONFIG, policy: 'shared',
    hysteresis: { cpuMilli: 1000, memoryBytes: Gi, percent: 5 }, growIntervalMs: 10_000,
  };
  const at = (cpu: number, memMiB: number, lastGrowAt = NOW - 60_000) =>
    decideNode(snapshot({ O: b(cpu * 1000, memMiB * Mi), lastDesired: y(30, 100000), claim: b(0, 0), lastGrowAt }), cfg, NOW);
  const resize = (v: number, m: number, driftRepair = false) =>
    ({ kind: 'resize', clusterId: 'c1', nodeId: 'nm-0:8041', capacity: y(v, m), overCommitTimeoutMs: -1, driftRepair });

  it('steady state: zero actions', () => {
    const d = at(30, 100000);
    expect(d.actions).toEqual([]);
    expect(d.next).toEqual({ lastDesired: y(30, 100000), lastGrowAt: NOW - 60_000 });
  });

  it('CPU step below max(1 vcore, 5 % of 30 = 1.5) is held', () => {
    const d = at(31, 100000);
    expect(d.actions).toEqual([]);
    expect(codes(d)).toContain('grow-held-by-hysteresis:cpu');
    expect(d.figures!.desired).toEqual(y(31, 100000));
    expect(d.figures!.applied).toEqual(y(30, 100000));
  });

  it('CPU step of 2 ≥ 1.5 passes and records the growth time', () => {
    const d = at(32, 100000);
    expect(d.actions).toEqual([resize(32, 100000)]);
    expect(codes(d)).toContain('grow:cpu');
    expect(d.next).toEqual({ lastDesired: y(32, 100000), lastGrowAt: NOW });
  });

  it('memory step below max(1024 MiB, 5 % of 100000 = 5000 MiB) is held, 5000 passes', () => {
    expect(at(30, 104999).actions).toEqual([]);
    expect(codes(at(30, 104999))).toContain('grow-held-by-hysteresis:memory');
    expect(at(30, 105000).actions).toEqual([resize(30, 105000)]);
  });

  it('the absolute threshold wins when larger: 1 GiB over a small capacity', () => {
    const d = decideNode(snapshot({ O: b(0, 2000 * Mi), lastDesired: y(0, 1000), claim: b(0, 0) }), cfg, NOW);
    expect(d.actions).toEqual([]); // step 1000 MiB < 1024 MiB
    const e = decideNode(snapshot({ O: b(0, 2024 * Mi), lastDesired: y(0, 1000), claim: b(0, 0) }), cfg, NOW);
    expect(e.actions).toEqual([resize(0, 2024)]);
  });

  it('growth within the interval is held; at the interval it passes', () => {
    const held = at(32, 100000, NOW - 9_999);
    expect(held.actions).toEqual([]);
    expect(codes(held)).toContain('grow-held-by-interval:cpu');
    expect(held.next.lastGrowAt).toBe(NOW - 9_999);
    expect(at(32, 100000, NOW - 10_000).actions).toEqual([resize(32, 100000)]);
  });

  it('shrinks apply at once, whatever the step and the interval', () => {
    const d = at(29, 100000, NOW - 1);
    expect(d.actions).toEqual([resize(29, 100000)]);
    expect(codes(d)).toContain('shrink:cpu');
    expect(d.next).toEqual({ lastDesired: y(29, 100000), lastGrowAt: NOW - 1 });
  });

  it('one resource shrinks while the other one\'s growth is held', () => {
    const d = at(31, 90000);
    expect(d.actions).toEqual([resize(30, 90000)]);
    expect(codes(d)).toEqual(expect.arrayContaining(['grow-held-by-hysteresis:cpu', 'shrink:memory']));
  });

  it('first sight (no lastDesired): hysteresis counts from the RM total', () => {
    const small = decideNode(snapshot({ O: b(33000, 8192 * Mi), total: y(32, 8192), claim: b(0, 0) }), cfg, NOW);
    expect(small.actions).toEqual([]);
    expect(small.next.lastDesired).toEqual(y(32, 8192));
    const big = decideNode(snapshot({ O: b(40000, 8192 * Mi), total: y(8, 8192) }), cfg, NOW);
    // No claim on the Node yet: claim first, then the RM.
    expect(big.actions).toEqual([{ kind: 'set-claim', claim: b(0, 0) }, resize(40, 8192)]);
  });

  it('a held growth still lifts a capacity that sits below YARN\'s used amount', () => {
    // Earlier shrink left capacity 5 under 8 used; now F ≥ 0 and desired is 14, held by interval.
    const d = decideNode(snapshot({
      O: b(20000, 0), used: y(8, 0), lastDesired: y(5, 0), claim: b(8000, 0), lastGrowAt: NOW - 1,
    }), { ...cfg, policy: 'partitioned' }, NOW);
    expect(d.figures!.desired).toEqual(y(14, 0));
    expect(d.actions).toEqual([resize(8, 0)]);
    expect(codes(d)).toEqual(expect.arrayContaining(['grow-to-used:cpu', 'grow-held-by-interval:cpu']));
    expect(d.next.lastGrowAt).toBe(NOW - 1);
  });
});

describe('action order', () => {
  // partitioned, s = 1, U = K = 0: capacity = floor(O) and claim = capacity.
  const cfg: LedgerConfig = { ...MATH_ONLY, headroomShare: 1 };
  const from = { lastDesired: y(20, 40000), claim: b(20000, 40000 * Mi) };
  const resize = (v: number, m: number, driftRepair = false) =>
    ({ kind: 'resize', clusterId: 'c1', nodeId: 'nm-0:8041', capacity: y(v, m), overCommitTimeoutMs: -1, driftRepair });

  it('grow: claim first, then the RM', () => {
    const d = decideNode(snapshot({ O: b(30000, 50000 * Mi), ...from }), cfg, NOW);
    expect(d.actions).toEqual([{ kind: 'set-claim', claim: b(30000, 50000 * Mi) }, resize(30, 50000)]);
  });

  it('shrink: the RM first, then the claim', () => {
    const d = decideNode(snapshot({ O: b(10000, 30000 * Mi), ...from }), cfg, NOW);
    expect(d.actions).toEqual([resize(10, 30000), { kind: 'set-claim', claim: b(10000, 30000 * Mi) }]);
  });

  it('mixed: raise, resize, lower', () => {
    const d = decideNode(snapshot({ O: b(30000, 30000 * Mi), ...from }), cfg, NOW);
    expect(d.actions).toEqual([
      { kind: 'set-claim', claim: b(30000, 40000 * Mi) },
      resize(30, 30000),
      { kind: 'set-claim', claim: b(30000, 30000 * Mi) },
    ]);
  });

  it('sends the configured overCommitTimeout', () => {
    const d = decideNode(snapshot({ O: b(10000, 30000 * Mi), ...from }), { ...cfg, overCommitTimeoutMs: 30_000 }, NOW);
    expect(d.actions[0]).toMatchObject({ kind: 'resize', overCommitTimeoutMs: 30_000 });
  });

  it('a claim change without a capacity change is a single set-claim (U moved under shared)', () => {
    const d = decideNode(snapshot({
      O: b(30000, 30000 * Mi), used: y(4, 2048), lastDesired: y(30, 30000), claim: b(3000, 1024 * Mi),
    }), { ...MATH_ONLY, policy: 'shared' }, NOW);
    expect(d.actions).toEqual([{ kind: 'set-claim', claim: b(4000, 2048 * Mi) }]);
  });

  it('steady state under both policies: zero actions', () => {
    expect(decideNode(snapshot({ O: b(20000, 40000 * Mi), ...from }), cfg, NOW).actions).toEqual([]);
    const shared = snapshot({ O: b(20000, 40000 * Mi), used: y(3, 1000), lastDesired: y(20, 40000), claim: b(3000, 1000 * Mi) });
    expect(decideNode(shared, { ...MATH_ONLY, policy: 'shared' }, NOW).actions).toEqual([]);
  });

  it('drift: the RM forgot the override → re-apply, marked as a repair', () => {
    const d = decideNode(snapshot({ O: b(20000, 40000 * Mi), ...from, total: y(64, 131072) }), cfg, NOW);
    expect(d.actions).toEqual([resize(20, 40000, true)]);
    expect(codes(d)).toContain('drift-repair');
  });

  it('drift while a growth is held re-applies the held value', () => {
    const d = decideNode(snapshot({ O: b(21000, 40000 * Mi), ...from, total: y(8, 8192) }),
      { ...DEFAULT_LEDGER_CONFIG, headroomShare: 1, hysteresis: { cpuMilli: 2000, memoryBytes: Gi, percent: 5 } }, NOW);
    // step 1 vcore < max(2 vcores, 5 % of 20 = 1): held at 20, and 20 is what the RM gets back.
    expect(d.actions).toEqual([resize(20, 40000, true)]);
    expect(codes(d)).toEqual(expect.arrayContaining(['grow-held-by-hysteresis:cpu', 'drift-repair']));
  });
});

describe('guards', () => {
  const base = snapshot({ O: SAMPLE_O, K: SAMPLE_K, used: SAMPLE_USED, lastDesired: y(10, 10000), claim: b(1000, 1000) });

  it('origin missing or invalid: no actions, a skip — never a zero write', () => {
    const missing = decideNode({ ...base, origin: { state: 'missing', reason: 'no batch resources' } }, MATH_ONLY, NOW);
    expect(missing.actions).toEqual([]);
    expect(missing.skip?.code).toBe('origin-missing');
    expect(missing.figures).toBeUndefined();
    expect(missing.next).toEqual({ lastDesired: y(10, 10000) });
    const invalid = decideNode({ ...base, origin: { state: 'invalid', reason: 'not JSON' } }, MATH_ONLY, NOW);
    expect(invalid.actions).toEqual([]);
    expect(invalid.skip?.code).toBe('origin-invalid');
    const nan = decideNode({ ...base, origin: { state: 'ok', value: b(Number.NaN, 5) } }, MATH_ONLY, NOW);
    expect(nan.actions).toEqual([]);
    expect(nan.skip?.code).toBe('origin-invalid');
    // Even with the NM gone, a bad origin writes nothing.
    expect(decideNode({ ...base, origin: { state: 'missing', reason: 'x' }, nodeManager: { state: 'absent' } }, MATH_ONLY, NOW).actions).toEqual([]);
  });

  it('K invalid: skip', () => {
    const d = decideNode({ ...base, k8sRequested: b(-1, 0) }, MATH_ONLY, NOW);
    expect(d.actions).toEqual([]);
    expect(d.skip?.code).toBe('k8s-requested-invalid');
  });

  it('NM absent: clear the claim if there is one, never touch the RM', () => {
    const d = decideNode({ ...base, nodeManager: { state: 'absent' } }, MATH_ONLY, NOW);
    expect(d.actions).toEqual([{ kind: 'clear-claim' }]);
    expect(codes(d)).toEqual(['nm-absent']);
    // The override belonged to the NodeManager that is gone: lastDesired is forgotten.
    expect(d.next).toEqual({});
    expect(decideNode({ ...base, nodeManager: { state: 'absent' }, current: { claim: b(1, 1), lastGrowAt: 5 } }, MATH_ONLY, NOW).next)
      .toEqual({ lastGrowAt: 5 });
    const none = decideNode({ ...base, nodeManager: { state: 'absent' }, current: {} }, MATH_ONLY, NOW);
    expect(none.actions).toEqual([]);
  });

  it('NM malformed: no actions, a report', () => {
    const d = decideNode({ ...base, nodeManager: { state: 'malformed', reason: 'node-id "nm" has no port' } }, MATH_ONLY, NOW);
    expect(d.actions).toEqual([]);
    expect(d.report).toEqual({ code: 'nm-malformed', detail: 'node-id "nm" has no port' });
  });

  it('RM unavailable: no RM action and the last claim stays', () => {
    const d = decideNode({ ...base, rm: { status: 'rm-unavailable', detail: 'connect ECONNREFUSED' } }, MATH_ONLY, NOW);
    expect(d.actions).toEqual([]);
    expect(d.skip?.code).toBe('rm-unavailable');
    expect(d.next).toEqual({ lastDesired: y(10, 10000) });
  });

  it('node unknown to the RM: report, no actions', () => {
    const d = decideNode({ ...base, rm: { status: 'unknown-node' } }, MATH_ONLY, NOW);
    expect(d.actions).toEqual([]);
    expect(d.report?.code).toBe('rm-unknown-node');
  });

  it.each(['LOST', 'DECOMMISSIONED', 'SHUTDOWN', 'REBOOTED', 'lost'])('RM node %s: no resize, report', (state) => {
    const d = decideNode(snapshot({ O: SAMPLE_O, state, lastDesired: y(10, 10000), total: y(0, 0) }), MATH_ONLY, NOW);
    expect(d.actions).toEqual([]);
    expect(d.report?.code).toBe('rm-node-inactive');
  });

  it.each(['UNHEALTHY', 'NEW', 'DECOMMISSIONING'])('RM node %s is active: resized', (state) => {
    const d = decideNode(snapshot({ O: SAMPLE_O, state, lastDesired: y(10, 10000), claim: b(0, 0) }), { ...MATH_ONLY, policy: 'shared' }, NOW);
    expect(kinds(d)).toEqual(['resize']);
  });

  it('an unusable RM report: report, no actions', () => {
    const d = decideNode({ ...base, rm: { status: 'ok', node: { state: 'RUNNING', total: y(Number.NaN, 0), used: y(0, 0) } } }, MATH_ONLY, NOW);
    expect(d.actions).toEqual([]);
    expect(d.report?.code).toBe('rm-report-invalid');
  });

  it('an invalid config is a bug: RangeError', () => {
    expect(validateLedgerConfig(DEFAULT_LEDGER_CONFIG)).toEqual([]);
    expect(validateLedgerConfig({ ...DEFAULT_LEDGER_CONFIG, headroomShare: 1.5, vcoresPerCore: 0 })).toHaveLength(2);
    expect(() => decideNode(base, { ...DEFAULT_LEDGER_CONFIG, vcoresPerCore: 0 }, NOW)).toThrow(RangeError);
  });
});
