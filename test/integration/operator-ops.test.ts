/** /metrics, /healthz, /readyz answer; a resize posts a Kubernetes Event on its Node; per-node figures are exported. */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SimWorld } from '../../sim/world.js';
import { DEFAULT_CLUSTER_ID } from '../../kube/wire.js';
import { GIB, MIB, metricValue, metricsText, runOperator, setOrigin, settingsFor, waitFor, worldRmNode } from './operator-helpers.js';

describe('operations surface', () => {
  let world: SimWorld;
  let op: Awaited<ReturnType<typeof runOperator>>;

  beforeAll(async () => {
    world = await SimWorld.start({ nodes: 1, standIns: false, seed: false });
    setOrigin(world, 'node-1', 9000, 17 * GIB);
    op = await runOperator(settingsFor(world, { pollSeconds: 0.3 }));
    await waitFor(async () => (await worldRmNode(world, 'node-1')).total.vcores === 4, 5000, 'converged');
  });

  afterAll(async () => {
    await op?.stop();
    await world?.stop();
  });

  test('/healthz and /readyz answer 200; unknown paths 404', async () => {
    const h = await fetch(`${op.metricsUrl}/healthz`);
    expect(h.status).toBe(200);
    expect(await h.text()).toMatch(/^ok/);
    const r = await fetch(`${op.metricsUrl}/readyz`);
    expect(r.status).toBe(200);
    expect(await r.text()).toMatch(/leader/);
    expect((await fetch(`${op.metricsUrl}/nope`)).status).toBe(404);
  });

  test('/metrics exports the ledger per node, RM latency and the leader flag', async () => {
    const m = await metricsText(op.metricsUrl);
    // One unit per metric, base units: cores and bytes.
    const q = (resource: 'cpu' | 'memory', quantity: string) =>
      metricValue(m, resource === 'cpu' ? 'loom_node_batch_cpu_cores' : 'loom_node_batch_memory_bytes', { node: 'node-1', quantity });
    expect(m).not.toMatch(/^loom_node_batch\{/m);
    expect(q('cpu', 'origin')).toBe(9);
    expect(q('memory', 'origin')).toBe(17 * GIB);
    expect(q('cpu', 'k8s_requested')).toBe(1);
    expect(q('cpu', 'yarn_capacity')).toBe(4);
    expect(q('memory', 'yarn_capacity')).toBe(8192 * MIB);
    expect(q('cpu', 'claim')).toBe(4);
    expect(q('cpu', 'yarn_used')).toBe(0);
    expect(metricValue(m, 'loom_rm_request_duration_seconds_count', { cluster: DEFAULT_CLUSTER_ID, endpoint: 'nodes.list' })).toBeGreaterThan(0);
    expect(metricValue(m, 'loom_rm_resizes_total', { cluster: DEFAULT_CLUSTER_ID })).toBe(1);
    expect(metricValue(m, 'loom_rm_available', { cluster: DEFAULT_CLUSTER_ID })).toBe(1);
    expect(metricValue(m, 'loom_leader')).toBe(1);
    // A reconcile is timed when it ends, after its resize's read-back: the RM may show the resize first.
    await waitFor(async () => (metricValue(await metricsText(op.metricsUrl), 'loom_reconcile_duration_seconds_count') ?? 0) > 0, 5000, 'a reconcile timed');
    expect(m).toMatch(/loom_operator_process_cpu/);
  });

  test('a resize posts an Event on the Node', async () => {
    world.addBatchPod({ name: 'p', node: 'node-1', cpuMilli: 2000, memoryBytes: 2 * GIB });
    await waitFor(async () => (await worldRmNode(world, 'node-1')).total.vcores === 3, 3000, 'shrunk');
    const events = await waitFor(() => {
      const items = world.kube.store.list('events', { namespace: 'default' }).items as unknown as {
        involvedObject: { kind: string; name: string }; reason: string; type: string; message: string; reportingComponent: string;
      }[];
      const mine = items.filter((e) => e.involvedObject.kind === 'Node' && e.involvedObject.name === 'node-1' && e.reason === 'YarnCapacityResized');
      return mine.length >= 2 ? mine : undefined;
    }, 3000, 'two resize Events');
    expect(events.every((e) => e.type === 'Normal' && e.reportingComponent === 'loom-operator')).toBe(true);
    expect(events.map((e) => e.message).join('\n')).toMatch(/node-1:8041 resized to 3 vcores \/ 7168 MiB \(was 4 \/ 8192\)/);
  });
});
