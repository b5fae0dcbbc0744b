/**
 * Runs the decoder worker (decode-worker.ts) for large bodies — the agent's NM container lists,
 * the operator's RM node lists: created on first use, given its own bounded heap, ended after a
 * while without work. A body that exhausts that heap (or kills the worker any other way) is
 * refused with one error naming the URL; the next one gets a fresh worker. The caller's thread
 * only moves the bytes (transferred, not copied) and receives the decoded result.
 */
import { Worker } from 'node:worker_threads';
import { YarnDocumentError } from './errors.js';
import type { DecodeJob } from './decode-worker.js';
import type { RejectedItem, RmNode } from './model.js';
import type { NmContainerSummary, NmContainerSummaryOptions } from './nm-containers.js';

export interface OffThreadDecoderOptions {
  /** Old-generation heap of the worker, MB (default 64). */
  heapMb?: number;
  /** End the worker after this long without work, ms (default 30 s). */
  idleMs?: number;
}

export type NmDecodeResult = { digest: string; unchanged: true } | { digest: string; summary: NmContainerSummary };

export interface RmNodesDecodeResult {
  nodes: RmNode[];
  rejected: RejectedItem[];
  superseded: RmNode[];
}

/**
 * An RM node list as the difference from the one decoded before (`since`), or whole. `token`
 * names this list: pass it as `since` next time.
 */
export type RmNodesDeltaResult = { token: string; rejected: RejectedItem[] } & (
  | { full: true; nodes: RmNode[] }
  | { full: false; /** Nodes new or whose state, total or used changed. */ changed: RmNode[]; /** Keys (lower-cased NodeIds) of nodes gone. */ removed: string[] }
);

interface Pending {
  resolve: (r: unknown) => void;
  reject: (e: Error) => void;
  url: string;
  size: number;
}

// Under the TypeScript sources (tests, tsx) the worker is the .ts file, loaded through tsx.
const fromSource = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(fromSource ? './decode-worker.ts' : './decode-worker.js', import.meta.url);

export class OffThreadDecoder {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private idle: NodeJS.Timeout | undefined;
  readonly heapMb: number;
  private readonly idleMs: number;

  constructor(options: OffThreadDecoderOptions = {}) {
    this.heapMb = options.heapMb ?? 64;
    this.idleMs = options.idleMs ?? 30_000;
  }

  /** Summarize an NM container list off the calling thread. `bytes` is transferred: the caller must not use it afterwards. */
  decode(bytes: Uint8Array, contentType: string | undefined, url: string, opts: NmContainerSummaryOptions, lastDigest: string | undefined): Promise<NmDecodeResult> {
    return this.run({ kind: 'nm-containers', opts, lastDigest }, bytes, contentType, url) as Promise<NmDecodeResult>;
  }

  /** Validate and deduplicate an RM node list off the calling thread. `bytes` is transferred. */
  rmNodes(bytes: Uint8Array, contentType: string | undefined, url: string): Promise<RmNodesDecodeResult> {
    return this.run({ kind: 'rm-nodes' }, bytes, contentType, url) as Promise<RmNodesDecodeResult>;
  }

  /**
   * Validate and deduplicate an RM node list off the calling thread, answered as the difference
   * from the list named `since` when this worker still holds it (else whole). `bytes` is transferred.
   */
  rmNodesSince(bytes: Uint8Array, contentType: string | undefined, url: string, since: string | undefined): Promise<RmNodesDeltaResult> {
    return this.run({ kind: 'rm-nodes-delta', since }, bytes, contentType, url) as Promise<RmNodesDeltaResult>;
  }

  async close(): Promise<void> {
    if (this.idle) clearTimeout(this.idle);
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }

  private run(job: DecodeJob, bytes: Uint8Array, contentType: string | undefined, url: string): Promise<unknown> {
    const w = this.ensure();
    if (this.idle) clearTimeout(this.idle);
    const seq = ++this.seq;
    const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer ? bytes : new Uint8Array(bytes);
    return new Promise<unknown>((resolve, reject) => {
      this.pending.set(seq, { resolve, reject, url, size: own.byteLength });
      w.postMessage({ seq, job, bytes: own, contentType, url }, [own.buffer as ArrayBuffer]);
    });
  }

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const limits = { resourceLimits: { maxOldGenerationSizeMb: this.heapMb, maxYoungGenerationSizeMb: 8 } };
    // From the sources, the worker registers tsx's loader itself (a worker does not inherit it).
    const w = fromSource
      ? new Worker(`import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(WORKER_URL.href)}); });`, { eval: true, ...limits })
      : new Worker(WORKER_URL, limits);
    w.unref();
    w.on('message', (m: { seq: number; result?: unknown; error?: { name: string; message: string } }) => {
      const p = this.pending.get(m.seq);
      if (!p) return;
      this.pending.delete(m.seq);
      if (m.error) p.reject(m.error.name === 'YarnDocumentError' ? new YarnDocumentError(p.url, m.error.message.replace(`${p.url}: `, ''), '') : new Error(m.error.message));
      else p.resolve(m.result);
      this.scheduleIdle();
    });
    const fail = (why: string): void => {
      if (this.worker === w) this.worker = undefined;
      for (const [seq, p] of this.pending) {
        this.pending.delete(seq);
        p.reject(new YarnDocumentError(p.url, `decoding the ${p.size}-byte answer failed in the decoder worker (${why}): refused`, ''));
      }
    };
    w.on('error', (err: Error & { code?: string }) => fail(err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `it needed more than its ${this.heapMb} MB heap` : err.message));
    w.on('exit', (code) => fail(`worker exited with code ${code}`));
    this.worker = w;
    return w;
  }

  private scheduleIdle(): void {
    if (this.pending.size > 0) return;
    if (this.idle) clearTimeout(this.idle);
    this.idle = setTimeout(() => { void this.close(); }, this.idleMs);
    this.idle.unref();
  }
}
