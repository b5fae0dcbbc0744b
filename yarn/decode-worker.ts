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
 */
import { parentPort } from 'node:worker_threads';
import { decodeBody } from './document.js';
import { decodeNmContainers, digestOfNmBody, type NmContainerSummaryOptions } from './nm-containers.js';
import { parseRmNodes } from './parse.js';
import { dedupeNodesByHost } from './rm-node-list.js';

export type DecodeJob =
  | { kind: 'nm-containers'; opts: NmContainerSummaryOptions; /** Digest of the last body decoded: when equal, the answer is `unchanged`. */ lastDigest: string | undefined }
  | { kind: 'rm-nodes' };

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
  return { ...dedupeNodesByHost(parsed.items), rejected: parsed.rejected };
}

parentPort?.on('message', (req: DecodeRequest) => {
  try {
    parentPort!.postMessage({ seq: req.seq, result: run(req) });
  } catch (err) {
    const e = err as Error;
    parentPort!.postMessage({ seq: req.seq, error: { name: e.name, message: e.message } });
  }
});
