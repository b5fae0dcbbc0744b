/**
 * The off-thread decoder (a worker thread of the agent and of the operator): decodes large YARN
 * answers so that the calling program's main thread never waits for a multi-megabyte
 * JSON.parse — the agent's fast memory watch and `/healthz`, the operator's change → RM path —
 * and a body that would exhaust memory exhausts this worker's own bounded heap instead.
 *
 * Jobs:
 * - `nm-containers`: summarize an NM container list (nm-containers.ts); the body is digested
 *   first, so an unchanged answer is recognised without decoding it.
 * - `rm-nodes`: validate an RM node list item by item and deduplicate it by host (parse.ts,
 *   rm-client.ts): the operator's poll of a 20,000-node cluster is a 35 MB body.
 * - `rm-nodes-delta`: the same, answered as the difference from the list this worker decoded
 *   last (when the caller holds that one: `since` equals its token). Sending the 20,000 decoded
 *   nodes back (a structured clone, rebuilt on the caller's thread) held the operator's event
 *   loop for 0.5–1.7 s per poll at 20,000 nodes; a delta is a few hundred nodes.
 *
 * A body comes whole (one message, its bytes transferred) or streamed: `begin` (the job), its
 * chunks as they arrive on the caller's socket, then `end` (decode) or `abort` (drop it). The
 * streamed body is assembled here, so the caller's thread never holds it whole.
 */
import { randomUUID } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { decodeBody } from './document.js';
import { decodeNmContainers, digestOfNmBody, type NmContainerSummaryOptions } from './nm-containers.js';
import { parseRmNodes } from './parse.js';
import type { RmNode } from './model.js';
import { dedupeNodesByHost, nodeListDelta, rmNodeKey } from './rm-node-list.js';

export type DecodeJob =
  | { kind: 'nm-containers'; opts: NmContainerSummaryOptions; /** Digest of the last body decoded: when equal, the answer is `unchanged`. */ lastDigest: string | undefined }
  | { kind: 'rm-nodes' }
  | { kind: 'rm-nodes-delta'; /** Token of the list the caller holds (undefined: none). */ since: string | undefined };

/** The last list a `rm-nodes-delta` job decoded, by {@link rmNodeKey}. */
let baseline: { token: string; nodes: Map<string, RmNode> } | undefined;

export interface DecodeRequest {
  seq: number;
  job: DecodeJob;
  bytes: Uint8Array;
  contentType: string | undefined;
  url: string;
}

function run(req: DecodeRequest): unknown {
  const { job, bytes, contentType, url } = req;
  if (job.kind === 'nm-containers') {
    const digest = digestOfNmBody(contentType, bytes, job.opts);
    if (digest === job.lastDigest) return { digest, unchanged: true };
    return { digest, summary: decodeNmContainers(bytes, contentType, url, job.opts) };
  }
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const parsed = parseRmNodes(decodeBody(text, contentType, url), url);
  const list = dedupeNodesByHost(parsed.items);
  if (job.kind === 'rm-nodes') return { ...list, rejected: parsed.rejected };
  const nodes = new Map(list.nodes.map((n) => [rmNodeKey(n.id), n]));
  const before = baseline;
  // The caller's list is replaced by this one whatever it gets back: a lost answer means a full one next.
  baseline = { token: randomUUID(), nodes };
  if (before !== undefined && job.since === before.token) {
    return { full: false, token: baseline.token, ...nodeListDelta(before.nodes, nodes), rejected: parsed.rejected };
  }
  return { full: true, token: baseline.token, nodes: list.nodes, rejected: parsed.rejected };
}

export type StreamMessage =
  | { type: 'begin'; seq: number; job: DecodeJob; contentType: string | undefined; url: string }
  | { type: 'chunk'; seq: number; bytes: Uint8Array }
  | { type: 'end'; seq: number }
  | { type: 'abort'; seq: number };

/** Streamed bodies being received, by request. */
const streams = new Map<number, { job: DecodeJob; contentType: string | undefined; url: string; chunks: Uint8Array[]; size: number }>();

function answer(req: DecodeRequest): void {
  try {
    parentPort!.postMessage({ seq: req.seq, result: run(req) });
  } catch (err) {
    const e = err as Error;
    parentPort!.postMessage({ seq: req.seq, error: { name: e.name, message: e.message } });
  }
}

parentPort?.on('message', (msg: DecodeRequest | StreamMessage) => {
  if (!('type' in msg)) {
    answer(msg);
    return;
  }
  switch (msg.type) {
    case 'begin':
      streams.set(msg.seq, { job: msg.job, contentType: msg.contentType, url: msg.url, chunks: [], size: 0 });
      return;
    case 'chunk': {
      const s = streams.get(msg.seq);
      if (s) {
        s.chunks.push(msg.bytes);
        s.size += msg.bytes.byteLength;
      }
      return;
    }
    case 'abort':
      streams.delete(msg.seq);
      return;
    case 'end': {
      const s = streams.get(msg.seq);
      if (!s) return;
      streams.delete(msg.seq);
      const bytes = s.chunks.length === 1 ? s.chunks[0]! : Buffer.concat(s.chunks, s.size);
      s.chunks = [];
      answer({ seq: msg.seq, job: s.job, bytes, contentType: s.contentType, url: s.url });
    }
  }
});
