/**
 * A koord-manager stand-in: the batch resources Koordinator would publish for each node
 * (reference/koordinator.md §4), so the ledger can be watched end to end without a real cluster.
 *
 *   origin      = max(0, capacity × reclaim% − systemUsed − HP pods used)     (policy "usage")
 *   allocatable = max(0, origin − Σ koord-batch entries of thirdPartyAllocations)
 *
 * The origin goes to the `originExtendedAllocatable` annotation, allocatable to
 * `status.allocatable` / `status.capacity`; each is written only when it moved by more than the
 * diff threshold (koordinator's `resourceDiffThreshold`) or the claims changed.
 */
import type { Logger } from '../../log/logger.js';
import { type Bytes, type MilliCores, formatBatchCpu, formatBatchMemory } from '../../kube/quantity.js';
import {
  ANNOTATION_ORIGIN, ANNOTATION_THIRD_PARTY, BATCH_CPU, BATCH_MEMORY, type BatchResources,
  formatOriginAnnotation, parseOriginAnnotation, parseThirdPartyAllocations, sumBatchClaims,
} from '../../kube/wire.js';
import type { KubeStore } from '../kube/store.js';
import type { KubeObject } from '../kube/object.js';

export interface NodeUsage {
  capacity: BatchResources;
  /** Node-level usage outside Kubernetes pods (system daemons), milli / bytes. */
  system: BatchResources;
  /** Usage of high-priority (online) pods. */
  highPriority: BatchResources;
}

export interface KoordManagerConfig {
  cpuReclaimThresholdPercent: number;
  memoryReclaimThresholdPercent: number;
  /** Relative change needed before the origin is rewritten (koordinator default 0.1). */
  resourceDiffThreshold: number;
}

export const DEFAULT_KOORD_MANAGER_CONFIG: KoordManagerConfig = {
  cpuReclaimThresholdPercent: 60,
  memoryReclaimThresholdPercent: 65,
  resourceDiffThreshold: 0.1,
};

/** Pure: the origin batch resources of one node (§4.2 "usage" policy). */
export function originBatch(u: NodeUsage, c: KoordManagerConfig = DEFAULT_KOORD_MANAGER_CONFIG): BatchResources {
  const cpu = Math.floor(u.capacity.cpu * c.cpuReclaimThresholdPercent / 100 - u.system.cpu - u.highPriority.cpu);
  const memory = Math.floor(u.capacity.memory * c.memoryReclaimThresholdPercent / 100 - u.system.memory - u.highPriority.memory);
  return { cpu: Math.max(0, cpu) as MilliCores, memory: Math.max(0, memory) as Bytes };
}

/** Pure: allocatable = max(origin − claims, 0) per resource (§4.3). */
export function allocatableBatch(origin: BatchResources, claims: BatchResources): BatchResources {
  return { cpu: Math.max(0, origin.cpu - claims.cpu) as MilliCores, memory: Math.max(0, origin.memory - claims.memory) as Bytes };
}

/** Pure: whether `next` moved past the diff threshold relative to `prev`. */
export function movedEnough(prev: BatchResources | undefined, next: BatchResources, threshold: number): boolean {
  if (!prev) return true;
  const moved = (a: number, b: number) => (a === 0 ? b !== 0 : Math.abs(b - a) > a * threshold);
  return moved(prev.cpu, next.cpu) || moved(prev.memory, next.memory);
}

export class KoordManagerStandIn {
  private unwatch: (() => void) | undefined;
  writes = 0;

  constructor(
    private readonly store: KubeStore,
    private readonly usageOf: (node: string) => NodeUsage | undefined,
    private readonly logger: Logger,
    private readonly config: KoordManagerConfig = DEFAULT_KOORD_MANAGER_CONFIG,
  ) {}

  /** React to claim changes at once, as koord-manager does on Node events. */
  start(): void {
    this.unwatch = this.store.watch('nodes', (ev) => {
      if (ev.type === 'MODIFIED') queueMicrotask(() => this.syncNode(ev.object.metadata.name!, false));
    });
  }

  stop(): void {
    this.unwatch?.();
  }

  /** Recompute every node (the periodic NodeMetric-driven pass). */
  syncAll(force = false): void {
    for (const n of this.store.list('nodes').items) this.syncNode(n.metadata.name!, true, force);
  }

  syncNode(name: string, recomputeOrigin = true, force = false): void {
    const node = this.store.get('nodes', undefined, name);
    if (!node) return;
    const ann = node.metadata.annotations ?? {};
    let prevOrigin: BatchResources | undefined;
    try {
      const o = ann[ANNOTATION_ORIGIN] ? parseOriginAnnotation(ann[ANNOTATION_ORIGIN]) : {};
      if (o.cpu !== undefined && o.memory !== undefined) prevOrigin = { cpu: o.cpu, memory: o.memory };
    } catch { /* rewrite a garbage annotation */ }
    let origin = prevOrigin;
    if (recomputeOrigin || !origin) {
      const usage = this.usageOf(name);
      if (!usage) return;
      const fresh = originBatch(usage, this.config);
      if (force || movedEnough(prevOrigin, fresh, this.config.resourceDiffThreshold)) origin = fresh;
    }
    if (!origin) return;
    let claims: BatchResources = { cpu: 0 as MilliCores, memory: 0 as Bytes };
    try {
      claims = sumBatchClaims(parseThirdPartyAllocations(ann[ANNOTATION_THIRD_PARTY]));
    } catch (err) {
      this.logger.warn({ node: name, err: (err as Error).message }, 'koord-manager stand-in: unreadable thirdPartyAllocations; subtracting nothing');
    }
    const alloc = allocatableBatch(origin, claims);
    const originText = formatOriginAnnotation(origin);
    if (ann[ANNOTATION_ORIGIN] !== originText) {
      this.store.patch('nodes', undefined, name, 'merge', { metadata: { annotations: { [ANNOTATION_ORIGIN]: originText } } });
      this.writes++;
    }
    const status = (this.store.get('nodes', undefined, name) as KubeObject & { status?: { allocatable?: Record<string, string> } });
    const cur = status.status?.allocatable ?? {};
    const cpuText = formatBatchCpu(alloc.cpu);
    const memText = formatBatchMemory(alloc.memory);
    if (cur[BATCH_CPU] !== cpuText || cur[BATCH_MEMORY] !== memText) {
      const batch = { [BATCH_CPU]: cpuText, [BATCH_MEMORY]: memText };
      this.store.patch('nodes', undefined, name, 'merge', { status: { allocatable: batch, capacity: batch } }, { subresource: 'status' });
      this.writes++;
    }
  }
}
