/**
 * Koordinator / YARN Copilot wire formats on Kubernetes objects. Keys and shapes are quoted from
 * `shared/reference/koordinator.md` §2.2–2.3; Loom must stay byte-compatible with them.
 */
import { arrayElements, objectMembers, skipWs, type Span } from './json-spans.js';
import { z } from 'zod';
import { InputError, problemWithin } from '../input/input-error.js';
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

export class WireFormatError extends InputError {
  constructor(source: string, reason: string, key?: string) {
    super(source, reason, key ? { key } : {});
    this.name = 'WireFormatError';
  }
}

const resourceList = z.record(z.string(), z.union([z.string(), z.number()]));

/**
 * Go's `encoding/json` key folding for ASCII field names: case-insensitive, and 'ſ' (U+017F) and
 * the Kelvin sign (U+212A) fold to 's' and 'k' as `unicode.SimpleFold` makes them.
 */
const goFold = (key: string): string => key.replace(/\u017f/g, 's').replace(/\u212a/g, 'k').toLowerCase();

/**
 * Entries of a JSON object in source order, duplicates included (JSON.parse keeps only the last,
 * Go decodes every one). Only called on text JSON.parse accepted.
 */
function objectEntries(text: string): [string, string][] | undefined {
  let i = 0;
  const ws = () => { while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++; };
  const str = () => {
    const start = i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return text.slice(start, i);
  };
  const value = () => {
    const start = i;
    let depth = 0;
    for (; i < text.length; i++) {
      const c = text[i]!;
      if (c === '"') { str(); i--; continue; }
      if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') { if (depth === 0) break; depth--; }
      else if (c === ',' && depth === 0) break;
    }
    return text.slice(start, i).trim();
  };
  ws();
  if (text[i] !== '{') return undefined;
  i++;
  const out: [string, string][] = [];
  ws();
  if (text[i] === '}') return out;
  for (;;) {
    ws();
    const key = JSON.parse(str()) as string;
    ws();
    i++; // ':'
    out.push([key, value()]);
    ws();
    if (text[i++] === '}') return out;
  }
}

/**
 * `json.Unmarshal(raw, &OriginAllocatable{})` with Koordinator's type
 * `struct { Resources corev1.ResourceList \`json:"resources,omitempty"\` }`: `null`, `{}` and
 * `{"resources":null}` are empty; unknown keys are ignored; keys match case-insensitively; a
 * repeated `resources` merges into the same map; a quantity of `null` is zero. Anything else Go
 * refuses is an error.
 */
function decodeOriginAllocatable(source: string, raw: string): Record<string, string | number> {
  const top = parseJson(source, raw);
  if (top === null) return {};
  if (typeof top !== 'object' || Array.isArray(top)) {
    throw new WireFormatError(source, `unexpected shape: cannot decode ${Array.isArray(top) ? 'an array' : `a ${typeof top}`} into an object`);
  }
  const merged: Record<string, string | number> = {};
  for (const [key, text] of objectEntries(raw) ?? []) {
    if (goFold(key) !== 'resources') continue;
    const list = JSON.parse(text) as unknown;
    if (list === null) continue;
    if (typeof list !== 'object' || Array.isArray(list)) {
      throw new WireFormatError(source, `unexpected shape: "resources" must be an object of quantities, got ${Array.isArray(list) ? 'an array' : `a ${typeof list}`}`);
    }
    for (const [name, q] of Object.entries(list as Record<string, unknown>)) {
      if (q === null) merged[name] = '0';
      else if (typeof q === 'string' || typeof q === 'number') merged[name] = q;
      else throw new WireFormatError(source, `unexpected shape: quantity ${name} must be a string, got ${Array.isArray(q) ? 'an array' : `a ${typeof q}`}`);
    }
  }
  return merged;
}

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

/** `keyPrefix` places the quantities inside the source (`resources.` in an annotation, nothing in a ResourceList). */
function batchFrom(source: string, list: Record<string, string | number> | undefined, keyPrefix = 'resources.'): Partial<BatchResources> {
  const out: Partial<BatchResources> = {};
  if (!list) return out;
  for (const [name, parse] of [[BATCH_CPU, parseBatchCpu], [BATCH_MEMORY, parseBatchMemory]] as const) {
    if (list[name] === undefined) continue;
    try {
      const v = parse(list[name]);
      if (name === BATCH_CPU) out.cpu = v as MilliCores;
      else out.memory = v as Bytes;
    } catch (err) {
      if (err instanceof QuantityError) throw new WireFormatError(source, problemWithin(err), `${keyPrefix}${name}`);
      throw err;
    }
  }
  return out;
}

/**
 * `node.koordinator.sh/originExtendedAllocatable` → batch origin. A resource left out of the
 * annotation is left out of the result (the caller decides the fallback).
 */
export function parseOriginAnnotation(raw: string): Partial<BatchResources> {
  const source = `annotation ${ANNOTATION_ORIGIN}`;
  return batchFrom(source, decodeOriginAllocatable(source, raw));
}

export function formatOriginAnnotation(origin: BatchResources): string {
  return JSON.stringify({ resources: { [BATCH_CPU]: formatBatchCpu(origin.cpu), [BATCH_MEMORY]: formatBatchMemory(origin.memory) } });
}

/** Batch resources out of a Node's `status.allocatable` (or capacity) map. */
export function batchFromResourceList(source: string, list: Record<string, string> | undefined): Partial<BatchResources> {
  return batchFrom(source, list, '');
}

/**
 * All entries of `node.koordinator.sh/thirdPartyAllocations`; as Go's `json.Unmarshal` into
 * `ThirdPartyAllocations`, an absent or empty annotation, `null`, `{}` and `{"allocations":null}` → [].
 */
export function parseThirdPartyAllocations(raw: string | undefined): ThirdPartyAllocation[] {
  if (raw === undefined || raw.trim() === '') return [];
  const source = `annotation ${ANNOTATION_THIRD_PARTY}`;
  const top = parseJson(source, raw);
  if (top === null) return [];
  const parsed = thirdPartySchema.safeParse(top);
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

/** The `hadoop-yarn` entry as Go's encoder writes it (field order name, priority, resources). */
function yarnEntryJson(claim: BatchResources): string {
  return JSON.stringify({
    name: YARN_ALLOCATION_NAME,
    priority: PRIORITY_BATCH,
    resources: { [BATCH_CPU]: formatBatchCpu(claim.cpu), [BATCH_MEMORY]: formatBatchMemory(claim.memory) },
  });
}

/**
 * The annotation `raw` with only its `hadoop-yarn` entry replaced (or added, or removed when
 * `claim` is null): every other entry, every unknown top-level field, their key order, number
 * spelling and whitespace stay byte for byte. `raw` must have parsed (throws WireFormatError
 * otherwise); absent or empty → a fresh document.
 */
export function withYarnClaimRaw(raw: string | undefined, claim: BatchResources | null): string {
  if (raw === undefined || raw.trim() === '') return claim ? `{"allocations":[${yarnEntryJson(claim)}]}` : '{"allocations":[]}';
  parseThirdPartyAllocations(raw); // validates; throws WireFormatError naming the annotation
  // `null` holds no entries and nothing else to keep.
  if (raw.trim() === 'null') return claim ? `{"allocations":[${yarnEntryJson(claim)}]}` : raw;
  const open = skipWs(raw, 0);
  const { members, close } = objectMembers(raw, open);
  // JSON.parse keeps the last of duplicate keys; so do we.
  const alloc = [...members].reverse().find((m) => m.key === 'allocations');
  const entry = claim ? yarnEntryJson(claim) : undefined;
  if (!alloc) {
    if (!entry) return raw;
    const insert = `${members.length > 0 ? ',' : ''}"allocations":[${entry}]`;
    return raw.slice(0, close) + insert + raw.slice(close);
  }
  if (raw[alloc.value.start] !== '[') {
    // null (the shape allows it): an empty list.
    return raw.slice(0, alloc.value.start) + (entry ? `[${entry}]` : '[]') + raw.slice(alloc.value.end);
  }
  const { elements, close: arrClose } = arrayElements(raw, alloc.value.start);
  const isYarn = (s: Span): boolean => (JSON.parse(raw.slice(s.start, s.end)) as { name?: unknown } | null)?.name === YARN_ALLOCATION_NAME;
  const idx = elements.findIndex(isYarn);
  if (idx >= 0) {
    const span = elements[idx]!;
    if (entry) return raw.slice(0, span.start) + entry + raw.slice(span.end);
    // Remove the element and one separating comma.
    if (elements.length === 1) return raw.slice(0, alloc.value.start + 1) + raw.slice(arrClose);
    if (idx < elements.length - 1) return raw.slice(0, span.start) + raw.slice(elements[idx + 1]!.start);
    return raw.slice(0, elements[idx - 1]!.end) + raw.slice(span.end);
  }
  if (!entry) return raw;
  return raw.slice(0, arrClose) + (elements.length > 0 ? ',' : '') + entry + raw.slice(arrClose);
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
