/**
 * Done when #8: bad input — malformed annotations, bad quantities, an NM pod with a malformed
 * node-id, an unknown NodeId, and an RM answering garbage / HTML / empty / XML / 5xx / nothing —
 * gives a clear log line and a metric, never a crash, and never a zero-capacity write.
 * Cluster h is a second YARN simulator behind a fault-injecting proxy (the "hostile RM").
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SimWorld, yarnSiteXml, NM_NAMESPACE, BATCH_NAMESPACE } from '../../sim/world.js';
import { startYarnSim, type YarnSim } from '../../sim/yarn/index.js';
import { ANNOTATION_CLUSTER_ID, ANNOTATION_NODE_ID, ANNOTATION_THIRD_PARTY, BATCH_CPU, BATCH_MEMORY } from '../../kube/wire.js';
import {
  annotationOf, claimOf, expectedCapacity, GIB, metricsText, metricValue, rmNode, runOperator, setOrigin, setOriginRaw, settingsFor, startHostileRm, type HostileRm, type RmFault, waitFor, worldRmNode,
} from './operator-helpers.js';

const NM_REPORTED = { vcores: 8, memoryMiB: 16_384 };
const cap = expectedCapacity;

describe('bad input never crashes the operator nor writes zero', () => {
  let world: SimWorld;
  let simH: YarnSim;
  let proxy: HostileRm;
  let op: Awaited<ReturnType<typeof runOperator>>;
  const GARBAGE_THIRD_PARTY = '{"allocations": "not a list" ';
  const metrics = async () => metricsText(op.metricsUrl);
  const rmH = () => simH.resourceManagers[0]!.url;

  beforeAll(async () => {
    world = await SimWorld.start({ nodes: 7, standIns: false, seed: false });
    simH = await startYarnSim({ nodes: [{ host: 'node-6', rpcPort: 8041, ...NM_REPORTED, nmServer: false }] });
    proxy = await startHostileRm(rmH());
    writeFileSync(join(world.hadoopConfDir, 'h.yarn-site.xml'), yarnSiteXml([proxy.url]));
    const store = world.kube.store;
    for (let i = 1; i <= 7; i++) setOrigin(world, `node-${i}`, 9000, 17 * GIB);
    setOriginRaw(world, 'node-1', '{"resources": {"kubernetes.io/batch-cpu": 9000,');
    setOriginRaw(world, 'node-2', JSON.stringify({ resources: { [BATCH_CPU]: '12x', [BATCH_MEMORY]: '17Gi' } }));
    store.patch('pods', NM_NAMESPACE, 'nodemanager-node-3', 'merge', { metadata: { annotations: { [ANNOTATION_NODE_ID]: 'node-3' } } });
    store.patch('pods', NM_NAMESPACE, 'nodemanager-node-4', 'merge', { metadata: { annotations: { [ANNOTATION_NODE_ID]: 'ghost:8041' } } });
    store.patch('nodes', undefined, 'node-5', 'merge', { metadata: { annotations: { [ANNOTATION_THIRD_PARTY]: GARBAGE_THIRD_PARTY } } });
    store.patch('pods', NM_NAMESPACE, 'nodemanager-node-6', 'merge', { metadata: { annotations: { [ANNOTATION_CLUSTER_ID]: 'h' } } });
    // A pod with an unparsable quantity cannot exist: the API server refuses to decode it.
    expect(() => store.create('pods', {
      metadata: { name: 'bad-quantity', namespace: BATCH_NAMESPACE },
      spec: { nodeName: 'node-7', containers: [{ name: 'c', image: 'busybox', resources: { requests: { [BATCH_CPU]: 'two cores', [BATCH_MEMORY]: '1Gi' } } }] },
      status: { phase: 'Running' },
    }, { preserveStatus: true })).toThrow(/quantities must match/);
    op = await runOperator(settingsFor(world, { pollSeconds: 0.25, rmTimeoutMs: 300 }));
    await waitFor(async () => JSON.stringify((await rmNode(rmH(), 'node-6:8041')).total) === JSON.stringify(cap(9000, 17 * GIB)), 5000, 'node-6 converged');
    // Everything observed so far has been processed (no sleep: an explicit point).
    await op.controller.settled(world.kube.store.resourceVersion);
  });

  afterAll(async () => {
    await op?.stop();
    await proxy?.close();
    await simH?.stop();
    await world?.stop();
  });

  test('bad Kubernetes inputs: a log line and a metric each, the node left untouched', async () => {
    const logs = op.logs;
    const m = await metrics();
    // Nothing was written for nodes 1–5 and 7: no claim, the RM still has the NM-reported total.
    for (const n of ['node-1', 'node-2', 'node-3', 'node-4']) {
      expect(claimOf(world, n), n).toBeUndefined();
      expect((await worldRmNode(world, n)).total, n).toEqual(NM_REPORTED);
    }
    expect(annotationOf(world, 'node-5')).toBe(GARBAGE_THIRD_PARTY);
    expect((await worldRmNode(world, 'node-5')).total).toEqual(NM_REPORTED);
    // node-6 (healthy, cluster h) proves the operator was working meanwhile.
    expect(claimOf(world, 'node-6')).toBeDefined();

    const line = (node: string, re: RegExp) => logs.lines().find((l) => l.node === node && re.test(String(l.msg)));
    expect(line('node-1', /originExtendedAllocatable.*not JSON/)).toBeDefined();
    expect(line('node-2', /originExtendedAllocatable.*12x/)).toBeDefined();
    expect(line('node-3', /node-id.*"node-3".*not host:port/)).toMatchObject({ level: 40 });
    expect(line('node-4', /does not know node ghost:8041/)).toMatchObject({ level: 40 });
    expect(line('node-5', /thirdPartyAllocations/)).toMatchObject({ level: 40 });
    expect(metricValue(m, 'loom_input_errors_total', { source: 'origin-invalid' })).toBe(2);
    expect(metricValue(m, 'loom_input_errors_total', { source: 'nm-malformed' })).toBe(1);
    expect(metricValue(m, 'loom_input_errors_total', { source: 'rm-unknown-node' })).toBe(1);
    expect(metricValue(m, 'loom_input_errors_total', { source: 'input-invalid' })).toBe(1);
    // The ones that need attention are also Events on their Node.
    const events = world.kube.store.list('events', { namespace: 'default' }).items as unknown as { involvedObject: { name: string }; type: string; reason: string }[];
    for (const n of ['node-3', 'node-4', 'node-5']) {
      expect(events.some((e) => e.involvedObject.name === n && e.type === 'Warning'), n).toBe(true);
    }
  });

  test('a valid input later is picked up (the bad one was not fatal)', async () => {
    setOrigin(world, 'node-1', 9000, 17 * GIB);
    await waitFor(async () => JSON.stringify((await worldRmNode(world, 'node-1')).total) === JSON.stringify(cap(9000, 17 * GIB)), 3000, 'node-1 fixed');
    // And a good value turning bad keeps the last good state.
    const claim = claimOf(world, 'node-1');
    setOriginRaw(world, 'node-1', '{"resources":{"kubernetes.io/batch-cpu":"-5","kubernetes.io/batch-memory":"1Gi"}}');
    await waitFor(() => op.controller.decisions.get('node-1')?.skip?.code === 'origin-invalid' || op.logs.lines().some((l) => l.node === 'node-1' && /-5/.test(String(l.msg))), 3000, 'negative origin seen');
    await op.controller.settled(world.kube.store.resourceVersion);
    expect(claimOf(world, 'node-1')).toEqual(claim);
    expect((await worldRmNode(world, 'node-1')).total).toEqual(cap(9000, 17 * GIB));
  });

  let oCpu = 9000;
  const faults: RmFault[] = ['html', 'garbage', 'empty', 'xml-garbage', 'wrong-shape', '500', 'hang', 'down'];
  for (const fault of faults) {
    test(`RM answering ${fault}: logged and counted, nothing written, recovers`, async () => {
      const before = await metrics();
      const nLines = op.logs.lines().length;
      proxy.mode = fault;
      const failed = (m: string) => (metricValue(m, 'loom_rm_poll_failures_total', { cluster: 'h' }) || 0) > (metricValue(before, 'loom_rm_poll_failures_total', { cluster: 'h' }) || 0)
        || metricValue(m, 'loom_input_errors_total', { source: 'rm-unknown-node' }) > metricValue(before, 'loom_input_errors_total', { source: 'rm-unknown-node' });
      await waitFor(async () => failed(await metrics()), 5000, `a metric for ${fault}`);
      const claim = claimOf(world, 'node-6');
      const total = (await rmNode(rmH(), 'node-6:8041')).total;
      const from = proxy.requests.length;
      // A change that would need a resize: it must wait for a usable RM answer.
      oCpu += 2000;
      setOrigin(world, 'node-6', oCpu, 17 * GIB);
      // The change was seen and decided, and a poll of the RM started after it has ended: nothing
      // more will happen until the RM answers properly.
      const polls0 = op.controller.pollCount('h');
      await waitFor(() => op.controller.pollCount('h') >= polls0 + 1, 5000, 'another poll of cluster h');
      await op.controller.settled(world.kube.store.resourceVersion);
      expect(op.controller.decisions.get('node-6')?.skip?.code ?? op.controller.decisions.get('node-6')?.report?.code).toMatch(/rm-unavailable|rm-unknown-node/);
      const during = proxy.requests.slice(from);
      expect(during.length).toBeGreaterThan(0);
      expect(during.filter((r) => r.method === 'POST')).toEqual([]);
      expect(claimOf(world, 'node-6')).toEqual(claim);
      expect((await rmNode(rmH(), 'node-6:8041')).total).toEqual(total);
      const newLines = op.logs.lines().slice(nLines).filter((l) => (l.level as number) >= 40);
      expect(newLines.some((l) => /cluster h|"h"|node-6/.test(JSON.stringify(l))), JSON.stringify(newLines.slice(0, 3))).toBe(true);
      // Recovery: the pending change lands once the RM answers properly again.
      proxy.mode = 'ok';
      proxy.dropHung();
      await waitFor(async () => JSON.stringify((await rmNode(rmH(), 'node-6:8041')).total) === JSON.stringify(cap(oCpu, 17 * GIB)), 8000, `recovered from ${fault}`);
      // Never a zero: no resize body with 0 was ever sent.
      for (const r of proxy.requests.filter((x) => x.method === 'POST')) {
        const body = JSON.parse(r.body) as { resource: { memory: number; vCores: number } };
        expect(body.resource.memory).toBeGreaterThan(0);
        expect(body.resource.vCores).toBeGreaterThan(0);
      }
    });
  }

  test('an RM failing a resize (5xx on POST) is retried, never half-applied downwards', async () => {
    // The cached view is fine, the POST fails: the raised claim stays (safe side), the RM keeps its
    // old capacity, a Warning Event is posted, and the resize is retried until it lands.
    const total = (await rmNode(rmH(), 'node-6:8041')).total;
    proxy.mode = '500';
    const from = proxy.requests.length;
    oCpu += 2000;
    setOrigin(world, 'node-6', oCpu, 17 * GIB);
    await waitFor(() => proxy.requests.slice(from).some((r) => r.method === 'POST'), 10_000, 'resize attempted');
    expect((await rmNode(rmH(), 'node-6:8041')).total).toEqual(total);
    expect(claimOf(world, 'node-6')!.cpu).toBeGreaterThanOrEqual(total.vcores * 1000);
    await waitFor(() => op.logs.lines().some((l) => l.node === 'node-6' && /resize failed/.test(String(l.msg))), 10_000, 'resize failure logged');
    proxy.mode = 'ok';
    await waitFor(async () => JSON.stringify((await rmNode(rmH(), 'node-6:8041')).total) === JSON.stringify(cap(oCpu, 17 * GIB)), 8000, 'resize retried');
    const events = world.kube.store.list('events', { namespace: 'default' }).items as unknown as { involvedObject: { name: string }; reason: string }[];
    expect(events.some((e) => e.involvedObject.name === 'node-6' && e.reason === 'YarnResizeFailed')).toBe(true);
  });

  test('an RM answering XML instead of JSON is understood', async () => {
    proxy.mode = 'xml';
    oCpu += 2000;
    setOrigin(world, 'node-6', oCpu, 17 * GIB);
    await waitFor(async () => JSON.stringify((await rmNode(rmH(), 'node-6:8041')).total) === JSON.stringify(cap(oCpu, 17 * GIB)), 5000, 'converged through XML');
    proxy.mode = 'ok';
    const h = await fetch(`${op.metricsUrl}/healthz`);
    expect(h.status).toBe(200);
  });
});
