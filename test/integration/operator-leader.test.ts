/**
 * Leader election: two operators on one Lease; only the leader writes; stopping the leader hands
 * over and the other converges a later change.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SimWorld } from '../../sim/world.js';
import { GIB, MIB, claimOf, metricValue, metricsText, runOperator, setOrigin, settingsFor, sleep, waitFor, worldRmNode } from './operator-helpers.js';

const cap = (oCpu: number, oMem: number, kCpu = 1000, kMem = GIB) => ({
  vcores: Math.floor((oCpu - kCpu) / 2 / 1000), memoryMiB: Math.floor((oMem - kMem) / 2 / MIB),
});

describe('leader election', () => {
  let world: SimWorld;
  let a: Awaited<ReturnType<typeof runOperator>>;
  let b: Awaited<ReturnType<typeof runOperator>>;
  let aStopped = false;
  const election = { leaderElection: true, leaseDurationSeconds: 2, leaseName: 'loom-operator-test', leaseNamespace: 'loom-system' };

  beforeAll(async () => {
    world = await SimWorld.start({ nodes: 2, standIns: false, seed: false });
    setOrigin(world, 'node-1', 9000, 17 * GIB);
    setOrigin(world, 'node-2', 11_000, 21 * GIB);
    a = await runOperator(settingsFor(world, { ...election, identity: 'op-a', pollSeconds: 0.3 }));
    await waitFor(() => a.controller.isLeading, 5000, 'op-a leading');
    b = await runOperator(settingsFor(world, { ...election, identity: 'op-b', pollSeconds: 0.3 }));
  });

  afterAll(async () => {
    if (!aStopped) await a?.stop();
    await b?.stop();
    await world?.stop();
  });

  test('only the leader writes', async () => {
    await waitFor(async () => JSON.stringify((await worldRmNode(world, 'node-2')).total) === JSON.stringify(cap(11_000, 21 * GIB)), 5000, 'converged by op-a');
    setOrigin(world, 'node-1', 13_000, 25 * GIB);
    await waitFor(async () => JSON.stringify((await worldRmNode(world, 'node-1')).total) === JSON.stringify(cap(13_000, 25 * GIB)), 5000, 'change converged');
    await sleep(2500); // more than a lease duration: op-b keeps trying and keeps failing to lead
    expect(a.controller.writes.length).toBeGreaterThan(0);
    expect(b.controller.isLeading).toBe(false);
    expect(b.controller.writes).toEqual([]);
    expect(b.controller.pollCount('__default_yarn_cluster__')).toBe(0);
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
    await waitFor(() => b.controller.isLeading, 5000, 'op-b leading');
    setOrigin(world, 'node-2', 7000, 13 * GIB);
    await waitFor(async () => JSON.stringify((await worldRmNode(world, 'node-2')).total) === JSON.stringify(cap(7000, 13 * GIB)), 5000, 'converged by op-b');
    await waitFor(() => claimOf(world, 'node-2')?.cpu === cap(7000, 13 * GIB).vcores * 1000, 3000, 'claim by op-b');
    expect(b.controller.writes.some((w) => w.node === 'node-2')).toBe(true);
    expect(a.controller.writes.length).toBe(aWrites);
    const lease = world.kube.store.get('leases', 'loom-system', 'loom-operator-test') as unknown as { spec: { holderIdentity: string } };
    expect(lease.spec.holderIdentity).toBe('op-b');
  });
});
