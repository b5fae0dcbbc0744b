/**
 * A resize the operator could not confirm may still land: a real RM applies it asynchronously
 * (AdminService queues the update), and a POST whose answer was lost may have been executed. The
 * claim must keep covering both the RM's observed total and the unconfirmed capacity until the RM
 * shows the outcome — a claim lowered in between is what the fault suite once caught under load
 * (RM at 6 vcores against a claim of 4,000 m).
 *
 * The RM here runs on a clock the test holds: a queued resize lands only when the test moves that
 * clock, so "longer than the operator's read-back window" is exact, not a race. The invariant
 * checker samples from outside (the API server's store and the RM's model) throughout.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { ManualClock } from '../../sim/yarn/clock.js';
import { SimWorld } from '../../sim/world.js';
import {
  claimOf, expectedCapacity, GIB, runOperator, setOrigin, settingsFor, waitFor,
} from '../integration/operator-helpers.js';
import { InvariantChecker } from './invariants.js';
import { closeReplica, wireReplica, type ReplicaWiring } from './fault-world.js';

type Op = Awaited<ReturnType<typeof runOperator>>;

/** partitioned, s = 0.5, the NodeManager pod's 1 core / 1 GiB requested, nothing used. */
const cap = expectedCapacity;
const RESIZE_DELAY_MS = 1000;
const LOW = [17_000, 33 * GIB] as const; // 8 vcores / 16,384 MiB: what the NodeManager registers with
const HIGH = [25_000, 49 * GIB] as const; // 12 vcores / 24,576 MiB

describe('a resize the operator could not confirm', () => {
  let world: SimWorld | undefined;
  let op: Op | undefined;
  let wiring: ReplicaWiring | undefined;
  let checker: InvariantChecker | undefined;

  afterEach(async () => {
    checker?.disarm();
    await op?.stop();
    await closeReplica(wiring);
    await world?.stop();
    world = undefined; op = undefined; wiring = undefined; checker = undefined;
  });

  const rmTotal = (w: SimWorld) => { w.yarn.cluster.tick(); return { ...w.yarn.cluster.node(w.nodeIdOf('node-1'))!.total }; };

  /** Start converged at LOW (no resize needed: the NodeManager registered with exactly that). */
  async function start(viaProxy: boolean): Promise<{ w: SimWorld; o: Op; yarnClock: ManualClock }> {
    const yarnClock = new ManualClock();
    world = await SimWorld.start({ nodes: 1, standIns: false, seed: false, rmResizeDelayMs: RESIZE_DELAY_MS, yarnClock });
    const w = world;
    setOrigin(w, 'node-1', ...LOW);
    if (viaProxy) wiring = await wireReplica(w, 'op');
    op = await runOperator(settingsFor(viaProxy ? wiring!.world : w, { pollSeconds: 0.2 }));
    const o = op;
    await waitFor(() => claimOf(w, 'node-1')?.cpu === 8000, 10_000, 'first claim');
    await o.controller.settled(w.kube.store.resourceVersion);
    expect(rmTotal(w)).toEqual(cap(...LOW));
    checker = new InvariantChecker({ world: w, nodes: ['node-1'] });
    checker.arm();
    return { w, o, yarnClock };
  }

  /** Move the RM's clock until both the RM and the claim are back at LOW (the operator converged). */
  async function converge(w: SimWorld, yarnClock: ManualClock): Promise<void> {
    const want = cap(...LOW);
    await waitFor(() => {
      yarnClock.advance(RESIZE_DELAY_MS / 4);
      const t = rmTotal(w);
      return t.vcores === want.vcores && t.memoryMiB === want.memoryMiB && claimOf(w, 'node-1')?.cpu === want.vcores * 1000;
    }, 30_000, 'RM and claim back at the low origin', 50);
  }

  test('whose read-back never showed it (the RM applies it later than the read-back window): the claim is not lowered under it', async () => {
    const { w, o, yarnClock } = await start(false);
    // Grow: the claim goes up first, then the resize is queued on the RM — and does not land.
    setOrigin(w, 'node-1', ...HIGH);
    await waitFor(() => o.controller.failures > 0, 10_000, 'a resize not confirmed by its read-back');
    expect(claimOf(w, 'node-1')!.cpu).toBe(12_000);
    expect(rmTotal(w)).toEqual(cap(...LOW));
    // The origin falls back before the RM applied the growth. The RM still shows the old total —
    // but the queued update can land at any moment: the claim must keep covering it.
    setOrigin(w, 'node-1', ...LOW);
    await o.controller.settled(w.kube.store.resourceVersion);
    expect(claimOf(w, 'node-1')!.cpu, 'claim lowered while the growth was still queued on the RM').toBeGreaterThanOrEqual(12_000);
    // The queued growth lands; then the operator brings both back down, RM first.
    yarnClock.advance(RESIZE_DELAY_MS);
    expect(rmTotal(w)).toEqual(cap(...HIGH));
    await converge(w, yarnClock);
    checker!.disarm();
    expect(checker!.violations, JSON.stringify(checker!.violations, null, 1)).toEqual([]);
  }, 60_000);

  test('whose POST answer was lost (the RM may have executed it): the claim is not lowered under it', async () => {
    const { w, o, yarnClock } = await start(true);
    const rm = wiring!.rms[0]!;
    // Every resize reaches the RM, and every answer is lost on the way back.
    rm.rules.push({ match: (r) => r.method === 'POST' && r.path.endsWith('/resource'), kind: 'lose-answer' });
    setOrigin(w, 'node-1', ...HIGH);
    await waitFor(() => o.controller.failures > 0, 10_000, 'a resize whose answer was lost');
    expect(rm.forwarded.some((f) => f.method === 'POST')).toBe(true);
    expect(claimOf(w, 'node-1')!.cpu).toBe(12_000);
    setOrigin(w, 'node-1', ...LOW);
    await o.controller.settled(w.kube.store.resourceVersion);
    expect(claimOf(w, 'node-1')!.cpu, 'claim lowered while the growth it sent may still land').toBeGreaterThanOrEqual(12_000);
    rm.rules.length = 0;
    yarnClock.advance(RESIZE_DELAY_MS);
    expect(rmTotal(w)).toEqual(cap(...HIGH));
    await converge(w, yarnClock);
    checker!.disarm();
    expect(checker!.violations, JSON.stringify(checker!.violations, null, 1)).toEqual([]);
  }, 60_000);
});
