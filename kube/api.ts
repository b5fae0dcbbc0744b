/** A thin, typed Kubernetes REST client over one kept-alive undici pool. */
import { request } from 'undici';
import type { KubeConnection } from './connection.js';

export type PatchType = 'merge' | 'strategic' | 'json';
const PATCH_CONTENT: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
};

export class KubeApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly reason: string | undefined,
    message: string,
  ) {
    super(`${method} ${path}: ${status}${reason ? ` ${reason}` : ''}: ${message}`);
    this.name = 'KubeApiError';
  }
  get conflict(): boolean { return this.status === 409; }
  get notFound(): boolean { return this.status === 404; }
  get gone(): boolean { return this.status === 410; }
}

/** Words for the transport failures a person meets (a dead or unreachable API server). */
const TRANSPORT_PROBLEMS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  UND_ERR_BODY_TIMEOUT: 'answer stalled',
  UND_ERR_SOCKET: 'connection closed',
};

function codeOf(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** No HTTP answer from the Kubernetes API server; the message says it was Kubernetes, which server, and why. */
export class KubeTransportError extends Error {
  readonly code: string | undefined;
  constructor(readonly method: string, readonly server: string, readonly path: string, cause: unknown) {
    const code = codeOf(cause);
    const why = (code && TRANSPORT_PROBLEMS[code]) ?? (cause as Error)?.message ?? String(cause);
    super(`Kubernetes API server ${server} unreachable: ${why}${code ? ` (${code})` : ''} on ${method} ${path}`, { cause });
    this.name = 'KubeTransportError';
    this.code = code;
  }
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
  deletionTimestamp?: string;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [k: string]: unknown;
}

export interface KubeList<T> {
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
  /** Aborts the request (leadership lost, shutdown). */
  signal?: AbortSignal;
  /**
   * Called right before the request is sent, after every await of its own: throwing stops it.
   * The operator's fence lives here, so no write leaves once leadership is in doubt.
   */
  beforeSend?: () => void;
  /** Called with a successful answer's text before it is parsed (a paged list reads its `continue` from the head). */
  onText?: (text: string) => void;
}

export class KubeApi {
  /** Requests sent, by `METHOD resource` (for benchmarks and metrics). */
  readonly counts = new Map<string, number>();

  /** `onError`: every failed request (the 403 reporter of kube/forbidden.ts listens). */
  constructor(readonly conn: KubeConnection, private readonly defaultTimeoutMs = 30_000, private readonly onError?: (err: KubeApiError) => void) {}

  /** Tells `onError` about a failure of a request made outside `request()` (a watch). */
  noteError(err: KubeApiError): void {
    try {
      this.onError?.(err);
    } catch {
      // reporting must not change the outcome
    }
  }

  url(path: string, query?: RequestOptions['query']): string {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) q.set(k, String(v));
    const qs = q.toString();
    return `${this.conn.server}${path}${qs ? `?${qs}` : ''}`;
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const key = `${method} ${path.replace(/\/[^/]+$/, '/{name}')}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    const headers: Record<string, string> = { accept: 'application/json', ...(await this.conn.headers()) };
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = opts.contentType ?? 'application/json';
    }
    const timeout = opts.timeoutMs ?? this.defaultTimeoutMs;
    let res: Awaited<ReturnType<typeof request>>;
    let text: string;
    opts.signal?.throwIfAborted();
    opts.beforeSend?.();
    try {
      res = await request(this.url(path, opts.query), {
        ...(opts.signal ? { signal: opts.signal } : {}),
        method: method as 'GET',
        headers,
        ...(body !== undefined ? { body } : {}),
        dispatcher: this.conn.dispatcher,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
      text = await res.body.text();
    } catch (err) {
      throw new KubeTransportError(method, this.conn.server, path, err);
    }
    if (res.statusCode >= 400) {
      let reason: string | undefined;
      let message = text.slice(0, 300);
      try {
        const status = JSON.parse(text) as { reason?: string; message?: string };
        reason = status.reason;
        message = status.message ?? message;
      } catch { /* not a Status object; keep the raw excerpt */ }
      const err = new KubeApiError(method, path, res.statusCode, reason, message);
      this.noteError(err);
      throw err;
    }
    if (text === '') return undefined as T;
    opts.onText?.(text);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new KubeApiError(method, path, res.statusCode, 'InvalidBody', `response is not JSON: ${text.slice(0, 120)}`);
    }
  }

  get<T extends KubeObject>(path: string, opts: Pick<RequestOptions, 'signal' | 'timeoutMs'> = {}): Promise<T> {
    return this.request<T>('GET', path, opts);
  }

  patch<T extends KubeObject>(path: string, type: PatchType, body: unknown, opts: Pick<RequestOptions, 'signal' | 'timeoutMs' | 'beforeSend'> = {}): Promise<T> {
    return this.request<T>('PATCH', path, { ...opts, body, contentType: PATCH_CONTENT[type] });
  }

  create<T extends KubeObject>(path: string, body: unknown, opts: Pick<RequestOptions, 'signal' | 'timeoutMs' | 'beforeSend'> = {}): Promise<T> {
    return this.request<T>('POST', path, { ...opts, body });
  }

  replace<T extends KubeObject>(path: string, body: unknown, opts: Pick<RequestOptions, 'signal' | 'timeoutMs' | 'beforeSend'> = {}): Promise<T> {
    return this.request<T>('PUT', path, { ...opts, body });
  }
}

export const paths = {
  nodes: () => '/api/v1/nodes',
  node: (name: string) => `/api/v1/nodes/${encodeURIComponent(name)}`,
  pods: (namespace?: string) => (namespace ? `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods` : '/api/v1/pods'),
  events: (namespace: string) => `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`,
  leases: (namespace: string) => `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`,
  lease: (namespace: string, name: string) => `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases/${encodeURIComponent(name)}`,
  namespaces: () => '/api/v1/namespaces',
};
