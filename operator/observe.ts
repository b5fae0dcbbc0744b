/**
 * What the operator keeps of each Node and Pod: a compact, validated projection (pure).
 * Only these few fields are held per object, so 150 000 pods cost a few tens of MB.
 */
import type { KubeObject } from '../kube/api.js';
import { parseBatchCpu, parseBatchMemory, QuantityError } from '../kube/quantity.js';
import {
  ANNOTATION_CLUSTER_ID, ANNOTATION_NODE_ID, ANNOTATION_ORIGIN, ANNOTATION_THIRD_PARTY, BATCH_CPU, BATCH_MEMORY,
  LABEL_COMPONENT, NODE_MANAGER_COMPONENT,
} from '../kube/wire.js';

export interface NodeRecord {
  name: string;
  resourceVersion: string;
  /** Raw `originExtendedAllocatable` annotation (parsed at reconcile, where errors are reported). */
  origin?: string;
  /** Raw `thirdPartyAllocations` annotation. */
  thirdParty?: string;
  /** Raw `status.allocatable` batch quantities (the fallback origin for koord-manager ≤ 1.3). */
  allocatableCpu?: string;
  allocatableMemory?: string;
}

export interface PodRecord {
  nodeName: string;
  /** Pending / Running / Succeeded / Failed / Unknown. */
  phase: string;
  /** Σ batch requests, milli-cores and bytes; `invalid` names the bad quantity. */
  batchCpu: number;
  batchMemory: number;
  invalid?: string;
  /** Present for NodeManager pods (label app.kubernetes.io/component=node-manager). */
  nm?: { nodeId?: string; clusterId?: string; terminating: boolean };
}

export function projectNode(obj: KubeObject): NodeRecord | undefined {
  const ann = obj.metadata.annotations ?? {};
  const alloc = ((obj.status as { allocatable?: Record<string, string> } | undefined)?.allocatable) ?? {};
  const rec: NodeRecord = { name: obj.metadata.name, resourceVersion: obj.metadata.resourceVersion ?? '' };
  if (ann[ANNOTATION_ORIGIN] !== undefined) rec.origin = textOf(ann[ANNOTATION_ORIGIN]);
  if (ann[ANNOTATION_THIRD_PARTY] !== undefined) rec.thirdParty = textOf(ann[ANNOTATION_THIRD_PARTY]);
  if (alloc[BATCH_CPU] !== undefined) rec.allocatableCpu = textOf(alloc[BATCH_CPU]);
  if (alloc[BATCH_MEMORY] !== undefined) rec.allocatableMemory = textOf(alloc[BATCH_MEMORY]);
  return rec;
}

/**
 * Annotations and quantities are strings on the wire. Anything else is kept as a text no parser
 * accepts and that shows what came (`String()` throws on `{"toString":null}`), so the annotation
 * or quantity is refused by name.
 */
function textOf(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  let shown: string;
  try {
    shown = JSON.stringify(v) ?? typeof v;
  } catch {
    shown = typeof v;
  }
  return `(not text: ${shown})`;
}

/** Node changes that matter to the ledger (resourceVersion alone does not). */
export function nodeChanged(a: NodeRecord, b: NodeRecord): boolean {
  return a.origin !== b.origin || a.thirdParty !== b.thirdParty || a.allocatableCpu !== b.allocatableCpu || a.allocatableMemory !== b.allocatableMemory;
}

interface ContainerLike { name?: string; resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> } }

function batchOf(containers: ContainerLike[] | undefined, key: string, parse: (v: unknown) => number): { sum: number; max: number } {
  let sum = 0;
  let max = 0;
  for (const c of containers ?? []) {
    // Kubernetes defaults a missing request to the limit for extended resources.
    const v = c.resources?.requests?.[key] ?? c.resources?.limits?.[key];
    if (v === undefined) continue;
    const n = parse(v);
    sum += n;
    max = Math.max(max, n);
  }
  return { sum, max };
}

/** The pod's effective batch request: max(Σ containers, max init container) + overhead. */
function effectiveRequest(spec: Record<string, unknown>, key: string, parse: (v: unknown) => number): number {
  const main = batchOf(spec.containers as ContainerLike[] | undefined, key, parse).sum;
  const init = batchOf(spec.initContainers as ContainerLike[] | undefined, key, parse).max;
  const overhead = (spec.overhead as Record<string, unknown> | undefined)?.[key];
  return Math.max(main, init) + (overhead !== undefined ? parse(overhead) : 0);
}

export function projectPod(obj: KubeObject): PodRecord | undefined {
  const spec = (obj.spec ?? {}) as Record<string, unknown>;
  const nodeName = spec.nodeName as string | undefined;
  if (!nodeName) return undefined; // unscheduled pods hold nothing on any node
  const phase = ((obj.status as { phase?: string } | undefined)?.phase) ?? 'Pending';
  const rec: PodRecord = { nodeName, phase, batchCpu: 0, batchMemory: 0 };
  try {
    rec.batchCpu = effectiveRequest(spec, BATCH_CPU, parseBatchCpu);
    rec.batchMemory = effectiveRequest(spec, BATCH_MEMORY, parseBatchMemory);
  } catch (err) {
    if (!(err instanceof QuantityError)) throw err;
    rec.invalid = `pod ${obj.metadata.namespace}/${obj.metadata.name}: ${err.message}`;
  }
  if (obj.metadata.labels?.[LABEL_COMPONENT] === NODE_MANAGER_COMPONENT) {
    const ann = obj.metadata.annotations ?? {};
    rec.nm = { terminating: obj.metadata.deletionTimestamp !== undefined };
    if (ann[ANNOTATION_NODE_ID] !== undefined) rec.nm.nodeId = ann[ANNOTATION_NODE_ID];
    if (ann[ANNOTATION_CLUSTER_ID] !== undefined) rec.nm.clusterId = ann[ANNOTATION_CLUSTER_ID];
  }
  return rec;
}

export const isTerminated = (p: PodRecord): boolean => p.phase === 'Succeeded' || p.phase === 'Failed';

/**
 * Whether a pod can change a ledger decision: it requests batch resources, names a bad batch
 * quantity, or is a NodeManager. Every other pod adds nothing to any sum; most pods of a
 * co-located node are online pods, so the operator keeps only these (at 30 pods per node, one
 * in six) — its cache and its garbage collector's work shrink with them.
 */
export function mattersToLedger(p: PodRecord): boolean {
  return p.batchCpu !== 0 || p.batchMemory !== 0 || p.invalid !== undefined || p.nm !== undefined;
}

/** {@link projectPod}, keeping only pods that matter to the ledger. */
export function projectLedgerPod(obj: KubeObject): PodRecord | undefined {
  const p = projectPod(obj);
  return p && mattersToLedger(p) ? p : undefined;
}
