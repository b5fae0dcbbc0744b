/**
 * Runs the decoder worker (decode-worker.ts) for large bodies — the agent's NM container lists,
 * the operator's RM node lists: created on first use, given its own bounded heap, ended after a
 * while without work. A body that exhausts that heap (or kills the worker any other way) is
 * refused with one error naming the URL; the next one gets a fresh worker. The caller's thread
 * only moves the bytes (transferred, not copied) and receives the decoded result. A body can also
 * be handed over while it streams in ({@link OffThreadDecoder.openStream}): each chunk goes to the
 * worker as it arrives, and the body is assembled there, never on the caller's thread.
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

/** A body being handed to the worker chunk by chunk (see {@link OffThreadDecoder.openStream}). */
export interface DecoderStream<R> {
  /** The next chunk (copied: the caller's buffer stays its own). */
  write(chunk: Uint8Array): void;
  /** The body is complete: decode it. */
  finish(): Promise<R>;
  /** The body will not be complete: the worker drops what it holds. Idempotent; no effect after `finish`. */
  abort(): void;
}

/** The job of a streamed RM node list: whole (`rm-nodes`) or as a difference (`rm-nodes-delta`). */
export type RmNodesStreamJob = { kind: 'rm-nodes' } | { kind: 'rm-nodes-delta'; since: string | undefined };
export type RmNodesStreamResult<J extends RmNodesStreamJob> = J extends { kind: 'rm-nodes' } ? RmNodesDecodeResult : RmNodesDeltaResult;

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

  /**
   * Start handing an RM node list to the worker while it streams in: the job (`rm-nodes` or
   * `rm-nodes-delta`) runs when {@link DecoderStream.finish} is called. If the worker dies
   * meanwhile, `finish` rejects with one error naming the URL.
   */
  openStream<J extends RmNodesStreamJob>(job: J, contentType: string | undefined, url: string): DecoderStream<RmNodesStreamResult<J>> {
    const w = this.ensure();
    if (this.idle) clearTimeout(this.idle);
    const seq = ++this.seq;
    let pending!: Pending;
    const result = new Promise<unknown>((resolve, reject) => {
      pending = { resolve, reject, url, size: 0 };
    });
    // Rejected while nobody waits yet (the worker died mid-stream): seen when `finish` is called.
    result.catch(() => undefined);
    this.pending.set(seq, pending);
    w.postMessage({ type: 'begin', seq, job, contentType, url });
    let state: 'open' | 'finished' | 'aborted' = 'open';
    const live = () => state === 'open' && this.worker === w && this.pending.get(seq) === pending;
    return {
      write: (chunk) => {
        if (!live()) return;
        const own = new Uint8Array(chunk); // a copy the worker can own (the chunk may share the socket's read buffer)
        pending.size += own.byteLength;
        w.postMessage({ type: 'chunk', seq, bytes: own }, [own.buffer]);
      },
      finish: () => {
        if (live()) w.postMessage({ type: 'end', seq });
        state = 'finished';
        return result as Promise<RmNodesStreamResult<J>>;
      },
      abort: () => {
        if (state !== 'open') return;
        const mine = live();
        state = 'aborted';
        if (!mine) return;
        this.pending.delete(seq);
        w.postMessage({ type: 'abort', seq });
        pending.reject(new YarnDocumentError(url, 'answer abandoned before it was complete', ''));
        this.scheduleIdle();
      },
    };
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
