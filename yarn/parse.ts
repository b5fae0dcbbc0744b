/**
 * Raw document (JSON or XML, see document.ts) → typed model, validated with zod. Pure.
 *
 * Tolerance rules (reference §1.2, "Implications" 6): a list wrapper may be an array, a single
 * object, `null`, `{}`, `""` (empty XML element) or absent; numbers may be numeric strings; every
 * field is optional except ids. A bad item is skipped and reported; a document of the wrong kind
 * (other root, not an object) is a YarnDocumentError naming the URL.
 */
import { z } from 'zod';
import { YarnDocumentError, bodyExcerpt, type RemoteException } from './errors.js';
import { CONTAINER_ID, appIdOf, isApplicationMaster } from './ids.js';
import { mib, vcores, type YarnResource } from './resource.js';
import type {
  ClusterInfo, ClusterMetrics, NmContainer, NmNodeInfo, ParsedList, RejectedItem, ResourceUtilization, RmNode,
} from './model.js';

// ---------------------------------------------------------------------------------------------
// Leaf coercions

const NUMERIC = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

/** number | numeric string; `""`/null → absent. */
const num = z.preprocess(
  (v) => (v === '' || v === null ? undefined : typeof v === 'string' && NUMERIC.test(v.trim()) ? Number(v.trim()) : v),
  z.number().finite().optional(),
);

/**
 * An amount a NodeManager allocated: never below zero, and within what YARN's own types carry
 * (a Java long of MiB is far beyond any node; past 2^53 the figure is no longer exact here, and
 * converted to bytes it would not stay finite).
 */
const amount = z.preprocess(
  (v) => (v === '' || v === null ? undefined : typeof v === 'string' && NUMERIC.test(v.trim()) ? Number(v.trim()) : v),
  z.number().finite().min(0, 'must not be negative').max(Number.MAX_SAFE_INTEGER, 'is beyond 2^53').optional(),
);

/** string, or a number an odd serializer wrote unquoted; null → absent. */
const str = z.preprocess(
  (v) => (v === null ? undefined : typeof v === 'number' ? String(v) : v),
  z.string().optional(),
);

/** boolean | "true"/"false" (XML). */
const bool = z.preprocess(
  (v) => (v === '' || v === null ? undefined : v === 'true' ? true : v === 'false' ? false : v),
  z.boolean().optional(),
);

/** A list of strings: array, single value, null, `""` or absent. */
const strList = z.preprocess(
  (v) => (v === undefined || v === null || v === '' ? [] : Array.isArray(v) ? v : [v]),
  z.array(z.preprocess((x) => (typeof x === 'number' ? String(x) : x), z.string())),
);

/** A nested object that XML renders as `""` when empty. */
function nested<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (v === '' || v === null ? undefined : v), schema.optional());
}

const resourceInfoSchema = z.object({ memory: num, vCores: num });

function toResource(r: z.infer<typeof resourceInfoSchema> | undefined): YarnResource | undefined {
  if (!r || r.memory === undefined || r.vCores === undefined) return undefined;
  return { memoryMiB: mib(r.memory), vcores: vcores(r.vCores) };
}

function fromPair(memory: number | undefined, cores: number | undefined): YarnResource | undefined {
  return memory === undefined || cores === undefined ? undefined : { memoryMiB: mib(memory), vcores: vcores(cores) };
}

function dropUndefined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

function reasonOf(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || '(item)'}: ${i.message}`).join('; ');
}

// ---------------------------------------------------------------------------------------------
// Document shape

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(doc: unknown): string {
  if (isRecord(doc)) return `root keys [${Object.keys(doc).slice(0, 5).join(', ')}]`;
  return Array.isArray(doc) ? 'an array' : typeof doc;
}

/** The object under `root` of a single-object document (`{"clusterInfo":{…}}`). */
export function singleRoot(doc: unknown, root: string, url: string): Record<string, unknown> {
  if (!isRecord(doc) || !(root in doc)) {
    throw new YarnDocumentError(url, `expected a "${root}" document, got ${describe(doc)}`, bodyExcerpt(JSON.stringify(doc) ?? ''));
  }
  const v = doc[root];
  if (v === '' || v === null) return {};
  if (!isRecord(v)) throw new YarnDocumentError(url, `"${root}" is not an object`, bodyExcerpt(JSON.stringify(v) ?? ''));
  return v;
}

/**
 * The items under `{root: {item: […]}}`. A wholly empty document (`{}`) or a null / `{}` / `""`
 * wrapper is an empty list — that is how Hadoop renders one — but another root is an error.
 */
export function listItems(doc: unknown, root: string, item: string, url: string): unknown[] {
  if (!isRecord(doc)) throw new YarnDocumentError(url, `expected a "${root}" list document, got ${describe(doc)}`, bodyExcerpt(JSON.stringify(doc) ?? ''));
  const keys = Object.keys(doc);
  if (keys.length === 0) return [];
  if (!(root in doc)) throw new YarnDocumentError(url, `expected a "${root}" list document, got ${describe(doc)}`, bodyExcerpt(JSON.stringify(doc) ?? ''));
  const wrapper = doc[root];
  if (wrapper === null || wrapper === undefined || wrapper === '') return [];
  if (Array.isArray(wrapper)) return wrapper; // odd serializer: the list without its item key
  if (!isRecord(wrapper)) throw new YarnDocumentError(url, `"${root}" is neither a list nor an object`, bodyExcerpt(JSON.stringify(wrapper) ?? ''));
  const list = wrapper[item];
  if (list === undefined || list === null || list === '') {
    const others = Object.keys(wrapper).filter((k) => k !== item);
    if (others.length > 0) throw new YarnDocumentError(url, `"${root}" holds [${others.join(', ')}] instead of "${item}"`, '');
    return [];
  }
  return Array.isArray(list) ? list : [list];
}

function parseList<S extends z.ZodType, T>(
  raw: unknown[],
  schema: S,
  build: (v: z.infer<S>) => T | string,
  unique?: { keyOf: (item: T) => string; duplicate: string },
): ParsedList<T> {
  const items: T[] = [];
  const rejected: RejectedItem[] = [];
  const seen = new Set<string>();
  raw.forEach((entry, index) => {
    const rawId = isRecord(entry) && (typeof entry.id === 'string' || typeof entry.id === 'number') ? String(entry.id) : undefined;
    const parsed = schema.safeParse(entry);
    if (!parsed.success) {
      rejected.push(dropUndefined({ index, id: rawId, reason: reasonOf(parsed.error) }));
      return;
    }
    const built = build(parsed.data);
    if (typeof built === 'string') {
      rejected.push(dropUndefined({ index, id: rawId, reason: built }));
      return;
    }
    if (unique) {
      const key = unique.keyOf(built);
      if (seen.has(key)) {
        rejected.push(dropUndefined({ index, id: rawId, reason: unique.duplicate }));
        return;
      }
      seen.add(key);
    }
    items.push(built);
  });
  return { items, rejected };
}

// ---------------------------------------------------------------------------------------------
// RemoteException

const remoteExceptionSchema = z.object({ exception: str, message: str, javaClassName: str });

/** The `RemoteException` of an error body, if it is one (JSON or XML). */
export function remoteExceptionOf(doc: unknown): RemoteException | undefined {
  if (!isRecord(doc) || !isRecord(doc.RemoteException)) return undefined;
  const parsed = remoteExceptionSchema.safeParse(doc.RemoteException);
  return parsed.success ? dropUndefined({ ...parsed.data }) : undefined;
}

// ---------------------------------------------------------------------------------------------
// RM: cluster info, metrics

const clusterInfoSchema = z.object({
  id: num, startedOn: num, state: str, haState: str, rmStateStoreName: str,
  resourceManagerVersion: str, resourceManagerBuildVersion: str, resourceManagerVersionBuiltOn: str,
  hadoopVersion: str, hadoopBuildVersion: str, hadoopVersionBuiltOn: str, haZooKeeperConnectionState: str,
});

function parseObject<S extends z.ZodType>(obj: Record<string, unknown>, schema: S, root: string, url: string): z.infer<S> {
  const parsed = schema.safeParse(obj);
  if (!parsed.success) throw new YarnDocumentError(url, `invalid "${root}": ${reasonOf(parsed.error)}`, bodyExcerpt(JSON.stringify(obj)));
  return parsed.data;
}

export function parseClusterInfo(doc: unknown, url: string): ClusterInfo {
  const info = parseObject(singleRoot(doc, 'clusterInfo', url), clusterInfoSchema, 'clusterInfo', url);
  if (info.haState) info.haState = info.haState.toUpperCase();
  return dropUndefined(info);
}

const clusterMetricsSchema = z.object({
  appsSubmitted: num, appsCompleted: num, appsPending: num, appsRunning: num, appsFailed: num, appsKilled: num,
  reservedMB: num, availableMB: num, allocatedMB: num, pendingMB: num,
  reservedVirtualCores: num, availableVirtualCores: num, allocatedVirtualCores: num, pendingVirtualCores: num,
  containersAllocated: num, containersReserved: num, containersPending: num,
  totalMB: num, totalVirtualCores: num, totalNodes: num, activeNodes: num, lostNodes: num, unhealthyNodes: num,
  decommissioningNodes: num, decommissionedNodes: num, rebootedNodes: num, shutdownNodes: num,
});

export function parseClusterMetrics(doc: unknown, url: string): ClusterMetrics {
  return dropUndefined(parseObject(singleRoot(doc, 'clusterMetrics', url), clusterMetricsSchema, 'clusterMetrics', url));
}

// ---------------------------------------------------------------------------------------------
// RM: nodes

const utilizationSchema = z.object({
  nodePhysicalMemoryMB: num, nodeVirtualMemoryMB: num, nodeCPUUsage: num,
  aggregatedContainersPhysicalMemoryMB: num, aggregatedContainersVirtualMemoryMB: num, containersCPUUsage: num,
});

const rmNodeSchema = z.object({
  id: z.preprocess((v) => (typeof v === 'string' ? v.trim() : v), z.string().min(1, 'node without id')),
  state: str, rack: str, nodeHostName: str, nodeHTTPAddress: str, lastHealthUpdate: num, version: str,
  healthReport: str, numContainers: num, usedMemoryMB: num, availMemoryMB: num, usedVirtualCores: num,
  availableVirtualCores: num, numRunningOpportContainers: num, usedMemoryOpportGB: num,
  usedVirtualCoresOpport: num, numQueuedContainers: num, nodeLabels: strList,
  resourceUtilization: nested(utilizationSchema),
  totalResource: nested(resourceInfoSchema),
  usedResource: nested(resourceInfoSchema),
  availableResource: nested(resourceInfoSchema),
});

function buildRmNode(v: z.infer<typeof rmNodeSchema>): RmNode {
  const node: RmNode = {
    ...v,
    state: v.state?.toUpperCase(),
    resourceUtilization: v.resourceUtilization ? dropUndefined({ ...v.resourceUtilization }) as ResourceUtilization : undefined,
    totalResource: toResource(v.totalResource),
    usedResource: toResource(v.usedResource) ?? fromPair(v.usedMemoryMB, v.usedVirtualCores),
    availableResource: toResource(v.availableResource) ?? fromPair(v.availMemoryMB, v.availableVirtualCores),
  };
  return dropUndefined(node);
}

const isNum = (v: unknown): v is number | undefined => v === undefined || (typeof v === 'number' && Number.isFinite(v));
const isStr = (v: unknown): v is string | undefined => v === undefined || typeof v === 'string';

/** A nested ResourceInfo given exactly (absent, or an object of plain numbers); `false` when it needs the schema. */
function plainResource(v: unknown): YarnResource | undefined | false {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const { memory, vCores } = v as { memory?: unknown; vCores?: unknown };
  if (!isNum(memory) || !isNum(vCores)) return false;
  return memory === undefined || vCores === undefined ? undefined : { memoryMiB: mib(memory), vcores: vcores(vCores) };
}

function plainUtilization(v: unknown): ResourceUtilization | false {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const u = v as Record<string, unknown>;
  const {
    nodePhysicalMemoryMB, nodeVirtualMemoryMB, nodeCPUUsage, aggregatedContainersPhysicalMemoryMB, aggregatedContainersVirtualMemoryMB, containersCPUUsage,
  } = u;
  if (!isNum(nodePhysicalMemoryMB) || !isNum(nodeVirtualMemoryMB) || !isNum(nodeCPUUsage) || !isNum(aggregatedContainersPhysicalMemoryMB)
    || !isNum(aggregatedContainersVirtualMemoryMB) || !isNum(containersCPUUsage)) return false;
  const out: Record<string, number> = {};
  if (nodePhysicalMemoryMB !== undefined) out.nodePhysicalMemoryMB = nodePhysicalMemoryMB;
  if (nodeVirtualMemoryMB !== undefined) out.nodeVirtualMemoryMB = nodeVirtualMemoryMB;
  if (nodeCPUUsage !== undefined) out.nodeCPUUsage = nodeCPUUsage;
  if (aggregatedContainersPhysicalMemoryMB !== undefined) out.aggregatedContainersPhysicalMemoryMB = aggregatedContainersPhysicalMemoryMB;
  if (aggregatedContainersVirtualMemoryMB !== undefined) out.aggregatedContainersVirtualMemoryMB = aggregatedContainersVirtualMemoryMB;
  if (containersCPUUsage !== undefined) out.containersCPUUsage = containersCPUUsage;
  return out as ResourceUtilization;
}

/**
 * The RM node entry the schema would build, for the common case only: every known field absent
 * or of its exact JSON type (strings, finite numbers, nested objects of numbers, a list of
 * strings). A poll of 20,000 nodes spends most of its time in the schema otherwise. Anything
 * else — numeric strings, nulls, "" for empty XML elements, a bad type — returns undefined and
 * goes through the schema, which coerces or rejects it with its reason. Written out field by
 * field on purpose: this runs for every node of every poll.
 */
function plainRmNode(raw: unknown): RmNode | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const r = raw as Record<string, unknown>;
  if (typeof r.id !== 'string') return undefined;
  const id = r.id.trim();
  if (id === '') return undefined;
  const {
    state, rack, nodeHostName, nodeHTTPAddress, lastHealthUpdate, version, healthReport, numContainers, usedMemoryMB, availMemoryMB,
    usedVirtualCores, availableVirtualCores, numRunningOpportContainers, usedMemoryOpportGB, usedVirtualCoresOpport, numQueuedContainers,
    nodeLabels,
  } = r;
  if (!isStr(state) || !isStr(rack) || !isStr(nodeHostName) || !isStr(nodeHTTPAddress) || !isStr(version) || !isStr(healthReport)) return undefined;
  if (!isNum(lastHealthUpdate) || !isNum(numContainers) || !isNum(usedMemoryMB) || !isNum(availMemoryMB) || !isNum(usedVirtualCores)
    || !isNum(availableVirtualCores) || !isNum(numRunningOpportContainers) || !isNum(usedMemoryOpportGB) || !isNum(usedVirtualCoresOpport)
    || !isNum(numQueuedContainers)) return undefined;
  let labels: string[] = [];
  if (nodeLabels !== undefined) {
    if (!Array.isArray(nodeLabels)) return undefined;
    for (const l of nodeLabels) if (typeof l !== 'string') return undefined;
    labels = [...(nodeLabels as string[])];
  }
  const util = r.resourceUtilization === undefined ? undefined : plainUtilization(r.resourceUtilization);
  const total = plainResource(r.totalResource);
  const used = plainResource(r.usedResource);
  const avail = plainResource(r.availableResource);
  if (util === false || total === false || used === false || avail === false) return undefined;
  // The fields buildRmNode makes of the schema's output.
  const node: RmNode = { id, nodeLabels: labels };
  if (state !== undefined) node.state = state.toUpperCase();
  if (rack !== undefined) node.rack = rack;
  if (nodeHostName !== undefined) node.nodeHostName = nodeHostName;
  if (nodeHTTPAddress !== undefined) node.nodeHTTPAddress = nodeHTTPAddress;
  if (lastHealthUpdate !== undefined) node.lastHealthUpdate = lastHealthUpdate;
  if (version !== undefined) node.version = version;
  if (healthReport !== undefined) node.healthReport = healthReport;
  if (numContainers !== undefined) node.numContainers = numContainers;
  if (usedMemoryMB !== undefined) node.usedMemoryMB = usedMemoryMB;
  if (availMemoryMB !== undefined) node.availMemoryMB = availMemoryMB;
  if (usedVirtualCores !== undefined) node.usedVirtualCores = usedVirtualCores;
  if (availableVirtualCores !== undefined) node.availableVirtualCores = availableVirtualCores;
  if (numRunningOpportContainers !== undefined) node.numRunningOpportContainers = numRunningOpportContainers;
  if (usedMemoryOpportGB !== undefined) node.usedMemoryOpportGB = usedMemoryOpportGB;
  if (usedVirtualCoresOpport !== undefined) node.usedVirtualCoresOpport = usedVirtualCoresOpport;
  if (numQueuedContainers !== undefined) node.numQueuedContainers = numQueuedContainers;
  if (util !== undefined) node.resourceUtilization = util;
  if (total !== undefined) node.totalResource = total;
  const u = used ?? fromPair(usedMemoryMB, usedVirtualCores);
  if (u !== undefined) node.usedResource = u;
  const a = avail ?? fromPair(availMemoryMB, availableVirtualCores);
  if (a !== undefined) node.availableResource = a;
  return node;
}

/** `schemaOnly`: every entry through the schema (tests compare the two paths). */
export function parseRmNodes(doc: unknown, url: string, options: { schemaOnly?: boolean } = {}): ParsedList<RmNode> {
  const raw = listItems(doc, 'nodes', 'node', url);
  if (options.schemaOnly) return parseList(raw, rmNodeSchema, buildRmNode);
  const items: RmNode[] = [];
  const rejected: RejectedItem[] = [];
  raw.forEach((entry, index) => {
    const plain = plainRmNode(entry);
    if (plain) { items.push(plain); return; }
    const one = parseList([entry], rmNodeSchema, buildRmNode);
    items.push(...one.items);
    for (const r of one.rejected) rejected.push({ ...r, index });
  });
  return { items, rejected };
}

export function parseRmNode(doc: unknown, url: string): RmNode {
  const obj = singleRoot(doc, 'node', url);
  const plain = plainRmNode(obj);
  if (plain) return plain;
  const parsed = rmNodeSchema.safeParse(obj);
  if (!parsed.success) throw new YarnDocumentError(url, `invalid "node": ${reasonOf(parsed.error)}`, bodyExcerpt(JSON.stringify(obj)));
  return buildRmNode(parsed.data);
}

/** Response of `POST /nodes/{id}/resource`: `{"resourceInfo":{memory,vCores}}`. */
export function parseResourceInfo(doc: unknown, url: string): YarnResource {
  const r = parseObject(singleRoot(doc, 'resourceInfo', url), resourceInfoSchema, 'resourceInfo', url);
  const res = toResource(r);
  if (!res) throw new YarnDocumentError(url, '"resourceInfo" without memory and vCores', bodyExcerpt(JSON.stringify(r)));
  return res;
}

// ---------------------------------------------------------------------------------------------
// NM: node info, containers

const nmNodeInfoSchema = z.object({
  id: str, nodeHostName: str, totalPmemAllocatedContainersMB: num, totalVmemAllocatedContainersMB: num,
  totalVCoresAllocatedContainers: num, vmemCheckEnabled: bool, pmemCheckEnabled: bool, lastNodeUpdateTime: num,
  nmStartupTime: num, healthReport: str, nodeHealthy: bool, nodeManagerVersion: str, nodeManagerBuildVersion: str,
  nodeManagerVersionBuiltOn: str, hadoopVersion: str, hadoopBuildVersion: str, hadoopVersionBuiltOn: str,
});

export function parseNmNodeInfo(doc: unknown, url: string): NmNodeInfo {
  return dropUndefined(parseObject(singleRoot(doc, 'nodeInfo', url), nmNodeInfoSchema, 'nodeInfo', url));
}

const nmContainerSchema = z.object({
  id: z.preprocess((v) => (typeof v === 'string' ? v.trim() : v), z.string().min(1, 'container without id')),
  state: str, exitCode: num, diagnostics: str, user: str, totalMemoryNeededMB: amount, totalVCoresNeeded: amount,
  executionType: str, containerLogsLink: str, nodeId: str, containerLogFiles: strList,
});

function buildNmContainer(v: z.infer<typeof nmContainerSchema>): NmContainer | string {
  // The id later names a cgroup directory: anything but the exact YARN shape is refused here.
  if (!CONTAINER_ID.test(v.id)) return `malformed container id ${JSON.stringify(v.id)}`;
  return dropUndefined({
    ...v,
    state: v.state?.toUpperCase(),
    executionType: v.executionType?.toUpperCase(),
    appId: appIdOf(v.id)!,
    isAM: isApplicationMaster(v.id),
  });
}

/**
 * One NM container entry. A bad optional field (`exitCode: "NaN"`) does not cost the entry: the
 * entry is kept with that field unknown and named in `unknownFields` (a container that can never
 * be measured or evicted because of a diagnostics field would be worse). A bad or missing id
 * rejects the entry.
 */
const nmContainerLenient = z.unknown().transform((raw, ctx) => {
  const first = nmContainerSchema.safeParse(raw);
  if (first.success) return first.data;
  const bad = new Set(first.error.issues.map((i) => String(i.path[0] ?? '')));
  if (bad.has('') || bad.has('id') || !isRecord(raw)) {
    for (const i of first.error.issues) ctx.addIssue({ code: 'custom', message: i.message, path: i.path });
    return z.NEVER;
  }
  const kept: Record<string, unknown> = { ...raw };
  for (const k of bad) delete kept[k];
  const second = nmContainerSchema.safeParse(kept);
  if (!second.success) {
    for (const i of second.error.issues) ctx.addIssue({ code: 'custom', message: i.message, path: i.path });
    return z.NEVER;
  }
  return { ...second.data, unknownFields: [...bad].sort() };
});

function buildLenientNmContainer(v: z.infer<typeof nmContainerSchema> & { unknownFields?: string[] }): NmContainer | string {
  const { unknownFields, ...rest } = v;
  const built = buildNmContainer(rest);
  if (typeof built !== 'string' && unknownFields) built.unknownFields = unknownFields;
  return built;
}

/** Why a second entry with an id already listed is refused: one container, one entry (its stats would count twice). */
export const DUPLICATE_CONTAINER = 'duplicate container id (the first entry is kept)';

export function parseNmContainers(doc: unknown, url: string): ParsedList<NmContainer> {
  return parseList(listItems(doc, 'containers', 'container', url), nmContainerLenient, buildLenientNmContainer, { keyOf: (c) => c.id, duplicate: DUPLICATE_CONTAINER });
}

export function parseNmContainer(doc: unknown, url: string): NmContainer {
  const obj = singleRoot(doc, 'container', url);
  const parsed = nmContainerLenient.safeParse(obj);
  if (!parsed.success) throw new YarnDocumentError(url, `invalid "container": ${reasonOf(parsed.error)}`, bodyExcerpt(JSON.stringify(obj)));
  const built = buildLenientNmContainer(parsed.data);
  if (typeof built === 'string') throw new YarnDocumentError(url, built, '');
  return built;
}

/** One raw NM container entry (for callers that walk a list themselves): the container, or why it is refused. */
export function parseNmContainerItem(raw: unknown): NmContainer | string {
  const parsed = nmContainerLenient.safeParse(raw);
  if (!parsed.success) return reasonOf(parsed.error);
  return buildLenientNmContainer(parsed.data);
}
