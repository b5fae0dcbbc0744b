/**
 * Pure: turn the operator's observations of one node into the ledger's {@link NodeSnapshot}.
 * Every malformed input becomes an explicit "invalid"/"malformed" observation with a reason
 * naming its source, never a zero.
 */
import type { Bytes, MilliCores } from '../kube/quantity.js';
import { parseBatchCpu, parseBatchMemory, QuantityError } from '../kube/quantity.js';
import {
  ANNOTATION_NODE_ID, DEFAULT_CLUSTER_ID, parseOriginAnnotation, parseThirdPartyAllocations, yarnClaimOf,
  type BatchResources, WireFormatError,
} from '../kube/wire.js';
import { formatNodeId, parseNodeId } from '../yarn/ids.js';
import type { RmNode } from '../yarn/model.js';
import type { YarnResource } from '../yarn/resource.js';
import type { LedgerMemory, NodeManagerObservation, NodeSnapshot, OriginObservation, RmObservation } from './ledger/index.js';
import { isTerminated, type NodeRecord, type PodRecord } from './observe.js';

export function originOf(node: NodeRecord): OriginObservation {
  let fromAnnotation: Partial<BatchResources> = {};
  if (node.origin !== undefined) {
    try {
      fromAnnotation = parseOriginAnnotation(node.origin);
    } catch (err) {
      if (err instanceof WireFormatError) return { state: 'invalid', reason: `node ${node.name}: ${err.message}` };
      throw err;
    }
  }
  let cpu = fromAnnotation.cpu;
  let memory = fromAnnotation.memory;
  try {
    // koord-manager ≤ 1.3 writes no annotation: status.allocatable is the origin then.
    if (cpu === undefined && node.allocatableCpu !== undefined) cpu = parseBatchCpu(node.allocatableCpu);
    if (memory === undefined && node.allocatableMemory !== undefined) memory = parseBatchMemory(node.allocatableMemory);
  } catch (err) {
    if (err instanceof QuantityError) return { state: 'invalid', reason: `node ${node.name}: status.allocatable: ${err.message}` };
    throw err;
  }
  if (cpu === undefined || memory === undefined) {
    return { state: 'missing', reason: `node ${node.name} has no batch origin (no originExtendedAllocatable annotation and no kubernetes.io/batch-* allocatable)` };
  }
  return { state: 'ok', value: { cpu, memory }, source: node.origin !== undefined ? 'annotation' : 'allocatable' };
}

export type Requested = { ok: true; value: BatchResources } | { ok: false; reason: string };

export function k8sRequestedOf(pods: readonly PodRecord[]): Requested {
  let cpu = 0;
  let memory = 0;
  for (const p of pods) {
    if (isTerminated(p)) continue;
    if (p.invalid) return { ok: false, reason: p.invalid };
    cpu += p.batchCpu;
    memory += p.batchMemory;
  }
  return { ok: true, value: { cpu: cpu as MilliCores, memory: memory as Bytes } };
}

export function nodeManagerOf(pods: readonly PodRecord[]): NodeManagerObservation & { duplicates?: number } {
  const running = pods.filter((p) => p.nm && p.phase === 'Running' && !p.nm.terminating);
  const nm = running[0]?.nm;
  if (!nm) return { state: 'absent' };
  const extra = running.length > 1 ? { duplicates: running.length - 1 } : {};
  if (nm.nodeId === undefined) return { state: 'malformed', reason: `NodeManager pod has no ${ANNOTATION_NODE_ID} annotation`, ...extra };
  const id = parseNodeId(nm.nodeId);
  if (!id) return { state: 'malformed', reason: `NodeManager pod annotation ${ANNOTATION_NODE_ID}=${JSON.stringify(nm.nodeId)} is not host:port`, ...extra };
  return { state: 'running', clusterId: nm.clusterId || DEFAULT_CLUSTER_ID, nodeId: formatNodeId(id), ...extra };
}

export type ClaimObservation = { ok: true; claim: BatchResources | undefined } | { ok: false; reason: string };

export function claimOf(node: NodeRecord): ClaimObservation {
  try {
    return { ok: true, claim: yarnClaimOf(parseThirdPartyAllocations(node.thirdParty)) };
  } catch (err) {
    if (err instanceof WireFormatError) return { ok: false, reason: `node ${node.name}: ${err.message}` };
    throw err;
  }
}

/**
 * The RM's view of one cluster, as of the poll sent at `at` (monotonic ms). `pending`: not
 * polled yet in this term — a state, not an error.
 */
export type ClusterView =
  | { status: 'ok'; nodes: ReadonlyMap<string, RmNode>; at: number; seq?: number }
  | { status: 'unavailable'; detail: string; at: number; seq?: number }
  | { status: 'pending'; at: number; seq?: number };

let observations = 0;
/**
 * Orders RM observations (polls and read-backs) by when they were sent. A counter, not a time:
 * two observations in the same millisecond (or on a clock a test holds still) are still ordered.
 */
export const nextObservation = (): number => ++observations;

/** What a resize's read-back said about one node, fresher than the poll that preceded it. */
export interface RmReadBack {
  total: YarnResource;
  used?: YarnResource;
  /** Monotonic ms its answer came in. */
  at: number;
  /**
   * Its place among RM observations ({@link nextObservation}), taken when its answer came in: only
   * a poll sent after that supersedes it (one sent earlier may have been answered before the RM
   * applied the resize).
   */
  seq: number;
}

/**
 * A resize sent and not yet shown by the RM. A real RM applies a resize asynchronously
 * (AdminService queues it), so one whose read-back never showed it, or whose answer was lost, may
 * still land at any moment. It stays pending until an observation sent after it shows it.
 */
export interface PendingResize {
  capacity: YarnResource;
  /** Its place among RM observations, taken right before the first send ({@link nextObservation}). */
  seq: number;
  /** Monotonic ms of the first send. */
  at: number;
}

export const nodeIdKey = (nodeId: string): string => nodeId.toLowerCase();

/**
 * Where the reconciler keeps a node's read-back and pending resize: per YARN cluster, since two
 * clusters' RMs may both know a NodeId (`host:port`), and one's poll says nothing about the other's.
 */
export const resizeKey = (clusterId: string, nodeId: string): string => `${clusterId}\t${nodeIdKey(nodeId)}`;

/** Pure: the RM's answer, with "cluster X" said once whatever the message already says. */
export function unavailableDetail(clusterId: string, message: string): string {
  return message.startsWith(`cluster ${clusterId}:`) ? message : `cluster ${clusterId}: ${message}`;
}

/**
 * The RM's report of one node: the poll's, or a resize's read-back when that was sent after the
 * poll (the poll then still says what the RM held before the resize).
 */
export function rmObservationOf(view: ClusterView | undefined, clusterId: string, nodeId: string, readBack?: RmReadBack, pending?: PendingResize): RmObservation {
  if (!view) return { status: 'rm-unavailable', detail: `no ResourceManager configured for YARN cluster ${clusterId}` };
  if (view.status === 'pending') return { status: 'rm-pending' };
  if (view.status === 'unavailable') return { status: 'rm-unavailable', detail: unavailableDetail(clusterId, view.detail) };
  const n = view.nodes.get(nodeIdKey(nodeId));
  if (!n) return { status: 'unknown-node' };
  const zero = { vcores: 0, memoryMiB: 0 } as const;
  const fresher = readBack && readBack.seq > (view.seq ?? 0) ? readBack : undefined;
  return {
    status: 'ok',
    node: {
      state: n.state ?? 'UNKNOWN',
      total: (fresher?.total ?? n.totalResource ?? { vcores: NaN, memoryMiB: NaN }) as never,
      used: (fresher?.used ?? n.usedResource ?? zero) as never,
      ...(pending ? { pending: pending.capacity } : {}),
    },
  };
}

export type SnapshotResult =
  | { ok: true; snapshot: NodeSnapshot; nodeManager: NodeManagerObservation & { duplicates?: number } }
  | { ok: false; reason: string; kind: 'skip' | 'report' };

/**
 * Everything the ledger needs about one node, or why it cannot be had. `claim` is the node's
 * annotation parsed once by the caller (default: parsed here); `readBack` the reconciler's
 * fresher RM figures by {@link resizeKey}, `pending` its resizes not yet shown by the RM.
 */
export function snapshotOf(
  node: NodeRecord, pods: readonly PodRecord[], views: ReadonlyMap<string, ClusterView>, memory: LedgerMemory,
  claim: ClaimObservation = claimOf(node), readBack?: ReadonlyMap<string, RmReadBack>, pending?: ReadonlyMap<string, PendingResize>,
): SnapshotResult {
  const requested = k8sRequestedOf(pods);
  if (!requested.ok) return { ok: false, kind: 'report', reason: requested.reason };
  // An annotation we cannot parse may be another writer's; never overwrite what we cannot read.
  if (!claim.ok) return { ok: false, kind: 'report', reason: claim.reason };
  const nodeManager = nodeManagerOf(pods);
  const rm: RmObservation = nodeManager.state === 'running'
    ? rmObservationOf(views.get(nodeManager.clusterId), nodeManager.clusterId, nodeManager.nodeId, readBack?.get(resizeKey(nodeManager.clusterId, nodeManager.nodeId)), pending?.get(resizeKey(nodeManager.clusterId, nodeManager.nodeId)))
    : { status: 'rm-unavailable', detail: 'no NodeManager' };
  return {
    ok: true,
    nodeManager,
    snapshot: {
      origin: originOf(node),
      k8sRequested: requested.value,
      nodeManager,
      rm,
      current: { ...memory, ...(claim.claim ? { claim: claim.claim } : {}) },
    },
  };
}
