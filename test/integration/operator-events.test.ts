/**
 * Done when #2: pod and origin changes reach the RM without waiting for the poll (the poll is 60 s
 * here and must not run); growth waits for the hysteresis step and the grow interval, shrink does
 * not; writes happen in the specified order (grow: claim then RM; shrink: RM then claim), observed
 * from outside: a watch on the Node samples the YARN simulator's node total when the claim lands.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SimWorld } from '../../sim/world.js';
import { ManualClock } from '../../clock/clock.js';
import { ANNOTATION_THIRD_PARTY, DEFAULT_CLUSTER_ID } from '../../kube/wire.js';
import {
  claimOf, expectedCapacity, GIB, MIB, quantity, runOperator, setOrigin, settingsFor, waitFor, worldRmNode,
} from './operator-helpers.js';

interface ClaimSeen { claim: { cpu: number; memory: number } | undefined; rmTotal: { vcores: number; memoryMiB: number }; resizes: number }

describe('event-driven reconcile, hysteresis, grow interval and write order', () => {
  let world: SimWorld;
  let op: Awaited<ReturnType<typeof runOperator>>;
  const seen: ClaimSeen[] = [];
  let unwatch: () => void;
  const node = 'node-1';
  const GROW_INTERVAL_MS = 3000;
  // The operator's time: the grow interval passes when the test says so, not on a wall clock.
  const clock = new ManualClock();

  const rmTotalNow = () => {
    const n = world.yarn.cluster.node(world.nodeIdOf(node))!;
    return { vcores: n.total.vcores, memoryMiB: n.total.memoryMiB };
  };
  const polls = () => op.controller.pollCount(DEFAULT_CLUSTER_ID);
  const lastClaimSeen = () => seen[seen.length - 1];
  const codes = () => op.controller.decisions.get(node)?.reasons.map((r) => r.code) ?? [];

  beforeAll(async () => {
    // Resizes land at once: the operator's read-back retries would wait on the manual clock.
    world = await SimWorld.start({ nodes: 1, standIns: false, seed: false, rmResizeDelayMs: 0 });
    let last: string | undefined;
    unwatch = world.kube.store.watch('nodes', (ev) => {
      const raw = ev.object.metadata.annotations?.[ANNOTATION_THIRD_PARTY];
      if (raw === last || ev.object.metadata.name !== node) return;
      last = raw;
      const e = raw ? (JSON.parse(raw) as { allocations: { name: string; resources: Record<string, string> }[] }).allocations.find((a) => a.name === 'hadoop-yarn') : undefined;
      seen.push({
        claim: e ? { cpu: quantity(e.resources['kubernetes.io/batch-cpu']), memory: quantity(e.resources['kubernetes.io/batch-memory']) } : undefined,
        // Sampled synchronously as the claim is committed: what the RM holds at that instant.
        rmTotal: rmTotalNow(),
        resizes: world.yarn.cluster.counters.get('rm.resize'),
      });
    });
    op = await runOperator(settingsFor(world, {
      pollSeconds: 60, growIntervalSeconds: GROW_INTERVAL_MS / 1000,
      hysteresisCpuMilli: 2000, hysteresisMemoryBytes: 4 * GIB, hysteresisPercent: 0,
    }), undefined, { clock });
    await waitFor(() => polls() >= 1 && op.controller.views.get(DEFAULT_CLUSTER_ID)?.status === 'ok', 5000, 'first RM poll');
  });

  afterAll(async () => {
    unwatch?.();
    await op?.stop();
    await world?.stop();
  });

  // K = the NM pod's request (1000 m, 1 GiB); U = 0 (no YARN apps); partitioned, s = 0.5.
  const cap = expectedCapacity;

  test('first origin: converges from the NM-reported total', async () => {
    setOrigin(world, node, 9000, 21 * GIB);
    const want = cap(9000, 21 * GIB);
    await waitFor(async () => JSON.stringify((await worldRmNode(world, node)).total) === JSON.stringify(want), 3000, 'first capacity');
    await waitFor(() => claimOf(world, node)?.cpu === want.vcores * 1000, 3000, 'first claim');
    expect(claimOf(world, node)).toEqual({ cpu: want.vcores * 1000, memory: want.memoryMiB * MIB });
    expect(polls()).toBe(1);
  });

  test('a new batch pod shrinks YARN at once, RM before claim, without a poll', async () => {
    const before = rmTotalNow();
    const seenBefore = seen.length;
    world.addBatchPod({ name: 'b1', node, cpuMilli: 2000, memoryBytes: 2 * GIB });
    const want = cap(9000, 21 * GIB, 3000, 3 * GIB);
    expect(want.vcores).toBeLessThan(before.vcores);
    await waitFor(() => rmTotalNow().vcores === want.vcores && rmTotalNow().memoryMiB === want.memoryMiB, 8000, 'shrink on the RM');
    await waitFor(() => seen.length > seenBefore, 8000, 'claim lowered');
    const s = lastClaimSeen()!;
    expect(s.claim).toEqual({ cpu: want.vcores * 1000, memory: want.memoryMiB * MIB });
    // Shrink: when the lower claim landed, the RM had already been shrunk.
    expect(s.rmTotal).toEqual(want);
    expect(polls()).toBe(1);
  });

  test('a growth below the hysteresis step is held (RM and claim unchanged)', async () => {
    const before = rmTotalNow();
    const claimBefore = claimOf(world, node);
    const resizes = world.yarn.cluster.counters.get('rm.resize');
    world.deleteBatchPod('b1');
    // Desired is back to +1 vcore / +1 GiB: under the 2000 m / 4 GiB steps.
    await waitFor(() => codes().filter((c) => c === 'grow-held-by-hysteresis').length === 2, 8000, 'hysteresis hold on both resources');
    expect(rmTotalNow()).toEqual(before);
    expect(claimOf(world, node)).toEqual(claimBefore);
    expect(world.yarn.cluster.counters.get('rm.resize'), JSON.stringify(op.controller.writes.slice(-3)) + JSON.stringify(op.logs.lines().filter((l) => /decision/.test(String(l.msg))).slice(-3))).toBe(resizes);
  });

  let grewAt = 0;
  test('an origin increase past the step grows YARN, claim before RM, without a poll', async () => {
    const before = rmTotalNow();
    const seenBefore = seen.length;
    setOrigin(world, node, 15_000, 33 * GIB);
    const want = cap(15_000, 33 * GIB);
    await waitFor(() => rmTotalNow().vcores === want.vcores && rmTotalNow().memoryMiB === want.memoryMiB, 8000, 'growth on the RM');
    const raised = seen.slice(seenBefore);
    expect(raised.length).toBe(1);
    // Grow: the higher claim landed while the RM still had the old, smaller total.
    expect(raised[0]!.claim).toEqual({ cpu: want.vcores * 1000, memory: want.memoryMiB * MIB });
    expect(raised[0]!.rmTotal).toEqual(before);
    await waitFor(() => op.controller.idle, 8000, 'operator idle');
    const w = op.controller.writes.filter((x) => x.node === node);
    expect(w.slice(-2).map((x) => x.action.kind)).toEqual(['set-claim', 'resize']);
    grewAt = w[w.length - 1]!.at;
    expect(polls()).toBe(1);
  });

  test('a second growth within the grow interval waits for it, then applies by itself', async () => {
    const before = rmTotalNow();
    const seenBefore = seen.length;
    setOrigin(world, node, 21_000, 45 * GIB);
    const want = cap(21_000, 45 * GIB);
    await waitFor(() => codes().includes('grow-held-by-interval'), 8000, 'interval hold');
    expect(rmTotalNow()).toEqual(before);
    // Nothing else changes: the held growth must still be applied once the interval has passed —
    // and not a moment before.
    await op.controller.settled();
    await clock.advance(GROW_INTERVAL_MS - 10);
    await op.controller.settled();
    expect(rmTotalNow()).toEqual(before);
    await clock.advance(10);
    await waitFor(() => rmTotalNow().vcores === want.vcores && rmTotalNow().memoryMiB === want.memoryMiB, 5000, 'held growth applied');
    await waitFor(() => op.controller.idle, 8000, 'operator idle');
    const resize = op.controller.writes.filter((x) => x.node === node && x.action.kind === 'resize').pop()!;
    expect(resize.at - grewAt).toBeGreaterThanOrEqual(GROW_INTERVAL_MS);
    const raised = seen.slice(seenBefore);
    expect(raised.length).toBe(1);
    expect(raised[0]!.rmTotal).toEqual(before);
    expect(raised[0]!.claim).toEqual({ cpu: want.vcores * 1000, memory: want.memoryMiB * MIB });
    expect(polls()).toBe(1);
  });

  test('a shrink right after a growth is not held by the interval', async () => {
    const seenBefore = seen.length;
    world.addBatchPod({ name: 'b2', node, cpuMilli: 6000, memoryBytes: 8 * GIB });
    const want = cap(21_000, 45 * GIB, 7000, 9 * GIB);
    await waitFor(() => rmTotalNow().vcores === want.vcores && rmTotalNow().memoryMiB === want.memoryMiB, 8000, 'shrink on the RM');
    await waitFor(() => seen.length > seenBefore, 8000, 'claim lowered');
    expect(lastClaimSeen()!.rmTotal).toEqual(want);
    await waitFor(() => op.controller.idle, 8000, 'operator idle');
    const w = op.controller.writes.filter((x) => x.node === node);
    expect(w.slice(-2).map((x) => x.action.kind)).toEqual(['resize', 'set-claim']);
    expect(polls()).toBe(1);
  });
});
