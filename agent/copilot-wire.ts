/**
 * The yarn-copilot unix-socket API on the wire, as pure functions: the `ContainerInfo` JSON
 * koordlet decodes, the shared `KillRequest` body, and the `ResourceList` answer of
 * `killContainersByResource`. Koordlet is a Go client: keys and value types must match exactly
 * (quantities are strings, absent maps are `null`).
 *
 * Units of `killContainersByResource` (request and answer):
 * - `kubernetes.io/batch-cpu` is a CPU quantity *in cores*, whose milli value is milli-cores —
 *   what koordlet's CPU eviction sends (Go `resource.NewMilliQuantity(milli)`: `"1500m"` for
 *   1,500 milli-cores, `"2"` for 2,000) and reads back (`MilliValue()`). So `"1k"` is 1,000
 *   cores: a request for more CPU than this node has is refused (400) naming the unit, never
 *   read as "kill everything". (This is not the node-allocatable convention, where batch-cpu
 *   `"60646"` counts milli-cores.)
 * - `kubernetes.io/batch-memory` is bytes (`NewQuantity(bytes)`, read with `Value()`).
 * - The answer is that `ResourceList` of what was released (plus what evictions already in flight
 *   release), in the same units: `{"kubernetes.io/batch-cpu":"1500m","kubernetes.io/batch-memory":"3Gi"}`.
 *   It is not `{"items":[…]}` (that is `killContainer`'s answer): a client that decodes the
 *   by-resource answer as a `KillInfo` gets an empty item list.
 * - `nodeCpuRatio` / `nodeMemoryRatio`, which koordlet's client adds, are accepted and logged.
 */
import { z } from 'zod';
import { InputError, problemWithin } from '../input/input-error.js';
import {
  type Bytes, type MilliCores, formatBatchMemory, formatQuantity, parseBatchMemory, parseCpu,
} from '../kube/quantity.js';
import { isContainerId } from '../yarn/ids.js';
import { BATCH_CPU, BATCH_MEMORY } from '../kube/wire.js';
import type { NmContainer } from '../yarn/model.js';
import type { ResourceRequest } from './rules/index.js';

export { BATCH_CPU, BATCH_MEMORY };

/** Go's zero `time.Time` in JSON: what yarn-copilot sends when it does not know. */
export const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

export interface ResourceQuantities {
  cpu: string;
  memory: string;
}

export interface ContainerInfo {
  name: string;
  namespace: 'yarn';
  uid: string;
  labels: Record<string, string> | null;
  annotations: Record<string, string> | null;
  priority: number;
  createTimestamp: string;
  cgroupDir: string;
  hostNetwork: boolean;
  resources: { limits: ResourceQuantities; requests: ResourceQuantities };
}

/** RFC 3339 like Go's `time.Time` JSON (no trailing zeros in the fraction). */
export function goTime(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return GO_ZERO_TIME;
  return new Date(ms).toISOString().replace(/\.?0+Z$/, 'Z');
}

/**
 * yarn-copilot's `ContainerInfo`: requests = limits = the YARN allocation, CPU in cores
 * (`totalVCoresNeeded`) and memory in bytes (`totalMemoryNeededMB` × 2^20), as canonical
 * Kubernetes quantities (what Go's `resource.Quantity` marshals to). `createTimestamp` is when the
 * agent first saw the container (yarn-copilot never filled it; Go's zero time when unknown).
 */
export function toContainerInfo(c: NmContainer, yarnCgroupPath: string, firstSeenAt?: number): ContainerInfo {
  const q: ResourceQuantities = {
    cpu: formatQuantity(Math.max(0, Math.floor(c.totalVCoresNeeded ?? 0)), 'decimal'),
    memory: formatBatchMemory((Math.max(0, Math.floor(c.totalMemoryNeededMB ?? 0)) * 2 ** 20) as Bytes),
  };
  return {
    name: c.id,
    namespace: 'yarn',
    uid: c.id,
    labels: null,
    annotations: null,
    priority: 1,
    createTimestamp: goTime(firstSeenAt),
    cgroupDir: `${yarnCgroupPath}/${c.id}`,
    hostNetwork: true,
    resources: { limits: { ...q }, requests: { ...q } },
  };
}

/** A request the API refuses: answered 400 with `{"error": message}`; `source` is the endpoint. */
export class CopilotRequestError extends InputError {
  constructor(source: string, problem: string, key?: string) {
    super(source, problem, key ? { key } : {});
    this.name = 'CopilotRequestError';
  }
}

const quantity = z.union([z.string(), z.number()]);
const resourceList = z.record(z.string(), quantity);
const ratio = z.number().finite().optional();
/**
 * koordlet's `KillRequest{containerID, resources, nodeCpuRatio, nodeMemoryRatio}` is shared by
 * both kill endpoints (yarn-copilot's own client sends the first two only).
 */
const killRequest = z.strictObject({
  containerID: z.string().optional(),
  resources: resourceList.nullable().optional(),
  nodeCpuRatio: ratio,
  nodeMemoryRatio: ratio,
});

const KILL_CONTAINER = 'POST /v1/killContainer';
const KILL_BY_RESOURCE = 'POST /v1/killContainersByResource';

function parseBody(text: string, source: string): z.infer<typeof killRequest> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new CopilotRequestError(source, `request body is not JSON: ${(err as Error).message}`);
  }
  const r = killRequest.safeParse(doc);
  if (!r.success) {
    const [first, ...rest] = r.error.issues;
    const key = first!.path.map(String).join('.');
    const more = rest.length ? `; ${rest.map((i) => `${i.path.map(String).join('.') || '(body)'}: ${i.message}`).join('; ')}` : '';
    throw new CopilotRequestError(source, `invalid request: ${first!.message}${more}`, key || undefined);
  }
  return r.data;
}

/** `POST /v1/killContainer` body → a validated container id. */
export function parseKillContainerRequest(text: string): string {
  const body = parseBody(text, KILL_CONTAINER);
  const id: string = body.containerID ?? '';
  if (id === '') throw new CopilotRequestError(KILL_CONTAINER, 'containerID is required', 'containerID');
  if (!isContainerId(id)) throw new CopilotRequestError(KILL_CONTAINER, `${JSON.stringify(String(id).slice(0, 120))} is not a YARN container id`, 'containerID');
  return id;
}

/** A `killContainersByResource` request: what to release, plus koordlet's informational ratios. */
export interface KillByResourceRequest {
  resources: ResourceRequest;
  nodeCpuRatio?: number;
  nodeMemoryRatio?: number;
}

/** `POST /v1/killContainersByResource` body → what to release (milli-cores, bytes; see the module comment for units). */
export function parseKillByResourceRequest(text: string): KillByResourceRequest {
  const body = parseBody(text, KILL_BY_RESOURCE);
  if (!body.resources) throw new CopilotRequestError(KILL_BY_RESOURCE, 'resources is required', 'resources');
  const out: ResourceRequest = {};
  for (const [name, value] of Object.entries(body.resources)) {
    const key = `resources.${name}`;
    try {
      if (name === BATCH_CPU) out.cpu = parseCpu(value);
      else if (name === BATCH_MEMORY) out.memory = parseBatchMemory(value);
      else throw new CopilotRequestError(KILL_BY_RESOURCE, `unsupported resource (expected ${BATCH_CPU} and/or ${BATCH_MEMORY})`, key);
    } catch (err) {
      if (err instanceof CopilotRequestError) throw err;
      if (err instanceof InputError) throw new CopilotRequestError(KILL_BY_RESOURCE, problemWithin(err), key);
      throw err;
    }
  }
  const req: KillByResourceRequest = { resources: out };
  if (body.nodeCpuRatio !== undefined) req.nodeCpuRatio = body.nodeCpuRatio;
  if (body.nodeMemoryRatio !== undefined) req.nodeMemoryRatio = body.nodeMemoryRatio;
  return req;
}

/** Refuses a CPU request above the node's capacity: a unit mix-up (`"1k"` meant as one core), not a real need. */
export function checkCpuRequest(request: ResourceRequest, capacity: MilliCores | undefined): void {
  if (request.cpu === undefined || capacity === undefined || !(capacity > 0) || request.cpu <= capacity) return;
  throw new CopilotRequestError(
    KILL_BY_RESOURCE,
    `${formatMilliCpu(request.cpu)} asks for ${request.cpu / 1000} cores, more than this node's ${capacity / 1000}: ` +
      `the quantity is in cores (koordlet's NewMilliQuantity: "1500m" = 1.5 cores), not in milli-cores`,
    `resources.${BATCH_CPU}`,
  );
}

/** Milli-cores as Go's `NewMilliQuantity(m, DecimalSI).String()`: `"1500m"`, `"2"`, `"1k"`. */
export function formatMilliCpu(m: MilliCores): string {
  return m % 1000 === 0 ? formatQuantity(m / 1000, 'decimal') : `${m}m`;
}

/** The `ResourceList` answer: batch CPU as a core quantity (milli value = milli-cores), batch memory in bytes. */
export function releasedResourceList(released: { cpu: MilliCores; memory: Bytes }): Record<string, string> {
  return { [BATCH_CPU]: formatMilliCpu(released.cpu), [BATCH_MEMORY]: formatBatchMemory(released.memory) };
}
