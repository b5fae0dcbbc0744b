/**
 * Done when #7: another writer's thirdPartyAllocations entry survives every operator write,
 * including when that writer patches its own entry (resourceVersion-guarded, over HTTP) in a
 * tight loop while the operator writes: neither side ever loses an update.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SimWorld } from '../../sim/world.js';
import { ANNOTATION_THIRD_PARTY } from '../../kube/wire.js';
import {
  GIB, MIB, allocationsOf, annotationOf, claimOf, metricValue, metricsText, runOperator, setOrigin, settingsFor, sleep, waitFor, worldRmNode,
} from './operator-helpers.js';

const OTHER = { name: 'spark-operator', priority: 'koord-batch', resources: { 'kubernetes.io/batch-cpu': '1500', 'kubernetes.io/batch-memory': '3Gi' }, owner: { kind: 'Team', id: 7 } };

describe("another writer's allocation entry", () => {
  let world: SimWorld;
  let op: Awaited<ReturnType<typeof runOperator>>;
  const node = 'node-1';

  beforeAll(async () => {
    world = await SimWorld.start({ nodes: 1, standIns: false, seed: false });
    world.kube.store.patch('nodes', undefined, node, 'merge', { metadata: { annotations: { [ANNOTATION_THIRD_PARTY]: JSON.stringify({ allocations: [OTHER] }) } } });
    setOrigin(world, node, 12_000, 30 * GIB);
    op = await runOperator(settingsFor(world, { pollSeconds: 0.5 }));
  });

  afterAll(async () => {
    await op?.stop();
    await world?.stop();
  });

  test('is kept as it was (unknown fields included) by the first claim write and by later ones', async () => {
    await waitFor(() => claimOf(world, node) !== undefined, 5000, 'claim');
    expect(allocationsOf(world, node).find((a) => a.name === 'spark-operator')).toEqual(OTHER);
    world.addBatchPod({ name: 'p1', node, cpuMilli: 3000, memoryBytes: 4 * GIB });
    await waitFor(() => claimOf(world, node)?.cpu === 4000, 3000, 'lower claim');
    world.deleteBatchPod('p1');
    await waitFor(() => claimOf(world, node)?.cpu === 5000, 3000, 'higher claim');
    const all = allocationsOf(world, node);
    expect(all.map((a) => a.name).sort()).toEqual(['hadoop-yarn', 'spark-operator']);
    expect(all.find((a) => a.name === 'spark-operator')).toEqual(OTHER);
  });

  test('survives a concurrent-write race; both writers end with their own latest value', async () => {
    const { kube } = world;
    const url = `${kube.url}/api/v1/nodes/${node}`;
    const headers = { authorization: `Bearer ${kube.token}` };
    let stop = false;
    let written = 0;
    let conflicts = 0;
    const lost: string[] = [];
    // The other writer: read, check its last write is still there, patch with the resourceVersion it read.
    const other = (async () => {
      while (!stop) {
        const cur = await (await fetch(url, { headers })).json() as { metadata: { resourceVersion: string; annotations?: Record<string, string> } };
        const list = JSON.parse(cur.metadata.annotations?.[ANNOTATION_THIRD_PARTY] ?? '{"allocations":[]}') as { allocations: { name: string; resources?: Record<string, string> }[] };
        const mine = list.allocations.find((a) => a.name === 'spark-operator');
        const expectCpu = written === 0 ? '1500' : String(1000 + written);
        if (mine?.resources?.['kubernetes.io/batch-cpu'] !== expectCpu) lost.push(`after write ${written}: ${JSON.stringify(mine)}`);
        const next = list.allocations.map((a) => (a.name === 'spark-operator' ? { ...a, resources: { ...a.resources, 'kubernetes.io/batch-cpu': String(1000 + written + 1) } } : a));
        const r = await fetch(url, {
          method: 'PATCH', headers: { ...headers, 'content-type': 'application/merge-patch+json' },
          body: JSON.stringify({ metadata: { resourceVersion: cur.metadata.resourceVersion, annotations: { [ANNOTATION_THIRD_PARTY]: JSON.stringify({ allocations: next }) } } }),
        });
        await r.text();
        if (r.status === 200) written++;
        else if (r.status === 409) conflicts++;
        else throw new Error(`other writer: HTTP ${r.status}`);
        // A busy controller, not a spin: a few milliseconds of work between two writes.
        await sleep(Math.random() * 4);
      }
    })();
    // Meanwhile the operator writes its claim again and again.
    const m0 = await metricsText(op.metricsUrl);
    try {
      for (let i = 0; i < 12; i++) {
        world.addBatchPod({ name: `race-${i}`, node, cpuMilli: 2000, memoryBytes: 2 * GIB });
        await waitFor(() => claimOf(world, node)?.cpu === 4000, 3000, `claim down (${i})`);
        world.deleteBatchPod(`race-${i}`);
        await waitFor(() => claimOf(world, node)?.cpu === 5000, 3000, `claim up (${i})`);
      }
      await op.controller.settled(world.kube.store.resourceVersion);
    } catch (err) {
      const mm = await metricsText(op.metricsUrl);
      console.log('ok', metricValue(mm, 'loom_node_patches_total', { outcome: 'ok' }), 'conflict', metricValue(mm, 'loom_node_patches_total', { outcome: 'conflict' }), 'errors', op.logs.lines().filter((l) => (l.level as number) >= 50).length);
      console.log(op.controller.writes.slice(-6), claimOf(world, node), written, conflicts);
      throw err;
    } finally {
      stop = true;
      await other;
    }
    expect(lost).toEqual([]);
    expect(written).toBeGreaterThan(10);
    const final = allocationsOf(world, node);
    expect(final.find((a) => a.name === 'spark-operator')?.resources?.['kubernetes.io/batch-cpu']).toBe(String(1000 + written));
    expect(final.find((a) => a.name === 'spark-operator')).toMatchObject({ priority: 'koord-batch', owner: { kind: 'Team', id: 7 } });
    // The operator's own entry is its latest claim, consistent with the RM.
    const rm = await worldRmNode(world, node);
    expect(claimOf(world, node)).toEqual({ cpu: rm.total.vcores * 1000, memory: rm.total.memoryMiB * MIB });
    const m1 = await metricsText(op.metricsUrl);
    const opConflicts = metricValue(m1, 'loom_node_patches_total', { outcome: 'conflict' }) - (metricValue(m0, 'loom_node_patches_total', { outcome: 'conflict' }) || 0);
    // The race really happened on at least one side.
    expect(conflicts + opConflicts).toBeGreaterThan(0);
    expect(op.controller.failures).toBe(0);
    expect(annotationOf(world, node)).toBeDefined();
  }, 60_000);
});
