/**
 * The off-thread NM decoder (a worker thread of the agent): decodes and summarizes large
 * container lists so that the agent's main thread — its fast memory watch and `/healthz` — never
 * waits for a multi-megabyte JSON.parse, and a body that would exhaust memory exhausts this
 * worker's own bounded heap instead of the agent's. It also digests the body, so an unchanged
 * answer is recognised without ever decoding it on the main thread.
 */
import { parentPort } from 'node:worker_threads';
import { decodeNmContainers, digestOfNmBody, type NmContainerSummaryOptions } from './nm-containers.js';

export interface DecodeRequest {
  seq: number;
  bytes: Uint8Array;
  contentType: string | undefined;
  url: string;
  opts: NmContainerSummaryOptions;
  /** Digest of the last body decoded: when equal, the answer is `unchanged`. */
  lastDigest: string | undefined;
}

parentPort?.on('message', (req: DecodeRequest) => {
  try {
    const digest = digestOfNmBody(req.contentType, req.bytes, req.opts);
    if (digest === req.lastDigest) {
      parentPort!.postMessage({ seq: req.seq, digest, unchanged: true });
      return;
    }
    const summary = decodeNmContainers(req.bytes, req.contentType, req.url, req.opts);
    parentPort!.postMessage({ seq: req.seq, digest, summary });
  } catch (err) {
    const e = err as Error;
    parentPort!.postMessage({ seq: req.seq, error: { name: e.name, message: e.message } });
  }
});
