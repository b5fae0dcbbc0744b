/**
 * The yarn-copilot unix-socket API on the wire (reference/koordinator.md §3.2, §3.7), as pure
 * functions: the `ContainerInfo` JSON koordlet decodes, the shared `KillRequest` body, and the
 * `ResourceList` answer of `killContainersByResource`. Koordlet is a Go client: keys and value
 * types must match exactly (quantities are strings, absent maps are `null`).
 */
import { z } from 'zod';
import { InputError, problemWithin } from '../input/input-error.js';
import {
  type Bytes, type MilliCores, formatBatchCpu, formatBatchMemory, formatQuantity, parseBatchCpu, parseBatchMemory,
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
/** koordlet's `KillRequest{containerID, resources}` is shared by both kill endpoints. */
const killRequest = z.strictObject({
  containerID: z.string().optional(),
  resources: resourceList.nullable().optional(),
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

/** `POST /v1/killContainersByResource` body → what to release (milli-cores, bytes). */
export function parseKillByResourceRequest(text: string): ResourceRequest {
  const body = parseBody(text, KILL_BY_RESOURCE);
  if (!body.resources) throw new CopilotRequestError(KILL_BY_RESOURCE, 'resources is required', 'resources');
  const out: ResourceRequest = {};
  for (const [name, value] of Object.entries(body.resources)) {
    const key = `resources.${name}`;
    try {
      if (name === BATCH_CPU) out.cpu = parseBatchCpu(value);
      else if (name === BATCH_MEMORY) out.memory = parseBatchMemory(value);
      else throw new CopilotRequestError(KILL_BY_RESOURCE, `unsupported resource (expected ${BATCH_CPU} and/or ${BATCH_MEMORY})`, key);
    } catch (err) {
      if (err instanceof CopilotRequestError) throw err;
      if (err instanceof InputError) throw new CopilotRequestError(KILL_BY_RESOURCE, problemWithin(err), key);
      throw err;
    }
  }
  return out;
}

/** The `ResourceList` answer: batch CPU in milli-cores, batch memory in bytes, canonical quantities. */
export function releasedResourceList(released: { cpu: MilliCores; memory: Bytes }): Record<string, string> {
  return { [BATCH_CPU]: formatBatchCpu(released.cpu), [BATCH_MEMORY]: formatBatchMemory(released.memory) };
}
