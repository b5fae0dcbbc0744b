/**
 * The ledger's guarantees, as fast-check properties over wide ranges: origins up to 2000 cores /
 * 4 TiB, YARN used possibly far above the origin, vcoresPerCore ∈ {0.5, 1, 1.5, 2, 3}, s ∈ [0, 1],
 * margins 0–50 %, random hysteresis, intervals, memories and claims.
 *
 * Unit conversions are recomputed here independently (for these ratios the float quotient is exact
 * whenever the true one is an integer, so plain ceil is a correct oracle).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bytes, milliCores } from '../../kube/quantity.js';
import type { BatchResources } from '../../kube/wire.js';
import { mib, vcores, type YarnResource } from '../../yarn/resource.js';
import {
  type LedgerConfig, type LedgerDecision, type NodeSnapshot, decideNode, doubleBooked,
} from '../../operator/ledger/index.js';

const Mi = 2 ** 20;
const NOW = 1_800_000_000_000;
const b = (cpu: number, memory: number): BatchResources => ({ cpu: milliCores(cpu), memory: bytes(memory) });
const y = (v: number, m: number): YarnResource => ({ vcores: vcores(v), memoryMiB: mib(m) });

const yarnArb = (maxV: number, maxMiB: number) => fc.record({ v: fc.integer({ min: 0, max: maxV }), m: fc.integer({ min: 0, max: maxMiB }) }).map((r) => y(r.v, r.m));
const batchArb = (maxCpu: number, maxMem: number) => fc.record({ c: fc.integer({ min: 0, max: maxCpu }), m: fc.integer({ min: 0, max: maxMem }) }).map((r) => b(r.c, r.m));

const configArb: fc.Arbitrary<LedgerConfig> = fc.record({
  policy: fc.constantFrom('partitioned' as const, 'shared' as const),
  headroomShare: fc.oneof(fc.constantFrom(0, 0.5, 1), fc.double({ min: 0, max: 1, noNaN: true })),
  safetyMarginPercent: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50 }), fc.double({ min: 0, max: 50, noNaN: true })),
  vcoresPerCore: fc.constantFrom(0.5, 1, 1.5, 2, 3),
  hysteresis: fc.record({
    cpuMilli: fc.integer({ min: 0, max: 5000 }),
    memoryBytes: fc.integer({ min: 0, max: 8 * 2 ** 30 }),
    percent: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 20, noNaN: true })),
  }),
  growIntervalMs: fc.integer({ min: 0, max: 60_000 }),
  overCommitTimeoutMs: fc.constantFrom(-1, 0, 30_000),
});

// Mix realistic "close" values (so F lands on both sides of 0) with independent wide ones.
const snapshotArb: fc.Arbitrary<NodeSnapshot> = fc.record({
  O: batchArb(2_000_000, 2 ** 42),
  K: batchArb(2_500_000, 2 ** 42 + 2 ** 40),
  used: yarnArb(6000, 2 ** 22),
  total: yarnArb(6000, 2 ** 22),
  state: fc.constantFrom('RUNNING', 'UNHEALTHY', 'NEW', 'DECOMMISSIONING'),
  lastDesired: fc.option(yarnArb(6000, 2 ** 22), { nil: undefined }),
  totalIsLastDesired: fc.boolean(),
  claim: fc.option(batchArb(3_000_000, 2 ** 43), { nil: undefined }),
  lastGrowAt: fc.option(fc.integer({ min: NOW - 120_000, max: NOW }), { nil: undefined }),
}).map((r) => ({
  origin: { state: 'ok' as const, value: r.O },
  k8sRequested: r.K,
  nodeManager: { state: 'running' as const, clusterId: 'c', nodeId: 'h:1' },
  rm: { status: 'ok' as const, node: { state: r.state, total: r.totalIsLastDesired && r.lastDesired ? r.lastDesired : r.total, used: r.used } },
  current: {
    ...(r.lastDesired ? { lastDesired: r.lastDesired } : {}),
    ...(r.claim ? { claim: r.claim } : {}),
    ...(r.lastGrowAt !== undefined ? { lastGrowAt: r.lastGrowAt } : {}),
  },
}));

/** Small nodes, where rounding, F ≈ 0 and U > O happen often. */
const smallSnapshotArb: fc.Arbitrary<NodeSnapshot> = fc.record({
  O: batchArb(20_000, 64 * Mi),
  K: batchArb(20_000, 64 * Mi),
  used: yarnArb(40, 64),
  total: yarnArb(40, 64),
  lastDesired: fc.option(yarnArb(40, 64), { nil: undefined }),
  claim: fc.option(batchArb(30_000, 96 * Mi), { nil: undefined }),
  lastGrowAt: fc.option(fc.integer({ min: NOW - 120_000, max: NOW }), { nil: undefined }),
}).map((r) => ({
  origin: { state: 'ok' as const, value: r.O },
  k8sRequested: r.K,
  nodeManager: { state: 'running' as const, clusterId: 'c', nodeId: 'h:1' },
  rm: { status: 'ok' as const, node: { state: 'RUNNING', total: r.total, used: r.used } },
  current: {
    ...(r.lastDesired ? { lastDesired: r.lastDesired } : {}),
    ...(r.claim ? { claim: r.claim } : {}),
    ...(r.lastGrowAt !== undefined ? { lastGrowAt: r.lastGrowAt } : {}),
  },
}));

const anySnapshot = fc.oneof(snapshotArb, smallSnapshotArb);
const RUNS = { numRuns: 3000 };

interface Axis { O: number; K: number; U: number; M: number; claim: number; desired: number; applied: number; cur: number; usedY: number; lastClaim: number | undefined }

/** Independent per-resource view of a decision, in milli-cores / bytes. */
function axes(s: NodeSnapshot, c: LedgerConfig, d: LedgerDecision): Axis[] {
  const f = d.figures!;
  if (s.rm.status !== 'ok' || s.origin.state !== 'ok') throw new Error('unreachable');
  const node = s.rm.node;
  const cur = s.current.lastDesired ?? node.total;
  const upCpu = (v: number) => Math.ceil((v * 1000) / c.vcoresPerCore);
  const upMem = (m: number) => m * Mi;
  const mk = (O: number, K: number, usedY: number, up: (n: number) => number, claim: number, desired: number, applied: number, curY: number, lastClaim: number | undefined): Axis =>
    ({ O, K, U: up(usedY), M: Math.min(O, Math.ceil((O * c.safetyMarginPercent) / 100 - 1e-7)), claim, desired: up(desired), applied: up(applied), cur: curY, usedY, lastClaim });
  return [
    mk(s.origin.value.cpu, s.k8sRequested.cpu, node.used.vcores, upCpu, f.claim.cpu, f.desired.vcores, f.applied.vcores, cur.vcores, s.current.claim?.cpu),
    mk(s.origin.value.memory, s.k8sRequested.memory, node.used.memoryMiB, upMem, f.claim.memory, f.desired.memoryMiB, f.applied.memoryMiB, cur.memoryMiB, s.current.claim?.memory),
  ];
}

describe('ledger properties', () => {
  it('YARN capacity never exceeds max(0, O − K), nor O′ − K (rounding never offers more than exists)', () => {
    fc.assert(fc.property(anySnapshot, configArb, (s, c) => {
      const d = decideNode(s, c, NOW);
      for (const a of axes(s, c, d)) {
        expect(a.applied).toBeLessThanOrEqual(Math.max(0, a.O - a.K));
        expect(a.desired).toBeLessThanOrEqual(Math.max(0, a.O - a.K));
        const roomAfterMargin = Math.max(0, a.O - a.M) - a.K;
        if (roomAfterMargin >= 0) expect(a.applied).toBeLessThanOrEqual(roomAfterMargin);
        else expect(a.applied).toBe(0);
      }
    }), RUNS);
  });

  it('partitioned with F0 ≥ 0: (capacity − U) + (O − claim − K) ≤ F0 — no unit is booked twice', () => {
    fc.assert(fc.property(anySnapshot, configArb, (s, c0) => {
      const c = { ...c0, policy: 'partitioned' as const };
      const d = decideNode(s, c, NOW);
      const [cpu, mem] = axes(s, c, d);
      for (const a of [cpu!, mem!]) {
        const F0 = a.O - a.K - a.U;
        if (F0 >= 0) expect((a.applied - a.U) + (a.O - a.claim - a.K)).toBeLessThanOrEqual(F0);
      }
      if (cpu!.O - cpu!.K - cpu!.U >= 0 && mem!.O - mem!.K - mem!.U >= 0) {
        expect(doubleBooked({
          origin: s.origin.state === 'ok' ? s.origin.value : b(0, 0),
          k8sRequested: s.k8sRequested,
          claim: d.figures!.claim,
          yarnCapacity: b(cpu!.applied, mem!.applied),
          yarnUsed: d.figures!.yarnUsed,
        })).toEqual({ cpu: 0, memory: 0 });
      }
    }), RUNS);
  });

  it('the claim is never below what YARN uses (either policy), nor below the capacity (partitioned)', () => {
    fc.assert(fc.property(anySnapshot, configArb, (s, c) => {
      const d = decideNode(s, c, NOW);
      for (const a of axes(s, c, d)) {
        expect(a.claim).toBeGreaterThanOrEqual(a.U);
        expect(a.claim).toBeGreaterThanOrEqual(a.U + a.M);
        if (c.policy === 'partitioned') expect(a.claim).toBeGreaterThanOrEqual(a.applied);
      }
    }), RUNS);
  });

  it('capacity ≥ U whenever F ≥ 0 (desired and applied)', () => {
    fc.assert(fc.property(anySnapshot, configArb, (s, c) => {
      const d = decideNode(s, c, NOW);
      const f = d.figures!;
      const list = axes(s, c, d);
      [f.free.cpu, f.free.memory].forEach((F, i) => {
        const a = list[i]!;
        if (F >= 0) {
          expect(a.desired).toBeGreaterThanOrEqual(a.U);
          expect(a.applied).toBeGreaterThanOrEqual(a.U);
        }
      });
    }), RUNS);
  });

  it('shrinks are never delayed; growth never passes desired, nor its gates', () => {
    fc.assert(fc.property(anySnapshot, configArb, (s, c) => {
      const d = decideNode(s, c, NOW);
      const f = d.figures!;
      const within = s.current.lastGrowAt !== undefined && NOW - s.current.lastGrowAt < c.growIntervalMs;
      for (const [i, a] of axes(s, c, d).entries()) {
        const desiredY = i === 0 ? f.desired.vcores : f.desired.memoryMiB;
        const appliedY = i === 0 ? f.applied.vcores : f.applied.memoryMiB;
        if (desiredY <= a.cur) expect(appliedY).toBe(desiredY);
        else {
          expect(appliedY).toBeLessThanOrEqual(desiredY);
          expect(appliedY).toBeGreaterThanOrEqual(a.cur);
          // Inside the interval only the lift up to YARN's used amount may happen.
          if (within) expect(appliedY).toBeLessThanOrEqual(Math.max(a.cur, a.usedY));
        }
      }
    }), RUNS);
  });

  it('actions: grow claim-first, shrink RM-first, the last claim written is the computed one', () => {
    fc.assert(fc.property(anySnapshot, configArb, (s, c) => {
      const d = decideNode(s, c, NOW);
      const f = d.figures!;
      const node = s.rm.status === 'ok' ? s.rm.node : undefined;
      expect(d.actions.length).toBeLessThanOrEqual(3);
      const resizeAt = d.actions.findIndex((a) => a.kind === 'resize');
      expect(d.actions.filter((a) => a.kind === 'resize').length).toBeLessThanOrEqual(1);
      const needResize = f.applied.vcores !== node!.total.vcores || f.applied.memoryMiB !== node!.total.memoryMiB;
      expect(resizeAt >= 0).toBe(needResize);
      const claims = d.actions.flatMap((a) => (a.kind === 'set-claim' ? [a.claim] : []));
      const sameAsCurrent = s.current.claim !== undefined && s.current.claim.cpu === f.claim.cpu && s.current.claim.memory === f.claim.memory;
      if (sameAsCurrent) expect(claims.every((x) => x.cpu >= f.claim.cpu && x.memory >= f.claim.memory)).toBe(true);
      else expect(claims.at(-1)).toEqual(f.claim);
      d.actions.forEach((a, i) => {
        if (a.kind === 'clear-claim') throw new Error('no clear-claim with a running NM');
        if (a.kind === 'resize') {
          expect(a.capacity).toEqual(f.applied);
          expect(a.overCommitTimeoutMs).toBe(c.overCommitTimeoutMs);
        }
        if (a.kind === 'set-claim' && resizeAt >= 0 && i < resizeAt) {
          // Before the RM grows, the claim already covers both the old and the new hold.
          expect(a.claim.cpu).toBeGreaterThanOrEqual(Math.max(s.current.claim?.cpu ?? 0, f.claim.cpu));
          expect(a.claim.memory).toBeGreaterThanOrEqual(Math.max(s.current.claim?.memory ?? 0, f.claim.memory));
        }
      });
    }), RUNS);
  });

  it('applying the actions reaches a steady state: the same snapshot then yields zero actions', () => {
    fc.assert(fc.property(anySnapshot, configArb, (s, c) => {
      const d = decideNode(s, c, NOW);
      if (s.rm.status !== 'ok') throw new Error('unreachable');
      let claim = s.current.claim;
      let total = s.rm.node.total;
      for (const a of d.actions) {
        if (a.kind === 'set-claim') claim = a.claim;
        else if (a.kind === 'resize') total = a.capacity;
        else claim = undefined;
      }
      const after: NodeSnapshot = {
        ...s,
        rm: { status: 'ok', node: { ...s.rm.node, total } },
        current: { ...d.next, ...(claim ? { claim } : {}) },
      };
      const again = decideNode(after, c, NOW);
      expect(again.actions).toEqual([]);
      expect(again.figures!.applied).toEqual(d.figures!.applied);
    }), RUNS);
  });

  it('an unconfirmed resize: the claim covers both the RM\'s total and the pending capacity, never goes down, and the only resize is that one again', () => {
    fc.assert(fc.property(anySnapshot, configArb, yarnArb(6000, 2 ** 22), (s0, c, pending) => {
      if (s0.rm.status !== 'ok' || s0.origin.state !== 'ok') throw new Error('unreachable');
      const s: NodeSnapshot = { ...s0, rm: { status: 'ok', node: { ...s0.rm.node, pending } } };
      const d = decideNode(s, c, NOW);
      const node = s0.rm.node;
      const resizes = d.actions.filter((a) => a.kind === 'resize');
      expect(resizes).toHaveLength(1);
      expect(resizes[0]).toMatchObject({ capacity: pending, resend: true });
      // Nothing is written after the resend: the node is decided again once the RM shows it.
      expect(d.actions.at(-1)!.kind).toBe('resize');
      const claims = d.actions.flatMap((a) => (a.kind === 'set-claim' ? [a.claim] : []));
      const last = claims.at(-1) ?? s.current.claim;
      if (s.current.claim && last) {
        expect(last.cpu).toBeGreaterThanOrEqual(s.current.claim.cpu);
        expect(last.memory).toBeGreaterThanOrEqual(s.current.claim.memory);
      }
      if (c.policy === 'partitioned') {
        const upCpu = (v: number) => Math.ceil((v * 1000) / c.vcoresPerCore);
        const M = (O: number) => Math.min(O, Math.ceil((O * c.safetyMarginPercent) / 100 - 1e-7));
        // Whichever lands, YARN's capacity (and its use) stays within the claim.
        for (const total of [node.total, pending]) {
          expect(last!.cpu).toBeGreaterThanOrEqual(upCpu(Math.max(total.vcores, node.used.vcores)) + M(s0.origin.value.cpu));
          expect(last!.memory).toBeGreaterThanOrEqual(Math.max(total.memoryMiB, node.used.memoryMiB) * Mi + M(s0.origin.value.memory));
        }
      }
      expect(d.next.lastDesired).toEqual(pending);
    }), RUNS);
  });

  it('never a write when the origin, K or the RM cannot be trusted', () => {
    const badOrigin = fc.oneof(
      fc.record({ state: fc.constantFrom('missing' as const, 'invalid' as const), reason: fc.string() }),
      fc.constantFrom(Number.NaN, -1, 1.5, Infinity).map((v) => ({ state: 'ok' as const, value: b(v, 1024) })),
    );
    fc.assert(fc.property(anySnapshot, configArb, badOrigin, (s, c, origin) => {
      const d = decideNode({ ...s, origin }, c, NOW);
      expect(d.actions).toEqual([]);
      expect(d.skip).toBeDefined();
    }), { numRuns: 500 });
    fc.assert(fc.property(anySnapshot, configArb, fc.constantFrom('rm-unavailable' as const, 'unknown-node' as const), (s, c, status) => {
      const d = decideNode({ ...s, rm: { status } }, c, NOW);
      expect(d.actions).toEqual([]);
      expect(d.next).toEqual({
        ...(s.current.lastDesired ? { lastDesired: s.current.lastDesired } : {}),
        ...(s.current.lastGrowAt !== undefined ? { lastGrowAt: s.current.lastGrowAt } : {}),
      });
    }), { numRuns: 500 });
  });
});
