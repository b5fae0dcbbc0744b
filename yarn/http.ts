/**
 * The HTTP shell under the RM and NM clients: one undici `Agent` (a keep-alive `Pool` per origin),
 * per-attempt timeout, retries with exponential backoff + jitter for idempotent GETs only,
 * simple auth (`user.name`) or SPNEGO (spnego.ts), HTTPS with a CA, and a metrics hook. Redirects are never followed
 * here: a 3xx comes back to the caller (the RM client decides what a standby's 307 means).
 */
import { readFileSync } from 'node:fs';
import { Agent } from 'undici';
import type { Logger } from '../log/logger.js';
import type { BodyFormat } from './document.js';
import { decodeBody } from './document.js';
import {
  YarnAuthenticationError, YarnConfigError, YarnDocumentError, YarnHttpError, YarnTransportError, bodyExcerpt, type TransportFailure,
} from './errors.js';
import { remoteExceptionOf } from './parse.js';
import { KerberosError } from './kerberos/errors.js';
import { simpleAuth, type AuthAnswer, type Authenticator } from './spnego.js';

/** One HTTP attempt, reported to `onRequest` (the operator turns these into metrics). */
export interface YarnRequestEvent {
  cluster: string;
  url: string;
  method: string;
  /** Stable low-cardinality name of the API call (`cluster.info`, `nodes.list`, …). */
  endpoint: string;
  /** Absent when no HTTP answer arrived. */
  status?: number;
  durationMs: number;
  /** Transport failure kind, or `http`/`document` for failing answers. */
  error?: string;
  /** 0 for the first try. */
  attempt: number;
}

export interface YarnHttpOptions {
  /** Label for metrics and logs (the YARN cluster id, or `nm`). */
  cluster?: string;
  /** Simple auth: `user.name=<user>` on every request. */
  user?: string;
  /** Per attempt, connect to last body byte. Default 10 s. */
  timeoutMs?: number;
  /** Extra attempts for GETs on connection errors, timeouts and 5xx. Default 2. */
  retries?: number;
  /** First backoff step; doubles each retry, capped by `backoffMaxMs`. Default 200 ms. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** PEM CA bundle for HTTPS, as contents or as a file path. */
  ca?: string | Buffer;
  caFile?: string;
  /** Extra headers on every request (e.g. `X-Hadoop-Delegation-Token`). */
  headers?: Record<string, string>;
  /** SPNEGO (yarn/spnego.ts); default: simple auth, with a clear error when a server asks for Kerberos. */
  auth?: Authenticator;
  /** Max sockets per origin. Default 4. */
  connections?: number;
  onRequest?: (event: YarnRequestEvent) => void;
  logger?: Logger;
  /** Jitter source, [0,1). */
  random?: () => number;
  /** Largest response body accepted, in bytes; a larger one is refused while it streams in. Default 64 MiB. */
  maxBodyBytes?: number;
}

export const DEFAULT_MAX_BODY_BYTES = 64 * 2 ** 20;

export type HttpMethod = 'GET' | 'POST';

/**
 * Takes a 2xx body chunk by chunk as it arrives, instead of the body being assembled on this
 * thread (the RM node list of a 20,000-node cluster is 35 MB: assembling it here cost the
 * operator's event loop 50–130 ms, and collecting it afterwards more).
 */
export interface BodyReceiver {
  /** The next chunk, in order. It may be kept, but not modified (it can share memory with the socket's read). */
  write(chunk: Uint8Array): void;
  /** Every chunk has been written. */
  end(): void;
  /** The body will not be used (over the size cap, cut short, or the answer refused): drop what was kept. Idempotent. */
  abort(): void;
}

/** What a `receive` callback learns of an answer before its body. */
export interface AnswerHead {
  status: number;
  contentType: string | undefined;
  url: string;
}

export interface YarnRequest {
  /** Base URL of the server (`http://rm1:8088`); a path prefix is kept. */
  base: string;
  /** Path below the base, already encoded (`/ws/v1/cluster/info`). */
  path: string;
  method: HttpMethod;
  query?: Record<string, string>;
  /** A replayable body (string), sent with `Content-Type: application/json`. */
  body?: string;
  accept: BodyFormat;
  endpoint: string;
  /** Override the GET retry count for this call (0 for HA probes). */
  retries?: number;
  /** Keep the body as bytes (`YarnResponse.bytes`, `body` empty) instead of decoding it to a string. */
  raw?: boolean;
  /**
   * For a `raw` request, called for each 2xx answer before its body: a receiver returned gets the
   * body chunk by chunk (`YarnResponse.received`, no `bytes`); undefined keeps it as bytes. The
   * size cap still applies; on any failure the receiver is aborted.
   */
  receive?: (answer: AnswerHead) => BodyReceiver | undefined;
  /** Aborts the request (the caller's work was cancelled). */
  signal?: AbortSignal;
  /** Called right before each attempt is sent; throwing stops it (the operator's write fence). */
  beforeSend?: () => void;
}

export interface YarnResponse {
  url: string;
  method: HttpMethod;
  status: number;
  contentType: string | undefined;
  location: string | undefined;
  body: string;
  /** The body as received, only for `raw` requests whose body no receiver took. */
  bytes?: Buffer;
  /** The receiver that took the body (`receive`); it has seen `end()`. */
  received?: BodyReceiver;
}

const ACCEPT: Record<BodyFormat, string> = { json: 'application/json', xml: 'application/xml' };

/** Encode one path segment; ':' and '@' are legal pchars and stay readable (`host:port`). */
export function encodePathSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/%3A/gi, ':').replace(/%40/g, '@');
}

function encodeQuery(query: Record<string, string>): string {
  const parts = Object.entries(query).map(
    ([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v).replace(/%2C/gi, ',')}`,
  );
  return parts.length ? `?${parts.join('&')}` : '';
}

/** Normalise a configured base URL (scheme required, no trailing slash). */
export function normaliseBaseUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new YarnConfigError(raw, undefined, 'not an absolute http(s) URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new YarnConfigError(raw, undefined, 'not an http(s) URL');
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'EADDRNOTAVAIL']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED']);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

function errorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_ABORTED' && code !== 'ABORT_ERR') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function classify(code: string | undefined, timedOut: boolean): TransportFailure {
  if (timedOut) return 'timeout';
  if (!code) return 'other';
  if (CONNECT_CODES.has(code)) return 'connect';
  if (RESET_CODES.has(code)) return 'reset';
  if (TIMEOUT_CODES.has(code)) return 'timeout';
  if (code.startsWith('ERR_TLS') || code.includes('CERT') || code.startsWith('DEPTH_ZERO')) return 'tls';
  return 'other';
}

/**
 * The body, refused (and the stream destroyed) as soon as it passes `limit` bytes: a huge or
 * endless answer costs at most `limit` bytes of memory, never the process.
 */
async function readLimited(stream: AsyncIterable<Uint8Array> & { destroy(err?: Error): unknown }, limit: number, url: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const size = await eachChunkLimited(stream, limit, url, (chunk) => chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

/** Each chunk of the body to `onChunk`, refused as {@link readLimited} refuses; the body's size. */
async function eachChunkLimited(stream: AsyncIterable<Uint8Array> & { destroy(err?: Error): unknown }, limit: number, url: string, onChunk: (chunk: Uint8Array) => void): Promise<number> {
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.byteLength;
    if (size > limit) {
      stream.destroy();
      throw new YarnDocumentError(url, `answer larger than ${limit} bytes: refused`, '');
    }
    onChunk(chunk);
  }
  return size;
}

const NO_BYTES: Buffer = Buffer.alloc(0);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class YarnHttp {
  readonly cluster: string;
  private readonly agent: Agent;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly random: () => number;
  private readonly maxBodyBytes: number;

  constructor(private readonly options: YarnHttpOptions = {}) {
    this.cluster = options.cluster ?? 'yarn';
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.retries = Math.max(0, options.retries ?? 2);
    this.backoffBaseMs = options.backoffBaseMs ?? 200;
    this.backoffMaxMs = options.backoffMaxMs ?? 5_000;
    this.random = options.random ?? Math.random;
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    let ca = options.ca;
    if (ca === undefined && options.caFile) {
      try {
        ca = readFileSync(options.caFile);
      } catch (err) {
        throw new YarnConfigError(options.caFile, undefined, `cannot read CA file: ${(err as Error).message}`);
      }
    }
    this.agent = new Agent({
      connections: options.connections ?? 4,
      keepAliveTimeout: 4_000,
      connect: { timeout: this.timeoutMs, ...(ca !== undefined ? { ca } : {}) },
    });
  }

  /** `?user.name=` and the full URL of a request. */
  urlOf(req: Pick<YarnRequest, 'base' | 'path' | 'query'>): string {
    const query = { ...(req.query ?? {}) };
    if (this.options.user) query['user.name'] = this.options.user;
    return `${req.base}${req.path}${encodeQuery(query)}`;
  }

  /** Backoff before retry number `retry` (1-based): exponential, capped, with "equal jitter". */
  backoffMs(retry: number): number {
    const ceiling = Math.min(this.backoffMaxMs, this.backoffBaseMs * 2 ** (retry - 1));
    return Math.round(ceiling / 2 + (ceiling / 2) * this.random());
  }

  /**
   * Send one request. Returns 2xx and 3xx answers; throws YarnHttpError for 4xx/5xx and
   * YarnTransportError when no answer came. Only GETs are retried: a POST that timed out or
   * lost its connection may have been executed, so it is never sent twice from here.
   */
  async send(req: YarnRequest): Promise<YarnResponse> {
    const maxRetries = req.method === 'GET' ? Math.max(0, req.retries ?? this.retries) : 0;
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.attempt(req, attempt);
        if (res.status >= 400) throw this.httpError(res);
        return res;
      } catch (err) {
        const retryable = (err instanceof YarnTransportError && err.kind !== 'tls')
          || (err instanceof YarnHttpError && err.status >= 500);
        if (!retryable || attempt >= maxRetries) throw err;
        const delay = this.backoffMs(attempt + 1);
        this.options.logger?.debug({ url: this.urlOf(req), attempt, delay, err: (err as Error).message }, 'retrying YARN GET');
        await sleep(delay);
      }
    }
  }

  /** `send`, then decode a 2xx body as JSON/XML (Content-Type checked). 3xx is an error here. */
  async getDocument(req: YarnRequest): Promise<{ response: YarnResponse; doc: unknown }> {
    const response = await this.send(req);
    if (response.status >= 300) throw this.httpError(response);
    return { response, doc: decodeBody(response.body, response.contentType, response.url) };
  }

  /** A YarnHttpError for an answer, with the RemoteException when the body is one. */
  httpError(res: YarnResponse): YarnHttpError {
    let remote;
    try {
      remote = res.body.trim() ? remoteExceptionOf(decodeBody(res.body, res.contentType, res.url)) : undefined;
    } catch {
      remote = undefined; // plain-text / HTML error bodies stay in the excerpt
    }
    return new YarnHttpError(res.url, res.method, res.status, remote, bodyExcerpt(res.body));
  }

  private async attempt(req: YarnRequest, attempt: number): Promise<YarnResponse> {
    const url = this.urlOf(req);
    const target = new URL(url);
    const headers: Record<string, string> = { ...(this.options.headers ?? {}), accept: ACCEPT[req.accept] };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    req.signal?.throwIfAborted();
    const controller = new AbortController();
    const onAbort = () => controller.abort(req.signal?.reason);
    req.signal?.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    const started = performance.now();
    const report = (status: number | undefined, error?: string) => {
      const event: YarnRequestEvent = {
        cluster: this.cluster, url, method: req.method, endpoint: req.endpoint,
        durationMs: performance.now() - started, attempt,
      };
      if (status !== undefined) event.status = status;
      if (error !== undefined) event.error = error;
      try {
        this.options.onRequest?.(event);
      } catch {
        // a broken metrics hook must not break the call
      }
    };
    // Receivers given a body in this attempt: every one is aborted unless its answer is the one returned.
    const receivers: BodyReceiver[] = [];
    const sendWith = async (extra: Record<string, string>): Promise<AuthAnswer & { bytes: Buffer; received?: BodyReceiver }> => {
      // After every await of the auth exchange (a Kerberos ticket may take a while).
      req.beforeSend?.();
      const res = await this.agent.request({
        origin: target.origin,
        path: `${target.pathname}${target.search}`,
        method: req.method,
        headers: { ...headers, ...extra },
        body: req.body ?? null,
        signal: controller.signal,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
      const header = (name: string) => {
        const v = res.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      const receiver = req.raw && req.receive && res.statusCode >= 200 && res.statusCode < 300
        ? req.receive({ status: res.statusCode, contentType: header('content-type'), url })
        : undefined;
      let bytes: Buffer = NO_BYTES;
      if (receiver) {
        receivers.push(receiver);
        await eachChunkLimited(res.body, this.maxBodyBytes, url, (chunk) => receiver.write(chunk));
        receiver.end();
      } else {
        bytes = await readLimited(res.body, this.maxBodyBytes, url);
      }
      const cookies = res.headers['set-cookie'];
      return {
        status: res.statusCode, header, bytes, ...(receiver ? { received: receiver } : {}),
        setCookies: cookies === undefined ? [] : Array.isArray(cookies) ? cookies : [cookies],
        excerpt: () => bodyExcerpt(bytes.toString('utf8').replace(/<[^>]*>/g, ' ')),
      };
    };
    try {
      const res = await (this.options.auth ?? simpleAuth).exchange(target, sendWith);
      const response: YarnResponse = {
        url, method: req.method, status: res.status, contentType: res.header('content-type'), location: res.header('location'),
        // A raw request keeps a 2xx body as bytes; an error or redirect body is text (RemoteException, Location notes).
        body: req.raw && res.status < 300 ? '' : res.bytes.toString('utf8'),
      };
      if (res.received) response.received = res.received;
      else if (req.raw) response.bytes = res.bytes;
      for (const r of receivers) if (r !== res.received) r.abort();
      report(res.status, res.status >= 400 ? 'http' : undefined);
      return response;
    } catch (err) {
      for (const r of receivers) r.abort();
      // Cancelled by the caller: its reason, not a transport failure (and never retried).
      if (req.signal?.aborted) throw req.signal.reason ?? err;
      if (err instanceof YarnDocumentError) {
        report(undefined, 'document');
        throw err;
      }
      if (err instanceof YarnAuthenticationError) {
        report(undefined, err instanceof KerberosError ? 'kerberos' : 'authentication');
        throw err;
      }
      const code = errorCode(err);
      const kind = classify(code, timedOut);
      report(undefined, kind);
      throw new YarnTransportError(url, req.method, kind, timedOut ? `no answer within ${this.timeoutMs} ms` : code, err);
    } finally {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
