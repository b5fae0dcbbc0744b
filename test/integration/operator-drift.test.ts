/**
 * Done when #3 and #4: an NM restart (the RM forgets the override) is repaired within one poll;
 * with an HA pair, demoting or killing the active RM mid-run switches the operator to the other,
 * which gets every override back, and a change made right after the failover lands on the new
 * active RM (no lost update).
 */
import { afterEach, describe, expect, test } from 'vitest';
import { SimWorld } from '../../sim/world.js';
import { DEFAULT_CLUSTER_ID } from '../../kube/wire.js';
import {
  claimOf, expectedCapacity, GIB, metricsText, metricValue, MIB, rmNode, runOperator, setOrigin, settingsFor, waitFor, worldRmNode,
} from './operator-helpers.js';

// partitioned, s = 0.5, U = 0, K = NM pod (+ extra): capacity = floor((O − K) / 2).
const cap = expectedCapacity;

describe('drift repair', () => {
  let world: SimWorld | undefined;
  let op: Awaited<ReturnType<typeof runOperator>> | undefined;
  afterEach(async () => {
    await op?.stop();
    await world?.stop();
    op = undefined;
    world = undefined;
  });

  test('an NM restart (override forgotten) is repaired within one poll', async () => {
    world = await SimWorld.start({ nodes: 2, standIns: false, seed: false });
    const w = world;
    setOrigin(w, 'node-1', 11_000, 25 * GIB);
    setOrigin(w, 'node-2', 7000, 13 * GIB);
    const POLL_MS = 1000;
    op = await runOperator(settingsFor(w, { pollSeconds: POLL_MS / 1000 }));
    const want = cap(11_000, 25 * GIB);
    await waitFor(async () => JSON.stringify((await worldRmNode(w, 'node-1')).total) === JSON.stringify(want) && claimOf(w, 'node-1')?.cpu === want.vcores * 1000, 5000, 'converged');
    await op.controller.settled(w.kube.store.resourceVersion);
    const claim = claimOf(w, 'node-1');
    const nodePatches = w.kube.stats.count({ verb: 'patch', resource: 'nodes' });

    const polls0 = op.controller.pollCount(DEFAULT_CLUSTER_ID);
    w.yarn.cluster.restartNodeManager(w.nodeIdOf('node-1'));
    // The RM is back at the NM-reported 8 vcores / 16 GiB.
    expect((await worldRmNode(w, 'node-1')).total).toEqual({ vcores: 8, memoryMiB: 16_384 });
    const o = op;
    const pollsAtRepair = await waitFor(async () => {
      const t = (await worldRmNode(w, 'node-1')).total;
      return t.vcores === want.vcores && t.memoryMiB === want.memoryMiB ? o.controller.pollCount(DEFAULT_CLUSTER_ID) : 0;
    }, 3 * POLL_MS + 2000, 'repaired override');
    // The first poll after the restart sees the drift (the one running at the restart may have missed it).
    expect(pollsAtRepair - polls0).toBeLessThanOrEqual(2);
    // The RM has the total the moment the POST lands; the operator records the write when the
    // read-back returns, a moment later.
    const repair = await waitFor(() => o.controller.writes.filter((x) => x.action.kind === 'resize' && x.action.driftRepair).pop(), 2000, 'repair recorded');
    expect(repair.node).toBe('node-1');
    expect(repair.action).toMatchObject({ driftRepair: true, capacity: want });
    // The claim did not move and the Node was not patched for it: only the RM was wrong.
    expect(claimOf(w, 'node-1')).toEqual(claim);
    expect(w.kube.stats.count({ verb: 'patch', resource: 'nodes' })).toBe(nodePatches);
    const m = await metricsText(op.metricsUrl);
    expect(metricValue(m, 'loom_drift_repairs_total', { cluster: DEFAULT_CLUSTER_ID })).toBe(1);
    // node-2 was untouched.
    expect((await worldRmNode(w, 'node-2')).total).toEqual(cap(7000, 13 * GIB));
  });

  for (const how of ['demoted', 'killed'] as const) {
    test(`HA: the active RM ${how} mid-run — the other takes over with every override and no lost update`, async () => {
      world = await SimWorld.start({ nodes: 2, ha: true, standIns: false, seed: false });
      const w = world;
      const [rm1, rm2] = w.yarn.resourceManagers;
      setOrigin(w, 'node-1', 11_000, 25 * GIB);
      setOrigin(w, 'node-2', 9000, 17 * GIB);
      op = await runOperator(settingsFor(w, { pollSeconds: 0.5, rmTimeoutMs: 1000 }));
      const want1 = cap(11_000, 25 * GIB);
      const want2 = cap(9000, 17 * GIB);
      await waitFor(async () => JSON.stringify([(await rmNode(rm1!.url, 'node-1:8041')).total, (await rmNode(rm1!.url, 'node-2:8041')).total])
        === JSON.stringify([want1, want2]), 5000, 'converged on rm1');
      // The RM has a total as soon as its POST lands; the write is recorded when the read-back returns.
      const running = op;
      await waitFor(() => running.controller.idle, 5000, 'operator idle');
      expect(op.controller.writes.filter((x) => x.action.kind === 'resize')).toHaveLength(2);

      if (how === 'killed') await rm1!.stop();
      const active = w.yarn.failover();
      expect(active).toBe(rm2);
      // The new active rebuilt its nodes from NM registrations: overrides are gone.
      expect((await rmNode(rm2!.url, 'node-1:8041')).total).toEqual({ vcores: 8, memoryMiB: 16_384 });
      // A change right after the failover, before the operator polled again.
      w.addBatchPod({ name: 'after-failover', node: 'node-1', cpuMilli: 2000, memoryBytes: 4 * GIB });
      const want1b = cap(11_000, 25 * GIB, 3000, 5 * GIB);
      await waitFor(async () => JSON.stringify([(await rmNode(rm2!.url, 'node-1:8041')).total, (await rmNode(rm2!.url, 'node-2:8041')).total])
        === JSON.stringify([want1b, want2]), 8000, 'converged on rm2');
      expect(claimOf(w, 'node-1')).toEqual({ cpu: want1b.vcores * 1000, memory: want1b.memoryMiB * MIB });
      if (how === 'demoted') {
        // The standby refused with 307 and executed nothing: it answers 307 to the node read too.
        const r = await fetch(`${rm1!.url}/ws/v1/cluster/nodes/node-1:8041`, { redirect: 'manual' });
        expect(r.status).toBe(307);
      }
      // Still converged a moment later (no flapping between the two RMs).
      const resizes = w.yarn.cluster.counters.get('rm.resize');
      const polls0 = op.controller.pollCount(DEFAULT_CLUSTER_ID);
      const o = op;
      await waitFor(() => o.controller.pollCount(DEFAULT_CLUSTER_ID) >= polls0 + 2, 5000, 'two more polls');
      await op.controller.settled(w.kube.store.resourceVersion);
      expect(w.yarn.cluster.counters.get('rm.resize')).toBe(resizes);
      expect(op.controller.failures).toBe(0);
    });
  }
});
