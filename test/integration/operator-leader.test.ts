/**
 * Leader election: two operators on one Lease; only the leader writes; stopping the leader hands
 * over and the other converges a later change. Both run on one manual clock: the test moves time
 * in small steps and waits, after each, until both electors' rounds and both operators' work are
 * done — more than a lease duration passes without a single real-time sleep.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ManualClock } from '../../clock/clock.js';
import { SimWorld } from '../../sim/world.js';
import {
  claimOf, expectedCapacity, GIB, metricsText, metricValue, runOperator, setOrigin, settingsFor, waitFor, worldRmNode,
} from './operator-helpers.js';

const cap = expectedCapacity;

describe('leader election', () => {
  let world: SimWorld;
  let a: Awaited<ReturnType<typeof runOperator>>;
  let b: Awaited<ReturnType<typeof runOperator>>;
  let aStopped = false;
  const clock = new ManualClock();
  const election = { leaderElection: true, leaseDurationSeconds: 2, leaseName: 'loom-operator-test', leaseNamespace: 'loom-system' };
  const ops = () => [a, b].filter((o) => o !== undefined && !(o === a && aStopped));
  /** Move the operators' time by `ms`, then wait until everything it set off is done. */
  const step = async (ms: number) => {
    await clock.advance(ms);
    await waitFor(() => ops().every((o) => !o.elector?.busy), 5000, 'lease rounds');
    for (const o of ops()) await o.controller.settled(world.kube.store.resourceVersion);
  };

  beforeAll(async () => {
    world = await SimWorld.start({ nodes: 2, standIns: false, seed: false, rmResizeDelayMs: 0 });
    setOrigin(world, 'node-1', 9000, 17 * GIB);
    setOrigin(world, 'node-2', 11_000, 21 * GIB);
    a = await runOperator(settingsFor(world, { ...election, identity: 'op-a', pollSeconds: 0.3 }), undefined, { clock });
    await step(0);
    expect(a.controller.isLeading).toBe(true);
    b = await runOperator(settingsFor(world, { ...election, identity: 'op-b', pollSeconds: 0.3 }), undefined, { clock });
    await step(0);
  });

  afterAll(async () => {
    if (!aStopped) await a?.stop();
    await b?.stop();
    await world?.stop();
  });

  test('only the leader writes', async () => {
    await step(300);
    expect((await worldRmNode(world, 'node-2')).total).toEqual(cap(11_000, 21 * GIB));
    setOrigin(world, 'node-1', 13_000, 25 * GIB);
    await step(0);
    expect((await worldRmNode(world, 'node-1')).total).toEqual(cap(13_000, 25 * GIB));
    // More than a lease duration: op-b keeps trying and keeps failing to lead.
    for (let t = 0; t < 2500; t += 100) await step(100);
    expect(a.controller.writes.length).toBeGreaterThan(0);
    expect(a.controller.isLeading).toBe(true);
    expect(b.controller.isLeading).toBe(false);
    expect(b.controller.writes).toEqual([]);
    expect(b.controller.pollCount('__default_yarn_cluster__')).toBe(0);
    expect(b.elector!.stats.renewals).toBe(0);
    const lease = world.kube.store.get('leases', 'loom-system', 'loom-operator-test') as unknown as { spec: { holderIdentity: string } };
    expect(lease.spec.holderIdentity).toBe('op-a');
    expect(metricValue(await metricsText(a.metricsUrl), 'loom_leader')).toBe(1);
    expect(metricValue(await metricsText(b.metricsUrl), 'loom_leader')).toBe(0);
    const ready = await (await fetch(`${b.metricsUrl}/readyz`)).text();
    expect(ready).toMatch(/standby/);
  });

  test('stopping the leader hands over; the other converges a later change', async () => {
    const aWrites = a.controller.writes.length;
    await a.stop();
    aStopped = true;
    for (let i = 0; i < 10 && !b.controller.isLeading; i++) await step(400);
    expect(b.controller.isLeading).toBe(true);
    setOrigin(world, 'node-2', 7000, 13 * GIB);
    await step(0);
    expect((await worldRmNode(world, 'node-2')).total).toEqual(cap(7000, 13 * GIB));
    expect(claimOf(world, 'node-2')?.cpu).toBe(cap(7000, 13 * GIB).vcores * 1000);
    expect(b.controller.writes.some((w) => w.node === 'node-2')).toBe(true);
    expect(a.controller.writes.length).toBe(aWrites);
    const lease = world.kube.store.get('leases', 'loom-system', 'loom-operator-test') as unknown as { spec: { holderIdentity: string } };
    expect(lease.spec.holderIdentity).toBe('op-b');
  });
});
