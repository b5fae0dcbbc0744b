/**
 * Typed errors of the YARN clients. Every error names its source (URL, file, key) so a log line
 * alone tells the operator where to look. A body or a configuration file we cannot use is an
 * {@link InputError} (one printed form with every other bad input); a failed exchange is a
 * {@link YarnError}.
 */
import { InputError } from '../input/input-error.js';

/** Base class: `source` is the URL, file or key the error is about. */
export class YarnError extends Error {
  constructor(readonly source: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'YarnError';
  }
}

/**
 * A server refused our credentials (or asked for ones we were not given): configuration to fix,
 * never an RM being down — no other RM of the cluster will take them either. The commands treat
 * it like any other bad input (exit 2).
 */
export class YarnAuthenticationError extends YarnError {
  constructor(source: string, message: string, options?: { cause?: unknown }) {
    super(source, message, options);
    this.name = 'YarnAuthenticationError';
  }

  get problem(): string {
    return this.message;
  }
}

/** The `RemoteException` body Hadoop's GenericExceptionHandler writes (reference §1.4). */
export interface RemoteException {
  /** Simple class name, e.g. `NotFoundException`. */
  exception?: string;
  message?: string;
  /** Fully qualified class name. */
  javaClassName?: string;
}

const EXCERPT_CHARS = 200;

/** A short single-line excerpt of a response body for error messages. */
export function bodyExcerpt(body: string): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > EXCERPT_CHARS ? `${flat.slice(0, EXCERPT_CHARS)}…` : flat;
}

/** An HTTP answer that is not a success (4xx/5xx, or a redirect we will not follow). */
export class YarnHttpError extends YarnError {
  constructor(
    readonly url: string,
    readonly method: string,
    readonly status: number,
    readonly remoteException: RemoteException | undefined,
    readonly excerpt: string,
  ) {
    const what = remoteException?.exception
      ? `${remoteException.exception}: ${remoteException.message ?? ''}`
      : excerpt || '(empty body)';
    super(url, `${method} ${url} → HTTP ${status}: ${what}`);
    this.name = 'YarnHttpError';
  }

  /** True for a RemoteException whose simple class name is `name` (e.g. `NotFoundException`). */
  isRemote(name: string): boolean {
    return this.remoteException?.exception === name;
  }
}

export type TransportFailure = 'connect' | 'timeout' | 'reset' | 'tls' | 'other';

/**
 * What went wrong, said once: the cause's own words when they name the code
 * (`connect ECONNREFUSED 127.0.0.1:8088`), else the kind and the code or detail
 * (`timeout: no answer within 5000 ms`).
 */
function transportProblem(kind: TransportFailure, code: string | undefined, cause: unknown): string {
  const message = (cause as Error | undefined)?.message ?? '';
  if (code && message.includes(code)) return message;
  const detail = code ?? message;
  if (!detail) return kind;
  return detail.startsWith(kind) ? detail : `${kind}: ${detail}`;
}

/**
 * The request never produced an HTTP answer. `kind: 'connect'` means nothing was sent (safe to
 * send elsewhere even for a POST); `timeout`/`reset` mean the server may have executed it.
 */
export class YarnTransportError extends YarnError {
  constructor(
    readonly url: string,
    readonly method: string,
    readonly kind: TransportFailure,
    readonly code: string | undefined,
    cause: unknown,
  ) {
    super(url, `${method} ${url} failed: ${transportProblem(kind, code, cause)}`, { cause });
    this.name = 'YarnTransportError';
  }
}

/**
 * A response body that is not a document of the expected kind: HTML, empty, truncated JSON, a
 * wrong Content-Type, a wrong root element. Never turned into an empty list.
 */
export class YarnDocumentError extends InputError {
  constructor(
    readonly url: string,
    readonly reason: string,
    readonly excerpt: string,
    readonly contentType?: string,
  ) {
    super(url, `${reason}${excerpt ? ` (body: ${excerpt})` : ''}`);
    this.name = 'YarnDocumentError';
  }
}

/** A caller passed something we refuse to send (0/0 resize, malformed container id …). */
export class YarnArgumentError extends YarnError {
  constructor(source: string, message: string) {
    super(source, `${source}: ${message}`);
    this.name = 'YarnArgumentError';
  }
}

/** No RM among the configured ones reports `haState: ACTIVE`. */
export class YarnNoActiveRmError extends YarnError {
  constructor(
    readonly cluster: string,
    readonly candidates: { url: string; outcome: string }[],
  ) {
    super(
      cluster,
      `cluster ${cluster}: no RM active among ${candidates.map((c) => `${c.url} (${c.outcome})`).join(', ') || '(none configured)'}`,
    );
    this.name = 'YarnNoActiveRmError';
  }
}

/** A Hadoop configuration file we cannot use. `key` names the offending property when there is one. */
export class YarnConfigError extends InputError {
  constructor(
    readonly file: string,
    key: string | undefined,
    reason: string,
  ) {
    super(file, reason, key ? { key } : {});
    this.name = 'YarnConfigError';
  }
}
