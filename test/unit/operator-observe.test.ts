/** The operator's pure observation layer: projectPod, snapshotOf, diffViews. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { KubeObject } from '../../kube/api.js';
import { ANNOTATION_CLUSTER_ID, ANNOTATION_NODE_ID, BATCH_CPU, BATCH_MEMORY, LABEL_COMPONENT, NODE_MANAGER_COMPONENT } from '../../kube/wire.js';
import { mattersToLedger, projectLedgerPod, projectPod, type NodeRecord, type PodRecord } from '../../operator/observe.js';
import { diffViews, pendingView } from '../../operator/rm-poller.js';
import { resizeKey, snapshotOf, unavailableDetail, type ClusterView } from '../../operator/snapshot.js';
import type { RmNode } from '../../yarn/model.js';

const pod = (spec: Record<string, unknown>, extra: Partial<KubeObject['metadata']> = {}, phase = 'Running'): KubeObject => ({
  metadata: { name: 'p', namespace: 'ns', ...extra }, spec: { nodeName: 'n1', ...spec }, status: { phase },
});
const c = (cpu?: string, mem?: string, where: 'requests' | 'limits' = 'requests') => ({
  name: 'c', resources: { [where]: { ...(cpu ? { [BATCH_CPU]: cpu } : {}), ...(mem ? { [BATCH_MEMORY]: mem } : {}) } },
});

describe('projectPod', () => {
  it('effective request: max(Σ containers, max init container) + overhead; limits stand in for missing requests', () => {
    const p = projectPod(pod({
      containers: [c('1000', '1Gi'), c('500', undefined), c(undefined, '512Mi', 'limits')],
      initContainers: [c('3000', '1Gi'), c('200', '4Gi')],
      overhead: { [BATCH_CPU]: '100', [BATCH_MEMORY]: '64Mi' },
    }))!;
    expect(p.batchCpu).toBe(3000 + 100);
    expect(p.batchMemory).toBe(4 * 2 ** 30 + 64 * 2 ** 20);
  });

  it('unscheduled pods are ignored; bad quantities are named, not zero; NM pods carry their ids', () => {
    expect(projectPod({ metadata: { name: 'x' }, spec: { containers: [] } })).toBeUndefined();
    const bad = projectPod(pod({ containers: [c('two', '1Gi')] }))!;
    expect(bad.invalid).toMatch(/pod ns\/p: /);
    const nm = projectPod(pod({ containers: [c('1000', '1Gi')] }, {
      labels: { [LABEL_COMPONENT]: NODE_MANAGER_COMPONENT }, annotations: { [ANNOTATION_NODE_ID]: 'n1:8041', [ANNOTATION_CLUSTER_ID]: 'c1' },
      deletionTimestamp: '2026-01-01T00:00:00Z',
    }))!;
    expect(nm.nm).toEqual({ nodeId: 'n1:8041', clusterId: 'c1', terminating: true });
  });
});

const node: NodeRecord = { name: 'n1', resourceVersion: '5', origin: JSON.stringify({ resources: { [BATCH_CPU]: '9000', [BATCH_MEMORY]: String(17 * 2 ** 30) } }) };
const nmPod: PodRecord = { nodeName: 'n1', phase: 'Running', batchCpu: 1000, batchMemory: 2 ** 30, nm: { nodeId: 'n1:8041', clusterId: 'c1', terminating: false } };
const rmNode = (vcores: number, usedV = 0): RmNode => ({ id: 'n1:8041', state: 'RUNNING', totalResource: { vcores, memoryMiB: 8192 }, usedResource: { vcores: usedV, memoryMiB: 0 } } as unknown as RmNode);
const ok = (at: number, n: RmNode): ClusterView => ({ status: 'ok', at, seq: at, nodes: new Map([['n1:8041', n]]) });

describe('snapshotOf', () => {
  it('a cluster not polled yet is pending (not unavailable); an unavailable one says "cluster X" once', () => {
    const pending = snapshotOf(node, [nmPod], new Map([['c1', pendingView()]]), {});
    expect(pending.ok && pending.snapshot.rm).toEqual({ status: 'rm-pending' });
    const down = snapshotOf(node, [nmPod], new Map<string, ClusterView>([['c1', { status: 'unavailable', at: 1, detail: 'cluster c1: no RM active among …' }]]), {});
    expect(down.ok && down.snapshot.rm).toEqual({ status: 'rm-unavailable', detail: 'cluster c1: no RM active among …' });
    expect(unavailableDetail('c1', 'connect ECONNREFUSED')).toBe('cluster c1: connect ECONNREFUSED');
  });

  it('a read-back sent after the poll wins over it; an older one does not', () => {
    const views = new Map([['c1', ok(100, rmNode(8, 1))]]);
    const newer = snapshotOf(node, [nmPod], views, {}, undefined, new Map([[resizeKey('c1', 'n1:8041'), { at: 150, seq: 150, total: { vcores: 4, memoryMiB: 8192 }, used: { vcores: 5, memoryMiB: 0 } }]]) as never);
    expect(newer.ok && newer.snapshot.rm).toMatchObject({ status: 'ok', node: { total: { vcores: 4 }, used: { vcores: 5 } } });
    const older = snapshotOf(node, [nmPod], views, {}, undefined, new Map([[resizeKey('c1', 'n1:8041'), { at: 50, seq: 50, total: { vcores: 4, memoryMiB: 8192 } }]]) as never);
    expect(older.ok && older.snapshot.rm).toMatchObject({ status: 'ok', node: { total: { vcores: 8 }, used: { vcores: 1 } } });
  });

  it('an unreadable claim annotation stops the snapshot (never overwrite what we cannot read)', () => {
    const s = snapshotOf({ ...node, thirdParty: '{"allocations": 5}' }, [nmPod], new Map([['c1', ok(1, rmNode(8))]]), {});
    expect(s).toMatchObject({ ok: false, kind: 'report' });
  });
});

describe('diffViews', () => {
  it('reports changed, new and gone NodeIds, and availability flips', () => {
    const a = ok(1, rmNode(8));
    expect(diffViews(undefined, a)).toEqual({ changed: ['n1:8041'], availabilityChanged: true });
    expect(diffViews(a, ok(2, rmNode(8)))).toEqual({ changed: [], availabilityChanged: false });
    expect(diffViews(a, ok(2, rmNode(4)))).toEqual({ changed: ['n1:8041'], availabilityChanged: false });
    expect(diffViews(a, ok(2, rmNode(8, 3)))).toEqual({ changed: ['n1:8041'], availabilityChanged: false });
    const n = rmNode(8);
    for (const other of [{ ...n, state: 'LOST' }, { ...n, totalResource: { vcores: 8, memoryMiB: 4096 } }, { ...n, usedResource: { vcores: 0, memoryMiB: 1 } }, { ...n, usedResource: undefined }]) {
      expect(diffViews(a, ok(2, other as RmNode)).changed, JSON.stringify(other)).toEqual(['n1:8041']);
    }
    expect(diffViews(a, ok(2, { ...n, lastHealthUpdate: 5 } as RmNode)).changed, 'fields the ledger does not read').toEqual([]);
    expect(diffViews(a, { status: 'ok', at: 2, nodes: new Map() })).toEqual({ changed: ['n1:8041'], availabilityChanged: false });
    expect(diffViews(a, { status: 'unavailable', at: 2, detail: 'x' })).toEqual({ changed: [], availabilityChanged: true });
  });
});

describe('the pods the operator keeps', () => {
  const quantity = fc.constantFrom(undefined, '0', '500', '2k', '1Gi', 'two');
  const podObject = fc.record({
    cpu: quantity, mem: quantity, initCpu: quantity, phase: fc.constantFrom('Running', 'Pending', 'Succeeded', 'Failed'),
    nm: fc.boolean(), nodeId: fc.constantFrom(undefined, 'n1:8041', 'junk'), terminating: fc.boolean(), online: fc.boolean(),
  }).map((p) => pod({
    containers: [c(p.cpu, p.mem), ...(p.online ? [{ name: 'web', resources: { requests: { cpu: '1', memory: '1Gi' } } }] : [])],
    ...(p.initCpu ? { initContainers: [c(p.initCpu, undefined)] } : {}),
  }, {
    ...(p.nm ? { labels: { [LABEL_COMPONENT]: NODE_MANAGER_COMPONENT }, annotations: p.nodeId ? { [ANNOTATION_NODE_ID]: p.nodeId } : {} } : {}),
    ...(p.terminating ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
  }, p.phase));

  it('every snapshot built from the kept pods equals the one built from all pods', () => {
    const views = new Map([['__default_yarn_cluster__', ok(1, rmNode(8, 1))], ['c1', ok(1, rmNode(8, 1))]]);
    fc.assert(fc.property(fc.array(podObject, { maxLength: 12 }), (objects) => {
      const all = objects.map((o) => projectPod(o)).filter((p): p is PodRecord => p !== undefined);
      const kept = objects.map((o) => projectLedgerPod(o)).filter((p): p is PodRecord => p !== undefined);
      expect(kept).toEqual(all.filter(mattersToLedger));
      expect(snapshotOf(node, kept, views, {})).toEqual(snapshotOf(node, all, views, {}));
    }), { numRuns: 2000 });
  });

  it('online pods (no batch request, not a NodeManager) are not kept', () => {
    const online = pod({ containers: [{ name: 'web', resources: { requests: { cpu: '500m', memory: '1Gi' } } }] });
    expect(projectPod(online)).toMatchObject({ batchCpu: 0, batchMemory: 0 });
    expect(projectLedgerPod(online)).toBeUndefined();
    expect(projectLedgerPod(pod({ containers: [c('0', '0')] }, { labels: { [LABEL_COMPONENT]: NODE_MANAGER_COMPONENT } }))).toBeDefined();
  });
});
