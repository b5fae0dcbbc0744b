/**
 * A restarted operator finds every claim and every RM total as it left them: it must write
 * nothing, also when its pod list arrives long after its node list and its first RM poll (a
 * 20,000-node cluster lists 600,000 pods in tens of seconds). Until both caches are synced a node
 * looks as if it had no pods — no NodeManager — and deciding on that view clears its claim while
 * the RM keeps the capacity: the same units promised to both schedulers. Nor does it poll the RM
 * before then: the answer could not be used, and at that scale each poll is a 35 MB list.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { SimWorld } from '../../sim/world.js';
import {
  claimOf, expectedCapacity, GIB, runOperator, sameJson, setOrigin, settingsFor, waitFor, worldRmNode,
} from '../integration/operator-helpers.js';
import { InvariantChecker } from './invariants.js';
import { closeReplica, wireReplica, type ReplicaWiring } from './fault-world.js';

type Op = Awaited<ReturnType<typeof runOperator>>;

const cap = expectedCapacity;
const same = sameJson;
const isPodList = (r: { method: string; path: string }) => r.method === 'GET' && /^\/api\/v1\/pods(\?|$)/.test(r.path) && !/[?&]watch=(true|1)/.test(r.path);
const isNodeWrite = (f: { method: string; path: string }) => (f.method === 'PATCH' || f.method === 'PUT') && f.path.startsWith('/api/v1/nodes/');

describe('operator restart', () => {
  let world: SimWorld | undefined;
  const ops: Op[] = [];
  const replicas: ReplicaWiring[] = [];
  let checker: InvariantChecker | undefined;

  afterEach(async () => {
    checker?.disarm();
    for (const r of replicas) r.api.releaseHung();
    await Promise.all(ops.splice(0).map((o) => o.stop()));
    await Promise.all(replicas.splice(0).map((r) => closeReplica(r)));
    await world?.stop();
    world = undefined;
    checker = undefined;
  });

  test('decides nothing before the pod list is in: a slow pod list after a restart clears no claim', async () => {
    world = await SimWorld.start({ nodes: 2, standIns: false, seed: false });
    const w = world;
    setOrigin(w, 'node-1', 9000, 17 * GIB);
    setOrigin(w, 'node-2', 11_000, 21 * GIB);
    const first = await runOperator(settingsFor(w, { pollSeconds: 0.2 }));
    ops.push(first);
    await waitFor(async () => same((await worldRmNode(w, 'node-1')).total, cap(9000, 17 * GIB))
      && same((await worldRmNode(w, 'node-2')).total, cap(11_000, 21 * GIB)) && first.controller.idle, 8000, 'first operator converged');
    await first.stop();
    ops.splice(0);
    const claims = { 'node-1': claimOf(w, 'node-1'), 'node-2': claimOf(w, 'node-2') };
    expect(claims['node-1']?.cpu).toBe(cap(9000, 17 * GIB).vcores * 1000);

    // The restarted operator's first pod list gets no answer; its node list and RM polls do.
    const r = await wireReplica(w, 'op');
    replicas.push(r);
    r.api.rules.push({ match: isPodList, kind: 'blackhole', count: 1 });
    checker = new InvariantChecker({ world: w, nodes: ['node-1', 'node-2'] });
    checker.arm();
    const second = await runOperator(settingsFor(r.world, { pollSeconds: 0.2 }));
    ops.push(second);
    const c = second.controller;
    await waitFor(() => c.inventory.nodes.size === 2, 5000, 'nodes listed');
    await c.queue.whenIdle();
    expect(r.api.forwarded.filter(isNodeWrite), 'no Node write while the pods are not listed').toEqual([]);
    // Nor an RM poll: its answer could not be used yet (and at scale it is a large list).
    expect(c.pollCount('__default_yarn_cluster__'), 'no RM poll while the pods are not listed').toBe(0);

    // The pod list fails (reset) and is retried; then the operator has seen everything.
    r.api.releaseHung();
    await c.synced;
    await c.settled();
    expect(c.pollCount('__default_yarn_cluster__'), 'polled once the caches are synced').toBeGreaterThan(0);
    checker.disarm();
    expect(r.api.forwarded.filter(isNodeWrite)).toEqual([]);
    expect({ 'node-1': claimOf(w, 'node-1'), 'node-2': claimOf(w, 'node-2') }).toEqual(claims);
    expect(checker.violations, JSON.stringify(checker.violations)).toEqual([]);
  });
});
