/**
 * One RM node list per cluster per poll. Each poll yields the cluster's view (or that it is
 * unavailable) and which NodeIds changed since the last poll, so only their nodes are reconciled.
 * Clusters are polled independently: one RM being down never delays another. The view is the
 * poller's own; nobody else edits it (fresher figures a resize reads back live elsewhere).
 */
import type { Clock, Timer } from '../clock/clock.js';
import type { Logger } from '../log/logger.js';
import type { ResourceManagerClient } from '../yarn/rm-client.js';
import type { RmNode } from '../yarn/model.js';
import { rmNodeDiffers } from '../yarn/rm-node-list.js';
import { nextObservation, nodeIdKey, type ClusterView } from './snapshot.js';

export interface PollResult {
  clusterId: string;
  view: ClusterView;
  /** NodeIds (lower-cased) whose state, total or used changed, appeared or disappeared. */
  changed: string[];
  /** The cluster went from available to unavailable or back (or was polled for the first time). */
  availabilityChanged: boolean;
  /** Why the poll failed (view unavailable). */
  error?: Error;
}


/** Pure: what changed between two views. */
export function diffViews(prev: ClusterView | undefined, next: ClusterView): { changed: string[]; availabilityChanged: boolean } {
  const availabilityChanged = (prev?.status ?? 'none') !== next.status;
  if (next.status !== 'ok') return { changed: [], availabilityChanged };
  const before = prev?.status === 'ok' ? prev.nodes : new Map<string, RmNode>();
  const changed: string[] = [];
  for (const [id, n] of next.nodes) {
    const p = before.get(id);
    if (!p || rmNodeDiffers(p, n)) changed.push(id);
  }
  for (const id of before.keys()) if (!next.nodes.has(id)) changed.push(id);
  return { changed, availabilityChanged };
}

/**
 * Share of one core the polls of a cluster may take: the period after a successful poll is at
 * least its cost (send → answer decoded and diffed, in CPU time: processCpuMs) ÷ this share,
 * and never shorter than the configured period. At 20,000 nodes a poll is a 35 MB list costing
 * 0.3–1 s; at a fixed 2 s period the polls alone would take up to half a core, and over
 * a cold start (whose length grows with N) their total would grow as N².
 */
export const POLL_CORE_SHARE = 0.1;
/** The period never stretches beyond this (a drift the RM shows is repaired within it). */
export const MAX_STRETCHED_POLL_MS = 60_000;
/** Polls cheaper than this never stretch the period: a small cluster's poll is a few ms of CPU. */
export const MIN_STRETCHING_COST_MS = 100;
/** The cost is the least of the last few successful polls: one poll slowed by a busy machine does not stretch. */
const COST_SAMPLES = 3;

/**
 * CPU milliseconds this process has used, all threads (the RM list decoder worker's too). A poll's
 * cost is read on it, not on the clock: on a busy machine a cheap poll's wall time is mostly
 * waiting for a CPU, and counting that stretched a small cluster's period up to the cap.
 */
export const processCpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Pure: the period after successful polls that took `costMs` (the least of the last few). */
export function pollPeriodAfter(pollMs: number, costMs: number, share = POLL_CORE_SHARE): number {
  if (costMs < MIN_STRETCHING_COST_MS) return pollMs;
  return Math.max(pollMs, Math.min(costMs / share, Math.max(pollMs, MAX_STRETCHED_POLL_MS)));
}

/** The view of a cluster before its first poll (of this term): a state, not an error. */
export const pendingView = (at = 0): ClusterView => ({ status: 'pending', at });

export class ClusterPoller {
  private timer: Timer | undefined;
  private running = false;
  private generation = 0;
  private inFlight: Promise<PollResult> | undefined;
  private abort: AbortController | undefined;
  view: ClusterView = pendingView();
  /**
   * The last list answered with a token (a large one, decoded in the worker) and the nodes built
   * from it: the next poll asks for the difference from it. A view's entry of a node is replaced
   * when its state, total or used change — all the ledger reads of it.
   */
  private baseline: { token: string; nodes: ReadonlyMap<string, RmNode>; view: ClusterView } | undefined;
  polls = 0;
  /** Monotonic time the last poll with a usable answer was sent. */
  lastOkAt: number | undefined;
  /** The current period between poll starts: the configured one, stretched by the last poll's cost. */
  periodMs: number;

  constructor(
    readonly clusterId: string,
    private readonly client: ResourceManagerClient,
    private readonly pollMs: number,
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly onResult: (r: PollResult) => void,
    /** The CPU a poll costs is read on this (injected by tests). */
    private readonly cpuMs: () => number = processCpuMs,
  ) {
    this.periodMs = pollMs;
  }

  get polling(): boolean { return this.inFlight !== undefined; }

  /** Start polling now (a new term: forget the last view, poll at once). */
  start(): void {
    this.stop();
    this.running = true;
    this.view = pendingView();
    this.baseline = undefined;
    const gen = ++this.generation;
    void this.loop(gen);
  }

  stop(): void {
    this.running = false;
    this.generation++;
    this.timer?.cancel();
    this.abort?.abort(new Error('poller stopped'));
    this.view = pendingView();
    this.baseline = undefined;
  }

  /** Resolves when no poll is in flight. */
  async settled(): Promise<void> {
    while (this.inFlight) await this.inFlight.catch(() => undefined);
  }

  private async loop(gen: number): Promise<void> {
    let failures = 0;
    let costs: number[] = [];
    while (this.running && gen === this.generation) {
      const started = this.clock.now();
      const cpuAtStart = this.cpuMs();
      const r = await this.pollOnce(gen);
      if (!this.running || gen !== this.generation) return;
      // The process's CPU over the poll: an upper bound of the poll's own (it also counts whatever
      // else ran meanwhile), never the time spent waiting for a CPU.
      if (r.view.status === 'ok') costs = [...costs.slice(1 - COST_SAMPLES), this.cpuMs() - cpuAtStart];
      const cost = Math.min(...costs);
      failures = r.view.status === 'ok' ? 0 : failures + 1;
      // After a failure look again sooner (¼ poll, doubling up to a poll): the repair of an
      // override the RM forgot meanwhile must come within one poll of the RM answering again.
      // After a success, a costly poll (a large cluster) waits long enough to stay within its share of a core.
      const period = failures === 0 ? pollPeriodAfter(this.pollMs, cost) : Math.min(this.pollMs, (this.pollMs / 4) * 2 ** (failures - 1));
      if (failures === 0 && this.periodMs === this.pollMs && period > this.pollMs) {
        this.logger.info({ cluster: this.clusterId, costMs: Math.round(cost), periodMs: Math.round(period) }, 'RM poll period stretched to its cost');
      }
      this.periodMs = failures === 0 ? period : this.pollMs;
      const wait = Math.max(0, period - (this.clock.now() - started));
      await new Promise<void>((resolve) => { this.timer = this.clock.setTimer(wait, resolve); });
    }
  }

  pollOnce(gen = this.generation): Promise<PollResult> {
    const p = this.doPoll(gen).finally(() => { if (this.inFlight === p) this.inFlight = undefined; });
    this.inFlight = p;
    return p;
  }

  private async doPoll(gen: number): Promise<PollResult> {
    this.polls++;
    const at = this.clock.now();
    const seq = nextObservation();
    let next: ClusterView;
    let error: Error | undefined;
    let delta: string[] | undefined;
    this.abort = new AbortController();
    const base = this.baseline;
    try {
      const list = await this.client.listNodesSince(base?.token);
      if (list.rejected.length > 0) {
        this.logger.warn({ cluster: this.clusterId, rejected: list.rejected.slice(0, 5) }, 'RM node list had invalid entries; they were skipped');
      }
      let nodes: Map<string, RmNode>;
      if (list.full) {
        nodes = new Map(list.nodes.map((n) => [nodeIdKey(n.id), n]));
      } else if (base !== undefined) {
        // The worker sent only what differs from the list of `base.token`.
        nodes = new Map(base.nodes);
        delta = [];
        for (const n of list.changed) { const key = nodeIdKey(n.id); nodes.set(key, n); delta.push(key); }
        for (const key of list.removed) { nodes.delete(key); delta.push(key); }
      } else {
        throw new Error('RM node list answered as a difference from a list this poller does not hold');
      }
      next = { status: 'ok', nodes, at, seq };
      this.baseline = list.token === undefined ? undefined : { token: list.token, nodes, view: next };
      this.lastOkAt = at;
    } catch (err) {
      error = err as Error;
      next = { status: 'unavailable', detail: (err as Error).message, at, seq };
      this.baseline = undefined;
    }
    const prev = this.view;
    // A difference taken from the view this poller shows is the change set itself; else compare whole views.
    const diff = delta !== undefined && base !== undefined && prev === base.view
      ? { changed: delta, availabilityChanged: false }
      : diffViews(prev.status === 'pending' ? undefined : prev, next);
    const result: PollResult = { clusterId: this.clusterId, view: next, ...diff, ...(error ? { error } : {}) };
    // A poll that outlived its term (leadership lost meanwhile) is not delivered.
    if (gen !== this.generation) return result;
    if (diff.availabilityChanged) {
      if (next.status === 'ok') this.logger.info({ cluster: this.clusterId, nodes: next.nodes.size, activeRm: this.client.activeUrl }, 'ResourceManager available');
      else this.logger.warn({ cluster: this.clusterId, detail: next.status === 'unavailable' ? next.detail : '' }, 'ResourceManager unavailable; claims are kept as they are');
    }
    this.view = next;
    this.onResult(result);
    return result;
  }
}
