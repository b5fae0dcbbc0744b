/**
 * A NodeManager's container list reduced to what a node agent can hold and work on, in one
 * linear pass (pure): this node's entries (its `nodeId`, or none given), at most `max` of them —
 * live ones first, then the other non-final ones, then final ones — plus counts and a few samples
 * of what was left out (entries refused, entries of another node, entries beyond the cap), so a
 * 50,000-entry answer costs one pass and a bounded result, never a quadratic scan or a log flood.
 */
import { createHash } from 'node:crypto';
import { decodeBody } from './document.js';
import { CONTAINER_ID } from './ids.js';
import { isLiveContainerState, type NmContainer, type RejectedItem } from './model.js';
import { DUPLICATE_CONTAINER, listItems, parseNmContainerItem } from './parse.js';

/**
 * States after which a container has nothing left to run: the NM agent of yarn-copilot lists
 * every other state in `GET /v1/containers` (NEW, LOCALIZING, SCHEDULED, RUNNING …).
 */
export const FINAL_CONTAINER_STATES: readonly string[] = [
  'KILLING', 'DONE', 'LOCALIZATION_FAILED', 'CONTAINER_RESOURCES_CLEANINGUP', 'CONTAINER_CLEANEDUP_AFTER_KILL',
  'EXITED_WITH_FAILURE', 'EXITED_WITH_SUCCESS',
];
const FINAL = new Set(FINAL_CONTAINER_STATES);

export function isFinalContainerState(state: string | undefined): boolean {
  return state !== undefined && FINAL.has(state.toUpperCase());
}

export interface NmContainerSummaryOptions {
  /** This NM's node id; entries naming another node are counted as foreign. Undefined: keep all. */
  nodeId?: string;
  /** Most entries of this node kept. */
  max: number;
  /** Samples kept of each kind left out (default 5). */
  samples?: number;
}

export interface NmContainerSummary {
  /** This node's containers (its nodeId, or none), at most `max`: live first, then other non-final, then final; NM order within each. */
  containers: NmContainer[];
  /** Entries the NM listed. */
  total: number;
  /** Entries refused (invalid id, unusable shape). */
  rejected: { count: number; samples: RejectedItem[] };
  /** Entries naming another node. */
  foreign: { count: number; samples: { id: string; nodeId: string }[] };
  /** This node's entries beyond `max`, not kept. */
  overflow: number;
}

/** Pure: reduce a decoded `{"containers":{"container":[…]}}` document (see the module comment). */
export function summarizeNmContainers(doc: unknown, url: string, opts: NmContainerSummaryOptions): NmContainerSummary {
  const items = listItems(doc, 'containers', 'container', url);
  const nSamples = opts.samples ?? 5;
  const max = Math.max(0, opts.max);
  const live: NmContainer[] = [];
  const other: NmContainer[] = [];
  const final: NmContainer[] = [];
  const out: NmContainerSummary = {
    containers: [], total: items.length, rejected: { count: 0, samples: [] }, foreign: { count: 0, samples: [] }, overflow: 0,
  };
  let mine = 0;
  const seen = new Set<string>();
  const reject = (index: number, raw: unknown, reason: string): void => {
    out.rejected.count++;
    if (out.rejected.samples.length < nSamples) {
      const id = isRecord(raw) && (typeof raw.id === 'string' || typeof raw.id === 'number') ? String(raw.id).slice(0, 200) : undefined;
      out.rejected.samples.push(id === undefined ? { index, reason: reason.slice(0, 300) } : { index, id, reason: reason.slice(0, 300) });
    }
  };
  for (let index = 0; index < items.length; index++) {
    const raw = items[index];
    items[index] = undefined; // let the raw entry go as soon as it is read
    // A cheap look first: only entries that will be kept get the full validation, so a huge
    // list costs one regex and two string compares per entry beyond the cap.
    const peek = peekEntry(raw);
    if (peek === undefined) {
      reject(index, raw, 'container without a valid id');
      continue;
    }
    if (opts.nodeId !== undefined && peek.nodeId !== undefined && peek.nodeId !== opts.nodeId) {
      out.foreign.count++;
      if (out.foreign.samples.length < nSamples) out.foreign.samples.push({ id: peek.id, nodeId: peek.nodeId.slice(0, 200) });
      continue;
    }
    // One container, one entry: a repeated id would count its cgroup (and its release) twice.
    if (seen.has(peek.id)) {
      reject(index, raw, DUPLICATE_CONTAINER);
      continue;
    }
    seen.add(peek.id);
    const peekBucket = isLiveContainerState(peek.state) ? live : isFinalContainerState(peek.state) ? final : other;
    if (peekBucket.length >= max) {
      mine++;
      continue;
    }
    const c = parseNmContainerItem(raw);
    if (typeof c === 'string') {
      reject(index, raw, c);
      continue;
    }
    if (opts.nodeId !== undefined && c.nodeId !== undefined && c.nodeId !== opts.nodeId) {
      out.foreign.count++;
      if (out.foreign.samples.length < nSamples) out.foreign.samples.push({ id: c.id, nodeId: c.nodeId.slice(0, 200) });
      continue;
    }
    mine++;
    const bucket = isLiveContainerState(c.state) ? live : isFinalContainerState(c.state) ? final : other;
    if (bucket.length < max) bucket.push(c);
  }
  out.containers = [...live, ...other, ...final].slice(0, max);
  out.overflow = mine - out.containers.length;
  return out;
}

/** Decode a body (JSON or XML by Content-Type) and summarize it: what the off-thread decoder runs too. */
export function decodeNmContainers(bytes: Uint8Array, contentType: string | undefined, url: string, opts: NmContainerSummaryOptions): NmContainerSummary {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  return summarizeNmContainers(decodeBody(text, contentType, url), url, opts);
}

/**
 * What the cheap look sees of a raw entry: its id (when it has the exact YARN shape — anything
 * else is refused, whatever the full validation would add), its node and its state.
 */
function peekEntry(raw: unknown): { id: string; nodeId?: string; state?: string } | undefined {
  if (!isRecord(raw)) return undefined;
  const id = typeof raw.id === 'string' ? raw.id.trim() : typeof raw.id === 'number' ? String(raw.id) : undefined;
  if (id === undefined || !CONTAINER_ID.test(id)) return undefined;
  const out: { id: string; nodeId?: string; state?: string } = { id };
  if (typeof raw.nodeId === 'string' && raw.nodeId !== '') out.nodeId = raw.nodeId;
  if (typeof raw.state === 'string') out.state = raw.state;
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The digest of what a summary depends on: body, Content-Type and the options. */
export function digestOfNmBody(contentType: string | undefined, bytes: Uint8Array, opts: NmContainerSummaryOptions): string {
  return createHash('sha1').update(`${contentType ?? ''}\0${opts.nodeId ?? ''}\0${opts.max}\0`).update(bytes).digest('base64');
}
