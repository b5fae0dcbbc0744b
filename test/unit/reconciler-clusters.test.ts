/**
 * Two YARN clusters whose RMs both know a NodeId (`host:port`): what the reconciler learned from a
 * resize on one cluster (its read-back, its unconfirmed resize) is not superseded or confirmed by
 * the other cluster's poll. Found under load in operator-clusters.test.ts: cluster a's poll of
 * node-3:8041 dropped cluster b's read-back, and node-3 was decided on b's stale poll (claim raised
 * to a total the RM no longer held); the same collision could confirm b's pending resize from a's
 * figures and lower a claim under it.
 */
import { describe, expect, it } from 'vitest';
import { Reconciler } from '../../operator/reconciler.js';
import { resizeKey, snapshotOf, type ClusterView } from '../../operator/snapshot.js';
import type { NodeRecord, PodRecord } from '../../operator/observe.js';
import { createLogger } from '../../log/logger.js';
import type { RmNode } from '../../yarn/model.js';
import { BATCH_CPU, BATCH_MEMORY } from '../../kube/wire.js';

const res = (vcores: number) => ({ vcores, memoryMiB: 8192 }) as never;
const rmNode = (vcores: number): RmNode => ({ id: 'n1:8041', state: 'RUNNING', totalResource: res(vcores), usedResource: res(0) } as unknown as RmNode);
const node: NodeRecord = { name: 'n1', resourceVersion: '5', origin: JSON.stringify({ resources: { [BATCH_CPU]: '9000', [BATCH_MEMORY]: String(17 * 2 ** 30) } }) };
const nmPod: PodRecord = { nodeName: 'n1', phase: 'Running', batchCpu: 1000, batchMemory: 2 ** 30, nm: { nodeId: 'n1:8041', clusterId: 'b', terminating: false } };

describe('reconciler: read-backs and pending resizes per YARN cluster', () => {
  it("cluster a's poll of the same NodeId neither supersedes b's read-back nor confirms b's pending resize", () => {
    const r = new Reconciler({ logger: createLogger('test', { level: 'silent' }), api: {} as never, metrics: {} as never } as never);
    // b: polled at seq 10 showing 6 vcores; a resize to 5 read back at seq 20; a resize to 4 sent at seq 30, not shown yet.
    r.readBack.set(resizeKey('b', 'n1:8041'), { total: res(5), used: res(0), at: 20, seq: 20 });
    r.pending.set(resizeKey('b', 'N1:8041'), { capacity: res(4), seq: 30, at: 30 });
    // Cluster a's RM knows n1:8041 too — at 4 vcores, its own figure — polled at seq 40.
    r.supersedeReadBacks('a', new Map([['n1:8041', rmNode(4)]]), 40);
    const views = new Map<string, ClusterView>([['b', { status: 'ok', at: 10, seq: 10, nodes: new Map([['n1:8041', rmNode(6)]]) }]]);
    const s = snapshotOf(node, [nmPod], views, {}, undefined, r.readBack, r.pending);
    expect(s.ok && s.snapshot.rm).toMatchObject({ status: 'ok', node: { total: { vcores: 5 }, pending: { vcores: 4 } } });
    // Cluster b's own later poll does both.
    r.supersedeReadBacks('b', new Map([['n1:8041', rmNode(4)]]), 50);
    expect(r.readBack.size + r.pending.size).toBe(0);
  });
});
