/**
 * Done when #5: two YARN clusters (yarn-site.xml + b.yarn-site.xml) are reconciled independently,
 * and one RM being down — refusing, resetting or hanging — does not stall the other cluster.
 * Cluster b is a second YARN simulator reached through a fault-injecting proxy.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SimWorld, yarnSiteXml, NM_NAMESPACE } from '../../sim/world.js';
import { startYarnSim, type YarnSim } from '../../sim/yarn/index.js';
import { ANNOTATION_CLUSTER_ID, DEFAULT_CLUSTER_ID } from '../../kube/wire.js';
import {
  claimOf, expectedCapacity, GIB, metricsText, metricValue, MIB, rmNode, runOperator, setOrigin, settingsFor, startHostileRm, type HostileRm, waitFor,
} from './operator-helpers.js';

const cap = expectedCapacity;
const NM_REPORTED = { vcores: 8, memoryMiB: 16_384 };

describe('two YARN clusters', () => {
  let world: SimWorld;
  let simB: YarnSim;
  let proxy: HostileRm;
  let op: Awaited<ReturnType<typeof runOperator>>;
  const rmA = () => world.yarn.resourceManagers[0]!.url;
  const rmB = () => simB.resourceManagers[0]!.url;
  const total = async (rm: string, node: string) => (await rmNode(rm, `${node}:8041`)).total;
  const is = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

  beforeAll(async () => {
    world = await SimWorld.start({ nodes: 4, standIns: false, seed: false });
    simB = await startYarnSim({
      nodes: ['node-3', 'node-4'].map((host) => ({ host, rpcPort: 8041, ...NM_REPORTED, nmServer: false })),
    });
    proxy = await startHostileRm(rmB());
    writeFileSync(join(world.hadoopConfDir, 'b.yarn-site.xml'), yarnSiteXml([proxy.url]));
    for (const n of ['node-3', 'node-4']) {
      world.kube.store.patch('pods', NM_NAMESPACE, `nodemanager-${n}`, 'merge', { metadata: { annotations: { [ANNOTATION_CLUSTER_ID]: 'b' } } });
    }
    setOrigin(world, 'node-1', 9000, 17 * GIB);
    setOrigin(world, 'node-2', 11_000, 21 * GIB);
    setOrigin(world, 'node-3', 13_000, 25 * GIB);
    setOrigin(world, 'node-4', 7000, 13 * GIB);
    op = await runOperator(settingsFor(world, { pollSeconds: 0.5, rmTimeoutMs: 20_000 }));
  });

  afterAll(async () => {
    await op?.stop();
    await proxy?.close();
    await simB?.stop();
    await world?.stop();
  });

  test('each node is resized on its own cluster only', async () => {
    // Converged: each RM total and each claim (a shrink writes the claim after the RM, so both are waited for).
    const claimed = (n: string, c: { vcores: number; memoryMiB: number }) => is(claimOf(world, n), { cpu: c.vcores * 1000, memory: c.memoryMiB * MIB });
    await waitFor(async () => is(await total(rmA(), 'node-1'), cap(9000, 17 * GIB)) && is(await total(rmA(), 'node-2'), cap(11_000, 21 * GIB))
      && is(await total(rmB(), 'node-3'), cap(13_000, 25 * GIB)) && is(await total(rmB(), 'node-4'), cap(7000, 13 * GIB))
      && claimed('node-1', cap(9000, 17 * GIB)) && claimed('node-2', cap(11_000, 21 * GIB)) && claimed('node-3', cap(13_000, 25 * GIB)) && claimed('node-4', cap(7000, 13 * GIB)),
    8000, 'four nodes converged');
    // Cluster a's RM also knows node-3/node-4 (the world registers every node) but was not touched for them.
    expect(await total(rmA(), 'node-3')).toEqual(NM_REPORTED);
    expect(await total(rmA(), 'node-4')).toEqual(NM_REPORTED);
    expect(claimOf(world, 'node-3')).toEqual({ cpu: 6000, memory: cap(13_000, 25 * GIB).memoryMiB * MIB });
    const m = await metricsText(op.metricsUrl);
    expect(metricValue(m, 'loom_rm_resizes_total', { cluster: 'b' })).toBe(2);
    expect(metricValue(m, 'loom_rm_resizes_total', { cluster: DEFAULT_CLUSTER_ID })).toBe(2);
  });

  for (const fault of ['hang', 'down'] as const) {
    test(`cluster b's RM ${fault === 'hang' ? 'hanging' : 'resetting connections'} does not stall cluster a`, async () => {
      const claim3 = claimOf(world, 'node-3');
      const b3 = await total(rmB(), 'node-3');
      proxy.mode = fault;
      // node-3 (cluster b) changes first, so its reconcile is stuck on b's RM when node-1's arrives.
      const bump = fault === 'hang' ? 2000 : 4000;
      setOrigin(world, 'node-3', 13_000 - bump, 25 * GIB);
      await waitFor(() => proxy.requests.some((r) => r.mode === fault), 3000, 'cluster b being asked');
      // node-3's reconcile is in flight (held up by b's RM) when node-1's change arrives.
      await waitFor(() => op.controller.queue.inFlight >= 1 || op.controller.decisions.get('node-3')?.skip !== undefined, 3000, 'node-3 held up on b');
      setOrigin(world, 'node-1', 9000 - bump, 17 * GIB);
      await waitFor(async () => is(await total(rmA(), 'node-1'), cap(9000 - bump, 17 * GIB)), 3000, 'cluster a converged while b is down');
      // Nothing reached b's RM, and node-3's claim was not lowered for a resize that did not happen.
      expect(await total(rmB(), 'node-3')).toEqual(b3);
      expect(claimOf(world, 'node-3')).toEqual(claim3);
      // b recovers: node-3 catches up.
      proxy.mode = 'ok';
      proxy.dropHung();
      await waitFor(async () => is(await total(rmB(), 'node-3'), cap(13_000 - bump, 25 * GIB)), 10_000, 'cluster b converged after recovery');
      const want3 = cap(13_000 - bump, 25 * GIB);
      await waitFor(() => claimOf(world, 'node-3')?.cpu === want3.vcores * 1000, 3000, 'node-3 claim');
    });
  }
});
