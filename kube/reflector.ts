/**
 * List-then-watch of one resource, keeping only a compact projection of each object.
 *
 * The operator needs a few fields per pod (node, phase, batch requests, NM annotations), so it
 * keeps `project(obj)` instead of the object: 150 000 pods fit in a few tens of MB. A watch that
 * ends is resumed from the last seen resourceVersion (bookmarks keep it fresh); a 410 Gone
 * relists and reports the difference as adds, updates and deletes, so nothing is lost.
 */
import { request } from 'undici';
import { type Clock, systemClock } from '../clock/clock.js';
import type { Logger } from '../log/logger.js';
import { KubeApiError, type KubeApi, type KubeList, type KubeObject } from './api.js';
import { forbiddenLine } from './forbidden.js';

export interface ReflectorHandlers<P> {
  upsert(key: string, next: P, previous: P | undefined): void;
  remove(key: string, previous: P): void;
}

export interface ReflectorOptions<P> {
  api: KubeApi;
  /** Collection path, e.g. `/api/v1/pods`. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Return undefined to ignore an object entirely. */
  project(obj: KubeObject): P | undefined;
  /** Whether a projection changed in a way handlers care about (default: JSON inequality). */
  changed?(a: P, b: P): boolean;
  handlers: ReflectorHandlers<P>;
  logger: Logger;
  pageSize?: number;
  watchTimeoutSeconds?: number;
  clock?: Clock;
  /** Reconnect backoff (default 200 ms doubling to 10 s). */
  backoff?: { baseMs: number; capMs: number };
  /** List only, never watch (a one-shot run): `synced` resolves after the list, and the reflector ends. */
  listOnly?: boolean;
  /**
   * Errors no retry can cure for this run (a one-shot run facing a 403): the reflector gives up
   * and `failed` resolves with the error. Default: every error is retried with backoff.
   */
  giveUpOn?(err: unknown): boolean;
}

/** Pure: resourceVersions are opaque strings, but the API server's (and the simulator's) are integers. */
export function versionAtLeast(have: string, want: string): boolean {
  if (/^\d+$/.test(have) && /^\d+$/.test(want)) return BigInt(have) >= BigInt(want);
  return have === want;
}

/**
 * Pure: the `continue` token of a list answer read from its head — the members before `"items"`
 * (kind, apiVersion, metadata: the order API servers write), parsed as JSON on their own. Undefined
 * when the head does not parse that way; the caller then waits for the whole answer.
 */
export function continueOfHead(text: string): string | undefined {
  const i = text.indexOf('"items":');
  if (i < 0 || i > 4096) return undefined;
  const head = text.slice(0, i).replace(/,\s*$/, '');
  try {
    const o = JSON.parse(`${head}}`) as { metadata?: { continue?: unknown } };
    return typeof o.metadata?.continue === 'string' && o.metadata.continue !== '' ? o.metadata.continue : undefined;
  } catch {
    return undefined;
  }
}

const keyOf = (o: KubeObject): string => (o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name);

export class Reflector<P> {
  readonly items = new Map<string, P>();
  private resourceVersion = '';
  private stopped = false;
  private abort = new AbortController();
  private syncedResolve!: () => void;
  readonly synced: Promise<void> = new Promise((r) => { this.syncedResolve = r; });
  private failedResolve!: (err: Error) => void;
  /** Resolves with the error the reflector gave up on (`giveUpOn`); never otherwise. */
  readonly failed: Promise<Error> = new Promise((r) => { this.failedResolve = r; });
  /** Counters for metrics and tests. */
  readonly stats = { lists: 0, watches: 0, events: 0, relistsAfterGone: 0, errors: 0, bookmarks: 0 };
  /** A watch stream is open now (headers received). */
  watching = false;
  /** Whether the first list completed. */
  hasSynced = false;
  /** The last list/watch error, until a watch opens again. */
  lastError: string | undefined;
  private readonly clock: Clock;
  private seenWaiters: { rv: string; resolve: () => void }[] = [];
  private runDone: Promise<void> | undefined;

  constructor(private readonly o: ReflectorOptions<P>) {
    this.clock = o.clock ?? systemClock;
  }

  /** The resourceVersion the cache reflects (advanced by events and bookmarks). */
  get lastSyncResourceVersion(): string { return this.resourceVersion; }

  /** Resolves once the cache has caught up with `rv` (an event or bookmark at or past it). */
  whenSeen(rv: string): Promise<void> {
    if (this.resourceVersion && versionAtLeast(this.resourceVersion, rv)) return Promise.resolve();
    return new Promise((resolve) => this.seenWaiters.push({ rv, resolve }));
  }

  start(): void {
    this.runDone = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.runDone;
  }

  private advance(rv: string): void {
    this.resourceVersion = rv;
    if (this.seenWaiters.length === 0) return;
    this.seenWaiters = this.seenWaiters.filter((w) => {
      if (!versionAtLeast(rv, w.rv)) return true;
      w.resolve();
      return false;
    });
  }

  private async run(): Promise<void> {
    const { baseMs, capMs } = this.o.backoff ?? { baseMs: 200, capMs: 10_000 };
    let backoff = baseMs;
    while (!this.stopped) {
      try {
        if (!this.resourceVersion) await this.list();
        this.hasSynced = true;
        this.syncedResolve();
        if (this.o.listOnly) return;
        await this.watch();
        backoff = baseMs;
      } catch (err) {
        this.watching = false;
        if (this.stopped) return;
        this.stats.errors++;
        // A 403 in the words the API's reporter used (verb, resource, what to grant).
        this.lastError = forbiddenLine(err) ?? (err as Error).message;
        if (this.o.giveUpOn?.(err)) {
          this.failedResolve(err as Error);
          return;
        }
        if (err instanceof KubeApiError && err.gone) {
          this.stats.relistsAfterGone++;
          this.resourceVersion = '';
          this.o.logger.info({ path: this.o.path }, 'watch history expired (410 Gone); relisting');
          continue;
        }
        // A 403 is said once by the API's reporter (kube/forbidden.ts), not at every retry.
        if (!(err instanceof KubeApiError && err.status === 403)) this.o.logger.warn({ path: this.o.path, err: (err as Error).message, retryInMs: backoff }, 'list/watch failed; retrying');
        try {
          await this.clock.sleep(backoff, this.abort.signal);
        } catch {
          return; // stopped
        }
        backoff = Math.min(backoff * 2, capMs);
      }
    }
  }

  private async list(): Promise<void> {
    this.stats.lists++;
    const seen = new Set<string>();
    let rv = '';
    // The next page is asked for as soon as this one's `continue` is known — from the head of its
    // text, before it is parsed and applied — so the server builds page N+1 while page N is parsed
    // (a 600,000-pod list was the two taking turns, each waiting for the other about half the
    // time). At most one page is asked ahead of the one awaited; a prefetch is used only when its
    // token is the one the parsed page gives.
    let ahead: { cont: string; page: Promise<KubeList<KubeObject>> } | undefined;
    let waiting: string | undefined;
    const fetch = (cont: string | undefined): Promise<KubeList<KubeObject>> => this.fetchPage(cont, (next) => {
      if (ahead === undefined) ahead = { cont: next, page: fetch(next) };
      else waiting = next;
    });
    let page = fetch(undefined);
    for (;;) {
      const current = await page;
      for (const obj of current.items ?? []) {
        const key = keyOf(obj);
        seen.add(key);
        this.apply(key, obj);
      }
      const cont = current.metadata?.continue || undefined;
      rv = current.metadata?.resourceVersion ?? rv;
      if (!cont) break;
      const taken = ahead;
      const after = waiting;
      ahead = undefined;
      waiting = undefined;
      if (taken?.cont === cont) {
        page = taken.page;
        if (after !== undefined) ahead = { cont: after, page: fetch(after) };
      } else {
        page = fetch(cont);
      }
    }
    for (const [key, prev] of this.items) {
      if (!seen.has(key)) {
        this.items.delete(key);
        this.o.handlers.remove(key, prev);
      }
    }
    this.advance(rv);
  }

  private fetchPage(cont: string | undefined, onContinue?: (cont: string) => void): Promise<KubeList<KubeObject>> {
    const page = this.o.api.request<KubeList<KubeObject>>('GET', this.o.path, {
      query: { labelSelector: this.o.labelSelector, fieldSelector: this.o.fieldSelector, limit: this.o.pageSize ?? 5000, continue: cont },
      timeoutMs: 120_000,
      signal: this.abort.signal,
      ...(onContinue ? { onText: (text: string) => { const c = continueOfHead(text); if (c) onContinue(c); } } : {}),
    });
    // A prefetched page nobody awaits (the list failed before it) must not be an unhandled rejection.
    page.catch(() => undefined);
    return page;
  }

  private apply(key: string, obj: KubeObject): void {
    const next = this.o.project(obj);
    const prev = this.items.get(key);
    if (next === undefined) {
      if (prev !== undefined) {
        this.items.delete(key);
        this.o.handlers.remove(key, prev);
      }
      return;
    }
    const changed = prev === undefined || (this.o.changed ? this.o.changed(prev, next) : JSON.stringify(prev) !== JSON.stringify(next));
    this.items.set(key, next);
    if (changed) this.o.handlers.upsert(key, next, prev);
  }

  private async watch(): Promise<void> {
    this.stats.watches++;
    const url = this.o.api.url(this.o.path, {
      watch: 'true',
      resourceVersion: this.resourceVersion,
      allowWatchBookmarks: 'true',
      timeoutSeconds: this.o.watchTimeoutSeconds ?? 300,
      labelSelector: this.o.labelSelector,
      fieldSelector: this.o.fieldSelector,
    });
    const res = await request(url, {
      method: 'GET',
      headers: { accept: 'application/json', ...(await this.o.api.conn.headers()) },
      dispatcher: this.o.api.conn.dispatcher,
      signal: this.abort.signal,
      bodyTimeout: 0,
    });
    if (res.statusCode >= 400) {
      const text = await res.body.text();
      let reason: string | undefined;
      try { reason = (JSON.parse(text) as { reason?: string }).reason; } catch { /* raw */ }
      const err = new KubeApiError('WATCH', this.o.path, res.statusCode, reason, text.slice(0, 200));
      this.o.api.noteError(err);
      throw err;
    }
    this.watching = true;
    this.lastError = undefined;
    let buffered = '';
    for await (const chunk of res.body) {
      buffered += (chunk as Buffer).toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line) this.onEvent(line);
      }
      if (this.stopped) return;
    }
    this.watching = false;
  }

  private onEvent(line: string): void {
    let ev: { type?: string; object?: KubeObject & { code?: number; reason?: string; message?: string } };
    try {
      ev = JSON.parse(line);
    } catch {
      this.o.logger.warn({ path: this.o.path, line: line.slice(0, 120) }, 'watch sent a line that is not JSON; ignored');
      return;
    }
    this.stats.events++;
    const obj = ev.object;
    if (!obj) return;
    if (ev.type === 'ERROR') {
      throw new KubeApiError('WATCH', this.o.path, obj.code ?? 500, obj.reason, obj.message ?? 'watch error');
    }
    const rv = obj.metadata?.resourceVersion;
    if (ev.type === 'BOOKMARK') {
      this.stats.bookmarks++;
      if (rv) this.advance(rv);
      return;
    }
    if (!obj.metadata?.name) return;
    const key = keyOf(obj);
    if (ev.type === 'DELETED') {
      const prev = this.items.get(key);
      if (prev !== undefined) {
        this.items.delete(key);
        this.o.handlers.remove(key, prev);
      }
    } else {
      this.apply(key, obj);
    }
    // Handlers first: whoever waits on this version finds the cache already holding it.
    if (rv) this.advance(rv);
  }
}
