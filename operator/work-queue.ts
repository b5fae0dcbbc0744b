/**
 * A keyed work queue in the shape of controller-runtime's: a key is queued at most once, never
 * processed twice at once (a key added while it is processed is processed again afterwards),
 * `addAfter` for requeue-after, per-key exponential backoff with jitter and a cap for failures,
 * `forget` on success, a bounded number of workers per group (one group per YARN cluster, so a
 * hanging RM only holds up its own nodes), and a shutdown that drains. Time comes from the
 * injected clock; `whenIdle()` is the "everything queued has been processed" point tests wait on.
 *
 * Keys whose work needs no I/O finish in microtasks, and each finish starts the next: a cold start
 * of thousands of nodes ran reconciles for 1.2–1.7 s without returning to the event loop, holding
 * up watch events and RM answers. So a turn of the loop starts at most `maxPerTurn` keys and spends
 * at most `turnBudgetMs` (the injected clock) starting them; the rest start in the next turn.
 */
import type { Clock, Timer } from '../clock/clock.js';

export interface Backoff {
  baseMs: number;
  capMs: number;
  /** 0–1: the delay is drawn from [d·(1−jitter), d]. */
  jitter: number;
}

export const DEFAULT_BACKOFF: Readonly<Backoff> = Object.freeze({ baseMs: 200, capMs: 30_000, jitter: 0.2 });

/** Pure: the delay before the `failures`-th retry (1-based). */
export function backoffDelay(b: Backoff, failures: number, random: () => number): number {
  const d = Math.min(b.capMs, b.baseMs * 2 ** Math.max(0, Math.min(failures - 1, 30)));
  return Math.round(d * (1 - b.jitter * random()));
}

export type WorkResult = { requeueAfterMs?: number };

export interface WorkQueueOptions<K> {
  clock: Clock;
  /** The group a key belongs to, asked each time it is dequeued. */
  groupOf(key: K): string;
  /** Workers per group. */
  workersPerGroup: number;
  process(key: K, signal: AbortSignal): Promise<WorkResult>;
  /** Called when `process` throws (the key is retried with backoff). */
  onError?(key: K, err: unknown, failures: number, retryInMs: number): void;
  backoff?: Backoff;
  random?: () => number;
  /** Keys started in one turn of the event loop before the queue gives the loop back (default 64). */
  maxPerTurn?: number;
  /** Time (clock) after a turn's first start past which the queue gives the loop back (default 10 ms). */
  turnBudgetMs?: number;
  /** Runs `fn` in the next turn of the event loop, after pending I/O (default setImmediate). */
  nextTurn?: (fn: () => void) => void;
}

export class WorkQueue<K> {
  /** FIFO per group; a key's group is taken when it is queued. */
  private readonly queued = new Map<string, K[]>();
  private queuedCount = 0;
  private readonly queuedSet = new Set<K>();
  private readonly processing = new Map<K, AbortController>();
  /** Added while processing: queued again when it finishes. */
  private readonly dirtyWhileProcessing = new Set<K>();
  private readonly delayed = new Map<K, { at: number; timer: Timer }>();
  private readonly failures = new Map<K, number>();
  private readonly activePerGroup = new Map<string, number>();
  private readonly running = new Set<Promise<void>>();
  private idleWaiters: (() => void)[] = [];
  private shuttingDown = false;
  private generation = 0;
  /** Keys started in this turn of the event loop, and when its first started; undefined: none yet. */
  private turn: { started: number; since: number } | undefined;
  /** Groups with keys held for the next turn. */
  private readonly heldForNextTurn = new Set<string>();
  /** Keys processed (for tests and metrics). */
  processed = 0;

  constructor(private readonly o: WorkQueueOptions<K>) {}

  get length(): number { return this.queuedCount; }
  get inFlight(): number { return this.processing.size; }
  get delayedCount(): number { return this.delayed.size; }
  /** Nothing queued and nothing being processed (delayed keys are future work). */
  get idle(): boolean { return this.queuedCount === 0 && this.processing.size === 0; }

  /** Resolves at the next moment the queue is idle (at once when it is). */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  add(key: K): void {
    if (this.shuttingDown) return;
    const d = this.delayed.get(key);
    if (d) { d.timer.cancel(); this.delayed.delete(key); }
    if (this.processing.has(key)) { this.dirtyWhileProcessing.add(key); return; }
    if (this.queuedSet.has(key)) return;
    this.queuedSet.add(key);
    const group = this.o.groupOf(key);
    let q = this.queued.get(group);
    if (!q) this.queued.set(group, (q = []));
    q.push(key);
    this.queuedCount++;
    this.pump(group);
  }

  /** Queue `key` in `ms`; an earlier pending wake-up wins. */
  addAfter(key: K, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) { this.add(key); return; }
    const at = this.o.clock.now() + ms;
    const d = this.delayed.get(key);
    if (d && d.at <= at) return;
    d?.timer.cancel();
    const gen = this.generation;
    const timer = this.o.clock.setTimer(ms, () => {
      if (gen !== this.generation) return;
      this.delayed.delete(key);
      this.add(key);
    });
    this.delayed.set(key, { at, timer });
  }

  /** Retry with this key's backoff; returns the delay chosen. */
  addRateLimited(key: K): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const ms = backoffDelay(this.o.backoff ?? DEFAULT_BACKOFF, n, this.o.random ?? Math.random);
    this.addAfter(key, ms);
    return ms;
  }

  /** Reset the key's backoff (after a success). */
  forget(key: K): void { this.failures.delete(key); }

  failuresOf(key: K): number { return this.failures.get(key) ?? 0; }

  /**
   * Drop every queued and delayed key and abort what is being processed (leadership lost: the
   * work belongs to a term that is over). Resolves when the aborted work has finished.
   */
  async clear(reason: unknown): Promise<void> {
    this.generation++;
    for (const d of this.delayed.values()) d.timer.cancel();
    this.delayed.clear();
    this.queued.clear();
    this.queuedCount = 0;
    this.queuedSet.clear();
    this.dirtyWhileProcessing.clear();
    this.failures.clear();
    for (const c of this.processing.values()) c.abort(reason);
    await Promise.allSettled([...this.running]);
    this.notifyIdle();
  }

  /** Stop taking work; with `drain`, finish what is queued first, else abort it. */
  async shutdown(drain = true): Promise<void> {
    if (!drain) {
      await this.clear(new Error('work queue shut down'));
      this.shuttingDown = true;
      return;
    }
    while (!this.idle) await this.whenIdle();
    this.shuttingDown = true;
    for (const d of this.delayed.values()) d.timer.cancel();
    this.delayed.clear();
  }

  /** Whether another key may start in this turn of the event loop; if not, `group` is pumped in the next. */
  private mayStartThisTurn(group: string): boolean {
    if (this.turn === undefined) {
      this.turn = { started: 0, since: this.o.clock.now() };
      (this.o.nextTurn ?? setImmediate)(() => {
        this.turn = undefined;
        const groups = [...this.heldForNextTurn];
        this.heldForNextTurn.clear();
        for (const g of groups) this.pump(g);
      });
    }
    if (this.turn.started >= (this.o.maxPerTurn ?? 64) || this.o.clock.now() - this.turn.since >= (this.o.turnBudgetMs ?? 10)) {
      this.heldForNextTurn.add(group);
      return false;
    }
    this.turn.started++;
    return true;
  }

  private pump(group: string): void {
    const q = this.queued.get(group);
    while (q && q.length > 0 && (this.activePerGroup.get(group) ?? 0) < this.o.workersPerGroup && this.mayStartThisTurn(group)) {
      const key = q.shift()!;
      this.queuedCount--;
      this.queuedSet.delete(key);
      this.activePerGroup.set(group, (this.activePerGroup.get(group) ?? 0) + 1);
      const ctl = new AbortController();
      this.processing.set(key, ctl);
      const gen = this.generation;
      const p = this.work(key, ctl.signal, gen).finally(() => {
        this.running.delete(p);
        this.processing.delete(key);
        this.activePerGroup.set(group, (this.activePerGroup.get(group) ?? 1) - 1);
        if (this.dirtyWhileProcessing.delete(key) && gen === this.generation) this.add(key);
        this.pump(group);
        this.notifyIdle();
      });
      this.running.add(p);
    }
    if (q && q.length === 0) this.queued.delete(group);
  }

  private async work(key: K, signal: AbortSignal, gen: number): Promise<void> {
    try {
      const r = await this.o.process(key, signal);
      this.processed++;
      if (gen !== this.generation) return;
      this.forget(key);
      if (r.requeueAfterMs !== undefined) this.addAfter(key, r.requeueAfterMs);
    } catch (err) {
      this.processed++;
      if (gen !== this.generation || signal.aborted) return;
      const retryIn = this.addRateLimited(key);
      this.o.onError?.(key, err, this.failures.get(key) ?? 1, retryIn);
    }
  }

  private notifyIdle(): void {
    if (!this.idle) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}
