/**
 * Koordinator / YARN Copilot wire formats on Kubernetes objects. Keys and shapes are quoted from
 * `shared/reference/koordinator.md` §2.2–2.3; Loom must stay byte-compatible with them.
 */
import { z } from 'zod';
import {
  type Bytes, type MilliCores, QuantityError,
  formatBatchCpu, formatBatchMemory, parseBatchCpu, parseBatchMemory,
} from './quantity.js';

export const BATCH_CPU = 'kubernetes.io/batch-cpu';
export const BATCH_MEMORY = 'kubernetes.io/batch-memory';

export const ANNOTATION_ORIGIN = 'node.koordinator.sh/originExtendedAllocatable';
export const ANNOTATION_THIRD_PARTY = 'node.koordinator.sh/thirdPartyAllocations';
export const ANNOTATION_NODE_ID = 'yarn.hadoop.apache.org/node-id';
export const ANNOTATION_CLUSTER_ID = 'yarn.hadoop.apache.org/cluster-id';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const NODE_MANAGER_COMPONENT = 'node-manager';
export const NM_POD_SELECTOR = `${LABEL_COMPONENT}=${NODE_MANAGER_COMPONENT}`;

export const YARN_ALLOCATION_NAME = 'hadoop-yarn';
export const PRIORITY_BATCH = 'koord-batch';
/** Cluster id used when an NM pod carries no cluster-id annotation (yarn-copilot's name). */
export const DEFAULT_CLUSTER_ID = '__default_yarn_cluster__';

/** Batch CPU and memory of one node, each side optional when a source leaves it out. */
export interface BatchResources {
  cpu: MilliCores;
  memory: Bytes;
}

export class WireFormatError extends Error {
  constructor(readonly source: string, reason: string) {
    super(`${source}: ${reason}`);
    this.name = 'WireFormatError';
  }
}

const resourceList = z.record(z.string(), z.union([z.string(), z.number()]));

const originSchema = z.object({ resources: resourceList });

const allocationSchema = z.object({
  name: z.string().min(1),
  priority: z.string().optional(),
  resources: resourceList.optional(),
}).passthrough();
const thirdPartySchema = z.object({ allocations: z.array(allocationSchema).nullable().optional() }).passthrough();

export type ThirdPartyAllocation = z.infer<typeof allocationSchema>;

function parseJson(source: string, raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw new WireFormatError(source, `not JSON (${(err as Error).message})`);
  }
}

function batchFrom(source: string, list: Record<string, string | number> | undefined): Partial<BatchResources> {
  const out: Partial<BatchResources> = {};
  if (!list) return out;
  try {
    if (list[BATCH_CPU] !== undefined) out.cpu = parseBatchCpu(list[BATCH_CPU]);
    if (list[BATCH_MEMORY] !== undefined) out.memory = parseBatchMemory(list[BATCH_MEMORY]);
  } catch (err) {
    if (err instanceof QuantityError) throw new WireFormatError(source, err.message);
    throw err;
  }
  return out;
}

/**
 * `node.koordinator.sh/originExtendedAllocatable` → batch origin. A resource left out of the
 * annotation is left out of the result (the caller decides the fallback).
 */
export function parseOriginAnnotation(raw: string): Partial<BatchResources> {
  const source = `annotation ${ANNOTATION_ORIGIN}`;
  const parsed = originSchema.safeParse(parseJson(source, raw));
  if (!parsed.success) throw new WireFormatError(source, `unexpected shape: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return batchFrom(source, parsed.data.resources);
}

export function formatOriginAnnotation(origin: BatchResources): string {
  return JSON.stringify({ resources: { [BATCH_CPU]: formatBatchCpu(origin.cpu), [BATCH_MEMORY]: formatBatchMemory(origin.memory) } });
}

/** Batch resources out of a Node's `status.allocatable` (or capacity) map. */
export function batchFromResourceList(source: string, list: Record<string, string> | undefined): Partial<BatchResources> {
  return batchFrom(source, list);
}

/** All entries of `node.koordinator.sh/thirdPartyAllocations`; absent/empty annotation → []. */
export function parseThirdPartyAllocations(raw: string | undefined): ThirdPartyAllocation[] {
  if (raw === undefined || raw.trim() === '') return [];
  const source = `annotation ${ANNOTATION_THIRD_PARTY}`;
  const parsed = thirdPartySchema.safeParse(parseJson(source, raw));
  if (!parsed.success) throw new WireFormatError(source, `unexpected shape: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data.allocations ?? [];
}

/** The batch resources one allocation entry holds (entries are validated on read). */
export function allocationBatch(entry: ThirdPartyAllocation): Partial<BatchResources> {
  return batchFrom(`annotation ${ANNOTATION_THIRD_PARTY} entry ${entry.name}`, entry.resources as Record<string, string | number> | undefined);
}

/** Σ of the `koord-batch` entries, as koord-manager subtracts them (§4.3). */
export function sumBatchClaims(entries: ThirdPartyAllocation[]): BatchResources {
  let cpu = 0;
  let memory = 0;
  for (const e of entries) {
    if (e.priority !== PRIORITY_BATCH) continue;
    const b = allocationBatch(e);
    cpu += b.cpu ?? 0;
    memory += b.memory ?? 0;
  }
  return { cpu: cpu as MilliCores, memory: memory as Bytes };
}

/** The YARN entry (`hadoop-yarn`) if present. */
export function yarnClaimOf(entries: ThirdPartyAllocation[]): BatchResources | undefined {
  const e = entries.find((a) => a.name === YARN_ALLOCATION_NAME);
  if (!e) return undefined;
  const b = allocationBatch(e);
  return { cpu: (b.cpu ?? 0) as MilliCores, memory: (b.memory ?? 0) as Bytes };
}

/**
 * Upsert the `hadoop-yarn` entry (or remove it when `claim` is null), keeping every other entry
 * byte-for-byte as it was, and serialise the annotation value.
 */
export function withYarnClaim(entries: ThirdPartyAllocation[], claim: BatchResources | null): string {
  const others = entries.filter((a) => a.name !== YARN_ALLOCATION_NAME);
  const idx = entries.findIndex((a) => a.name === YARN_ALLOCATION_NAME);
  const next = [...others];
  if (claim) {
    const mine: ThirdPartyAllocation = {
      name: YARN_ALLOCATION_NAME,
      priority: PRIORITY_BATCH,
      resources: { [BATCH_CPU]: formatBatchCpu(claim.cpu), [BATCH_MEMORY]: formatBatchMemory(claim.memory) },
    };
    next.splice(idx < 0 ? next.length : Math.min(idx, next.length), 0, mine);
  }
  return JSON.stringify({ allocations: next });
}
