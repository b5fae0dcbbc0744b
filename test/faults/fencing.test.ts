/**
 * The failures a fault-injection run found, one test each, checked from outside by the invariant
 * checker (the API server's store and the RM's model, never the operator's memory):
 * - a leader whose lease renewals hang keeps writing after another replica took the lease;
 * - a re-elected leader acts on the RM view of its previous term;
 * - YARN use learned from a resize read-back is never reconciled into the claim;
 * - a 409 on a claim write re-applies the old claim instead of deciding again.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { SimWorld } from '../../sim/world.js';
import { ANNOTATION_THIRD_PARTY } from '../../kube/wire.js';
import {
  captureLogs, claimOf, expectedCapacity, GIB, runOperator, sameJson, setOrigin, settingsFor, waitFor, worldRmNode,
} from '../integration/operator-helpers.js';
import { InvariantChecker, claimFromAnnotation } from './invariants.js';
import { closeReplica, wireReplica, type ReplicaWiring } from './fault-world.js';

type Op = Awaited<ReturnType<typeof runOperator>>;

const cap = expectedCapacity;
const same = sameJson;
const LEASE = { namespace: 'loom-system', name: 'loom-fault-test' };

describe('operator under faults', () => {
  let world: SimWorld | undefined;
  const ops: Op[] = [];
  const replicas: ReplicaWiring[] = [];
  let checker: InvariantChecker | undefined;

  afterEach(async () => {
    checker?.disarm();
    for (const r of replicas) { r.api.releaseHung(); for (const p of r.rms) p.releaseHung(); }
    await Promise.all(ops.splice(0).map((o) => o.stop()));
    await Promise.all(replicas.splice(0).map((r) => closeReplica(r)));
    await world?.stop();
    world = undefined;
    checker = undefined;
  });

  test('a leader whose lease renewals hang stops writing before another replica can take over', async () => {
    world = await SimWorld.start({ nodes: 2, standIns: false, seed: false });
    const w = world;
    setOrigin(w, 'node-1', 9000, 17 * GIB);
    setOrigin(w, 'node-2', 11_000, 21 * GIB);
    const election = { leaderElection: true, leaseDurationSeconds: 2, leaseName: LEASE.name, leaseNamespace: LEASE.namespace, pollSeconds: 0.2 };
    const ra = await wireReplica(w, 'op-a');
    const rb = await wireReplica(w, 'op-b');
    replicas.push(ra, rb);
    const a = await runOperator(settingsFor(ra.world, { ...election, identity: 'op-a' }));
    ops.push(a);
    await waitFor(async () => a.controller.isLeading && same((await worldRmNode(w, 'node-2')).total, cap(11_000, 21 * GIB)), 8000, 'op-a leading and converged');
    const b = await runOperator(settingsFor(rb.world, { ...election, identity: 'op-b' }));
    ops.push(b);
    checker = new InvariantChecker({ world: w, nodes: ['node-1', 'node-2'], lease: LEASE });
    checker.watchReplica('op-a', [ra.api, ...ra.rms]);
    checker.watchReplica('op-b', [rb.api, ...rb.rms]);
    checker.arm();

    // op-a's lease requests go into a black hole; everything else it sends still arrives.
    ra.api.rules.push({ match: (r) => r.path.includes('/leases'), kind: 'blackhole' });
    // Churn: each origin change is a reason to write, for whoever believes it leads.
    let oCpu = 9000;
    await waitFor(async () => {
      oCpu = oCpu === 9000 ? 13_000 : 9000;
      setOrigin(w, 'node-1', oCpu, 17 * GIB);
      await new Promise((r) => setTimeout(r, 50));
      return b.controller.isLeading;
    }, 20_000, 'op-b leading');
    for (let i = 0; i < 6; i++) {
      oCpu = oCpu === 9000 ? 13_000 : 9000;
      setOrigin(w, 'node-1', oCpu, 17 * GIB);
      await waitFor(async () => same((await worldRmNode(w, 'node-1')).total, cap(oCpu, 17 * GIB)), 10_000, `op-b converged change ${i}`);
    }
    checker.disarm();
    expect(a.controller.isLeading).toBe(false);
    expect(checker.unleased, JSON.stringify(checker.unleased.slice(0, 3))).toEqual([]);
    expect(checker.violations, JSON.stringify(checker.violations, null, 1)).toEqual([]);
    // op-b did the work.
    expect(rb.api.forwarded.some((f) => f.method === 'PATCH' && f.path.startsWith('/api/v1/nodes/'))).toBe(true);
  }, 60_000);

  test('an override the RM forgot during a leader change is repaired within one poll of the new term', async () => {
    world = await SimWorld.start({ nodes: 2, standIns: false, seed: false });
    const w = world;
    setOrigin(w, 'node-1', 9000, 17 * GIB);
    setOrigin(w, 'node-2', 11_000, 21 * GIB);
    const POLL = 0.3;
    const election = { leaderElection: true, leaseDurationSeconds: 2, leaseName: LEASE.name, leaseNamespace: LEASE.namespace, pollSeconds: POLL };
    const ra = await wireReplica(w, 'op-a');
    const rb = await wireReplica(w, 'op-b');
    replicas.push(ra, rb);
    const a = await runOperator(settingsFor(ra.world, { ...election, identity: 'op-a' }));
    ops.push(a);
    await waitFor(async () => a.controller.isLeading && same((await worldRmNode(w, 'node-1')).total, cap(9000, 17 * GIB)) && a.controller.idle, 8000, 'op-a converged');
    const b = await runOperator(settingsFor(rb.world, { ...election, identity: 'op-b' }));
    ops.push(b);
    checker = new InvariantChecker({ world: w, nodes: ['node-1', 'node-2'], lease: LEASE });
    checker.watchReplica('op-a', [ra.api, ...ra.rms]);
    checker.watchReplica('op-b', [rb.api, ...rb.rms]);
    checker.arm();
    // The leader is cut off from everything; meanwhile the NM restarts and the RM forgets.
    ra.api.rules.push({ match: () => true, kind: 'blackhole' });
    for (const p of ra.rms) p.rules.push({ match: () => true, kind: 'blackhole' });
    w.yarn.cluster.restartNodeManager(w.nodeIdOf('node-1'));
    checker.exposed(['node-1'], 'nm-restart during a leader change');
    await waitFor(() => b.controller.isLeading, 20_000, 'op-b leading');
    const polls0 = b.controller.pollCount('__default_yarn_cluster__');
    await waitFor(() => checker!.exposures.every((e) => e.end !== undefined), 10_000, 'exposure closed');
    // The new term polls first; that poll sees the drift and the repair follows at once (counted in
    // polls, not in wall time).
    expect(b.controller.pollCount('__default_yarn_cluster__') - polls0).toBeLessThanOrEqual(2);
    checker.disarm();
    expect(checker.violations, JSON.stringify(checker.violations)).toEqual([]);
    expect(checker.unleased).toEqual([]);
    ra.api.rules.length = 0;
    for (const p of ra.rms) p.rules.length = 0;
  }, 60_000);

  test('a re-elected leader does not act on the RM view of its previous term', async () => {
    world = await SimWorld.start({ nodes: 1, standIns: false, seed: false });
    const w = world;
    setOrigin(w, 'node-1', 9000, 17 * GIB);
    const op = await runOperator(settingsFor(w, { pollSeconds: 0.2 }));
    ops.push(op);
    const t1 = cap(9000, 17 * GIB);
    await waitFor(async () => same((await worldRmNode(w, 'node-1')).total, t1) && op.controller.idle, 5000, 'converged');
    checker = new InvariantChecker({ world: w, nodes: ['node-1'] });
    checker.arm();

    op.controller.setLeading(false);
    // Meanwhile another leader grows node-1 (claim first, then the RM), then loses its lease
    // before it could react to the origin going back down.
    const t2 = cap(13_000, 25 * GIB);
    setOrigin(w, 'node-1', 13_000, 25 * GIB);
    const claim2 = JSON.stringify({ allocations: [{ name: 'hadoop-yarn', priority: 'koord-batch', resources: { 'kubernetes.io/batch-cpu': String(t2.vcores * 1000), 'kubernetes.io/batch-memory': `${t2.memoryMiB}Mi` } }] });
    w.kube.store.patch('nodes', undefined, 'node-1', 'merge', { metadata: { annotations: { [ANNOTATION_THIRD_PARTY]: claim2 } } });
    w.yarn.cluster.updateNodeResource(w.nodeIdOf('node-1'), t2, -1);
    setOrigin(w, 'node-1', 9000, 17 * GIB);
    const rv = w.kube.store.get('nodes', undefined, 'node-1')!.metadata.resourceVersion;
    await waitFor(() => op.controller.seenNodeVersion('node-1') === rv, 5000, 'the standby saw the last change');

    // Re-elected: its first write must come from a fresh poll (RM at t2), not from t1.
    op.controller.setLeading(true);
    await waitFor(async () => same((await worldRmNode(w, 'node-1')).total, t1) && claimOf(w, 'node-1')?.cpu === t1.vcores * 1000 && op.controller.idle, 5000, 'converged again');
    checker.disarm();
    expect(checker.violations, JSON.stringify(checker.violations)).toEqual([]);
  });

  test('YARN use learned from a resize read-back is reconciled into the claim at once', async () => {
    world = await SimWorld.start({ nodes: 1, standIns: false, seed: false });
    const w = world;
    const r = await wireReplica(w, 'op');
    replicas.push(r);
    setOrigin(w, 'node-1', 9000, 17 * GIB);
    const op = await runOperator(settingsFor(r.world, { pollSeconds: 0.3 }));
    ops.push(op);
    const t = cap(9000, 17 * GIB);
    await waitFor(async () => same((await worldRmNode(w, 'node-1')).total, t) && op.controller.idle, 5000, 'converged');
    checker = new InvariantChecker({ world: w, nodes: ['node-1'] });
    checker.arm();

    // The NM restarts: the RM is back at the NM's 8 vcores. Right after the RM answered the next
    // poll (so the poll says YARN uses nothing), YARN allocates 5 vcores into the big total.
    let submitted = false;
    r.rms[0]!.onAnswer = (f) => {
      if (submitted || f.method !== 'GET' || !/\/ws\/v1\/cluster\/nodes(\?|$)/.test(f.path)) return;
      submitted = true;
      w.submitApp({ name: 'late', am: { vcores: 1, memoryMiB: 1024 }, containers: [{ count: 4, vcores: 1, memoryMiB: 1024 }] });
      w.yarn.cluster.tick();
    };
    w.yarn.cluster.restartNodeManager(w.nodeIdOf('node-1'));
    checker.exposed(['node-1'], 'nm-restart');
    await waitFor(() => submitted, 5000, 'allocation after the poll');
    const used = () => w.yarn.cluster.node(w.nodeIdOf('node-1'))!.used;
    expect(used().vcores).toBeGreaterThanOrEqual(5);
    // The repair resizes from a poll that said 0 used; its read-back says 5: the claim must cover
    // YARN's use before the next poll could tell (two poll periods at most, in this reconcile).
    const polls0 = op.controller.pollCount('__default_yarn_cluster__');
    await waitFor(() => (claimOf(w, 'node-1')?.cpu ?? 0) >= used().vcores * 1000, 3000, 'claim ≥ YARN used');
    expect(op.controller.pollCount('__default_yarn_cluster__') - polls0).toBeLessThanOrEqual(2);
    checker.disarm();
    expect(checker.violations, JSON.stringify(checker.violations)).toEqual([]);
    expect(checker.exposures.every((e) => e.end !== undefined)).toBe(true);
  });

  test('a 409 on the claim write decides again on fresh data instead of re-applying the old claim', async () => {
    world = await SimWorld.start({ nodes: 1, standIns: false, seed: false });
    const w = world;
    const r = await wireReplica(w, 'op');
    replicas.push(r);
    setOrigin(w, 'node-1', 9000, 17 * GIB);
    const op = await runOperator(settingsFor(r.world, { pollSeconds: 0.3 }), captureLogs());
    ops.push(op);
    await waitFor(async () => same((await worldRmNode(w, 'node-1')).total, cap(9000, 17 * GIB)) && op.controller.idle, 5000, 'converged');
    // A claim write is about to leave; just before it reaches the API server, the origin halves
    // (another writer changes the node). The write gets 409: the claim it carried is stale.
    let raced = false;
    const prev = r.api.onForward;
    r.api.onForward = (f) => {
      prev?.(f);
      if (raced || f.method !== 'PATCH' || !f.path.startsWith('/api/v1/nodes/node-1')) return;
      raced = true;
      setOrigin(w, 'node-1', 5000, 9 * GIB);
    };
    setOrigin(w, 'node-1', 13_000, 25 * GIB);
    const want = cap(5000, 9 * GIB);
    await waitFor(async () => raced && same((await worldRmNode(w, 'node-1')).total, want) && claimOf(w, 'node-1')?.cpu === want.vcores * 1000 && op.controller.idle, 5000, 'converged on the latest origin');
    // The claim computed for 13 000 m was never written after the 409.
    const patches = r.api.forwarded.filter((f) => f.method === 'PATCH' && f.path.startsWith('/api/v1/nodes/node-1'));
    const claims = patches.map((f) => claimFromAnnotation((JSON.parse(f.body) as { metadata: { annotations: Record<string, string> } }).metadata.annotations[ANNOTATION_THIRD_PARTY]));
    const grown = cap(13_000, 25 * GIB).vcores * 1000;
    expect(claims.filter((c) => c?.cpu === grown).length, JSON.stringify(claims)).toBeLessThanOrEqual(1);
    expect(patches.filter((f) => f.status === 409).length).toBe(1);
  });
});
