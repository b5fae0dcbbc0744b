/**
 * The operator's imperative shell, in controller-runtime's shape: reflectors feed the inventory,
 * pollers feed the RM views, and every node whose inputs changed goes through one keyed work
 * queue into `reconcileNode(name, term)` (operator/reconciler.ts). Leadership is a term from the
 * fence: a new term clears what the last one learned and polls every cluster before any write;
 * a lost term aborts the reconciles in flight and drops the queued work. One injected clock
 * drives the queue, the pollers, the lease and the health checks.
 */
import type { Clock } from '../clock/clock.js';
import { systemClock } from '../clock/clock.js';
import type { Logger } from '../log/logger.js';
import { componentLogger } from '../log/logger.js';
import { KubeApiError, type KubeApi, paths } from '../kube/api.js';
import { Reflector } from '../kube/reflector.js';
import type { EventSink } from '../kube/events.js';
import { FencedError, soleWriter, type Fence } from '../kube/lease.js';
import type { ResourceManagerClient } from '../yarn/rm-client.js';
import type { LedgerConfig, LedgerDecision, LedgerMemory } from './ledger/index.js';
import { nodeChanged, projectLedgerPod, projectNode, type NodeRecord, type PodRecord } from './observe.js';
import { Inventory } from './inventory.js';
import { ClusterPoller, pendingView, type PollResult } from './rm-poller.js';
import { nodeManagerOf, type ClusterView } from './snapshot.js';
import { Reconciler, type AppliedWrite } from './reconciler.js';
import { WorkQueue } from './work-queue.js';
import type { OperatorMetrics } from './metrics.js';

export type { AppliedWrite } from './reconciler.js';

export interface ControllerOptions {
  api: KubeApi;
  clusters: ReadonlyMap<string, ResourceManagerClient>;
  ledger: LedgerConfig;
  pollMs: number;
  dryRun: boolean;
  logger: Logger;
  metrics: OperatorMetrics;
  events: EventSink;
  /** Nodes reconciled in parallel per YARN cluster (bounds RM resizes in flight). */
  concurrency: number;
  clock?: Clock;
  /** Who may write (the leader elector); default a sole writer. */
  fence?: Fence;
  /** Read-back of a resize (a real RM applies it asynchronously). */
  readBack?: { attempts: number; delayMs: number };
  /** Ready requires each cluster polled within this many poll periods (default 3). */
  readyPolls?: number;
  /**
   * A one-shot run (`--once`): the informers list without watching, and a 403 on a list ends the
   * run (no retry can cure a missing RBAC rule within it).
   */
  once?: boolean;
}

/** One check of /healthz or /readyz. */
export interface HealthCheck { name: string; ok: boolean; detail: string }

export class OperatorController {
  readonly inventory = new Inventory();
  readonly views = new Map<string, ClusterView>();
  readonly reconciler: Reconciler;
  readonly queue: WorkQueue<string>;
  readonly clock: Clock;
  private readonly pollers = new Map<string, ClusterPoller>();
  private readonly nodes: Reflector<NodeRecord>;
  private readonly pods: Reflector<PodRecord>;
  private readonly fence: Fence;
  private readonly log: Logger;
  private term = 0;
  private leading = false;
  private stopped = false;
  private started = false;
  /** Counts terms, so that a poll start waiting for the caches belongs to the term that asked. */
  private pollStarts = 0;
  private lastTurnAt: number;

  constructor(private readonly o: ControllerOptions) {
    this.clock = o.clock ?? systemClock;
    this.lastTurnAt = this.clock.now();
    this.fence = o.fence ?? soleWriter;
    this.log = componentLogger(o.logger, 'operator.controller');
    const inv = this.inventory;
    const clock = this.clock;
    const oneShot = o.once ? { listOnly: true, giveUpOn: (err: unknown) => err instanceof KubeApiError && err.status === 403 } : {};
    this.nodes = new Reflector<NodeRecord>({
      api: o.api, path: paths.nodes(), project: projectNode, logger: componentLogger(o.logger, 'operator.nodes'), clock, ...oneShot,
      // resourceVersion-only changes still refresh the record (the claim writer needs it) but do not wake the loop.
      changed: (a, b) => nodeChanged(a, b) || a.resourceVersion !== b.resourceVersion,
      handlers: {
        upsert: (_k, next, prev) => (prev && !nodeChanged(prev, next) ? inv.touchNode(next) : inv.upsertNode(next)),
        remove: (k) => inv.removeNode(k),
      },
    });
    this.pods = new Reflector<PodRecord>({
      api: o.api, path: paths.pods(), project: projectLedgerPod, logger: componentLogger(o.logger, 'operator.pods'), clock, ...oneShot,
      changed: (a, b) => a.nodeName !== b.nodeName || a.phase !== b.phase || a.batchCpu !== b.batchCpu || a.batchMemory !== b.batchMemory
        || a.invalid !== b.invalid || JSON.stringify(a.nm) !== JSON.stringify(b.nm),
      handlers: { upsert: (k, next, prev) => inv.upsertPod(k, next, prev), remove: (k, prev) => inv.removePod(k, prev) },
    });
    for (const id of o.clusters.keys()) this.views.set(id, pendingView());
    for (const [id, client] of o.clusters) {
      this.pollers.set(id, new ClusterPoller(id, client, o.pollMs, componentLogger(o.logger, 'operator.rm'), clock, (r) => this.onPoll(r)));
    }
    this.reconciler = new Reconciler({
      api: o.api, clusters: o.clusters, ledger: o.ledger, dryRun: o.dryRun, logger: o.logger, metrics: o.metrics, events: o.events,
      clock, fence: this.fence, inventory: this.inventory, views: this.views, ...(o.readBack ? { readBack: o.readBack } : {}),
    });
    this.queue = new WorkQueue<string>({
      clock,
      workersPerGroup: Math.max(1, o.concurrency),
      // One group per YARN cluster: a slow or hanging RM only holds up its own nodes.
      groupOf: (node) => {
        const nm = nodeManagerOf(this.inventory.podsOn(node));
        return nm.state === 'running' ? nm.clusterId : '';
      },
      process: (node, signal) => {
        this.lastTurnAt = this.clock.now();
        this.o.metrics.queueDepth.set(this.queue.length);
        return this.reconciler.reconcileNode(node, this.term, signal);
      },
      onError: (node, err, failures, retryInMs) => {
        this.o.metrics.queueRetries.inc();
        if (err instanceof FencedError) {
          this.o.metrics.fencedWrites.inc();
          this.log.warn({ node, term: this.term, err: err.message }, 'write fenced: leadership not confirmed');
          return;
        }
        this.log.warn({ node, failures, retryInMs, err: (err as Error).message }, 'reconcile failed; retrying with backoff');
      },
    });
    // Nothing is decided before both caches are synced: until the pod list is in, a node looks
    // as if it had no NodeManager, and a decision on that view would clear its claim.
    this.inventory.onDirty = (node) => { if (this.leading && !this.stopped && this.informersSynced) this.queue.add(node); };
  }

  // ------------------------------------------------------------------ read-outs (status, demo, tests)

  get isLeading(): boolean { return this.leading; }
  get currentTerm(): number { return this.term; }
  get memory(): Map<string, LedgerMemory> { return this.reconciler.memory; }
  get decisions(): Map<string, LedgerDecision> { return this.reconciler.decisions; }
  get writes(): AppliedWrite[] { return this.reconciler.writes; }
  get failures(): number { return this.reconciler.failures; }

  get informersSynced(): boolean { return this.nodes.hasSynced && this.pods.hasSynced; }
  get apiServer(): string { return this.o.api.conn.server; }

  /** Informers synced (the inventory reflects the cluster). */
  get synced(): Promise<void> { return Promise.all([this.nodes.synced, this.pods.synced]).then(() => undefined); }

  get informerStats() { return { nodes: this.nodes.stats, pods: this.pods.stats }; }

  pollCount(clusterId: string): number { return this.pollers.get(clusterId)?.polls ?? 0; }

  /** The resourceVersion of a Node as the operator last saw it (to tell whether it has caught up). */
  seenNodeVersion(name: string): string | undefined {
    return this.inventory.nodes.get(name)?.resourceVersion;
  }

  /** Nothing queued and no reconcile running: the operator has acted on everything it has seen. */
  get idle(): boolean { return this.queue.idle; }

  /**
   * Everything observed has been processed: both caches have caught up with `resourceVersion`
   * (when given — the API server's version after the change a test made), no poll is in flight,
   * and the queue is idle. Tests wait on this, never on a sleep.
   */
  async settled(resourceVersion?: string): Promise<void> {
    if (resourceVersion) await Promise.all([this.nodes.whenSeen(resourceVersion), this.pods.whenSeen(resourceVersion)]);
    for (;;) {
      await Promise.all([...this.pollers.values()].map((p) => p.settled()));
      await this.queue.whenIdle();
      // A poll or a reconcile may have queued more meanwhile.
      if (this.queue.idle && [...this.pollers.values()].every((p) => !p.polling)) return;
    }
  }

  // ------------------------------------------------------------------ health

  /** Alive: the loop turns (or has nothing to do), and the controller was not stopped. */
  healthy(): { ok: boolean; detail: string } {
    const checks = this.livenessChecks();
    return { ok: checks.every((c) => c.ok), detail: checks.map((c) => `${c.name}: ${c.detail}`).join('; ') };
  }

  /** Ready: informers synced and watching, the loop alive, each cluster polled within N polls (leader). */
  ready(): { ok: boolean; detail: string } {
    const checks = [...this.livenessChecks(), ...this.readinessChecks()];
    return { ok: checks.every((c) => c.ok), detail: checks.map((c) => `${c.ok ? 'ok' : 'FAIL'} ${c.name}: ${c.detail}`).join('; ') };
  }

  private livenessChecks(): HealthCheck[] {
    if (this.stopped) return [{ name: 'loop', ok: false, detail: 'stopped' }];
    if (!this.started) return [{ name: 'loop', ok: false, detail: 'not started' }];
    // The loop is stuck when work is waiting but nothing was taken for a long time.
    const since = this.clock.now() - this.lastTurnAt;
    const stuck = this.queue.length > 0 && this.queue.inFlight === 0 && since > Math.max(30_000, 10 * this.o.pollMs);
    return [{ name: 'loop', ok: !stuck, detail: stuck ? `${this.queue.length} nodes queued, none taken for ${Math.round(since)} ms` : `alive (${this.queue.length} queued, ${this.queue.inFlight} in flight)` }];
  }

  private readinessChecks(): HealthCheck[] {
    const out: HealthCheck[] = [];
    for (const [name, r] of [['nodes informer', this.nodes], ['pods informer', this.pods]] as const) {
      const ok = r.hasSynced && r.watching;
      out.push({ name, ok, detail: !r.hasSynced ? `not synced${r.lastError ? ` (${r.lastError})` : ''}` : r.watching ? 'synced, watching' : `watch down${r.lastError ? ` (${r.lastError})` : ''}` });
    }
    if (!this.leading) {
      out.push({ name: 'role', ok: true, detail: 'standby' });
      return out;
    }
    out.push({ name: 'role', ok: true, detail: `leader (term ${this.term})` });
    // N polls, but never less than 5 s: a short poll period on a busy machine is not an outage.
    // The period is the poller's own: stretched when a poll is costly (a large cluster).
    for (const [id, p] of this.pollers) {
      const limit = Math.max((this.o.readyPolls ?? 3) * Math.max(this.o.pollMs, p.periodMs), 5000);
      const age = p.lastOkAt === undefined ? undefined : this.clock.now() - p.lastOkAt;
      const leadingFor = this.clock.now() - this.termStartedAt;
      // A fresh term gets N polls' grace for its first answer.
      const ok = age !== undefined ? age <= limit : leadingFor <= limit;
      out.push({ name: `cluster ${id}`, ok, detail: age !== undefined ? `polled ${Math.round(age)} ms ago` : 'not polled yet' });
    }
    return out;
  }

  private termStartedAt = 0;

  // ------------------------------------------------------------------ lifecycle

  start(): void {
    this.started = true;
    this.nodes.start();
    this.pods.start();
    // With clusters, the first poll after the sync marks every node dirty (see setLeading).
    void this.synced.then(() => { if (this.leading && !this.stopped && this.pollers.size === 0) this.inventory.markAllDirty(); });
  }

  /** Leadership from the elector (or `true` with term 1 without election). */
  setLeading(leading: boolean, term = leading ? this.fence.term || 1 : 0): void {
    if (leading && this.leading && term === this.term) return;
    if (!leading && !this.leading) return;
    if (this.leading) this.endTerm();
    if (!leading) return;
    // A new term: nothing from an earlier one is trusted; every cluster is polled before a write.
    this.leading = true;
    this.term = term;
    this.termStartedAt = this.clock.now();
    this.o.metrics.leader.set(1);
    this.o.metrics.term.set(term);
    this.reconciler.resetForTerm();
    for (const id of this.views.keys()) this.views.set(id, pendingView(this.clock.now()));
    // The RM is first polled once both caches are synced: nothing is decided before (onDirty),
    // and at 20,000 nodes each poll is a 35 MB list while the pod list takes tens of seconds.
    const start = ++this.pollStarts;
    const startPolls = () => {
      if (!this.leading || this.stopped || this.pollStarts !== start) return;
      this.termStartedAt = this.clock.now(); // the first answer's grace counts from here
      for (const p of this.pollers.values()) p.start();
    };
    if (this.informersSynced) startPolls();
    else void this.synced.then(startPolls);
    // Without clusters no poll would wake the nodes.
    if (this.pollers.size === 0) this.inventory.markAllDirty();
  }

  private endTerm(): void {
    const term = this.term;
    this.leading = false;
    this.term = 0;
    this.o.metrics.leader.set(0);
    this.o.metrics.term.set(0);
    this.pollStarts++;
    for (const p of this.pollers.values()) p.stop();
    for (const id of this.views.keys()) this.views.set(id, pendingView());
    this.reconciler.resetForTerm();
    void this.queue.clear(new FencedError(`term ${term} ended`));
    this.inventory.takeDirty();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.leading) this.endTerm();
    for (const p of this.pollers.values()) p.stop();
    await this.queue.shutdown(false);
    await Promise.all([this.nodes.stop(), this.pods.stop()]);
    await Promise.all([...this.pollers.values()].map((p) => p.settled()));
  }

  private onPoll(r: PollResult): void {
    if (!this.leading) return;
    this.views.set(r.clusterId, r.view);
    this.o.metrics.rmNodeLists.inc({ cluster: r.clusterId });
    this.o.metrics.clusterAvailable.set({ cluster: r.clusterId }, r.view.status === 'ok' ? 1 : 0);
    if (r.error) this.o.metrics.rmPollFailures.inc({ cluster: r.clusterId, reason: r.error.name || 'Error' });
    const superseded = r.view.status === 'ok' ? this.reconciler.supersedeReadBacks(r.clusterId, r.view.nodes, r.view.seq ?? 0) : [];
    if (r.availabilityChanged) {
      this.inventory.markAllDirty();
      return;
    }
    for (const id of [...r.changed, ...superseded]) {
      const node = this.reconciler.nodeOf(id);
      if (node) this.inventory.markDirty(node);
    }
  }

  /**
   * One full pass for `--once`: wait for the informers, poll every cluster, reconcile every node.
   * Resolves to the number of nodes whose reconcile failed or needs attention.
   */
  async reconcileAll(signal?: AbortSignal): Promise<number> {
    // A list the API server refuses (403) ends the run at once: waiting cannot cure it.
    const refused = Promise.race([this.nodes.failed, this.pods.failed]).then((err) => { throw err; });
    await Promise.race([this.synced, refused, abortPromise(signal)]);
    this.leading = true;
    this.term = 1;
    await Promise.race([Promise.all([...this.pollers.values()].map(async (p) => {
      const r = await p.pollOnce();
      this.views.set(r.clusterId, r.view);
    })), abortPromise(signal)]);
    this.inventory.takeDirty();
    let problems = 0;
    const ctl = new AbortController();
    signal?.addEventListener('abort', () => ctl.abort(signal.reason), { once: true });
    const names = [...this.inventory.nodes.keys()];
    const worker = async () => {
      for (let n = names.shift(); n !== undefined; n = names.shift()) {
        try {
          await this.reconciler.reconcileNode(n, 1, ctl.signal);
          if (this.decisions.get(n)?.report) problems++;
        } catch (err) {
          if (signal?.aborted) throw err;
          problems++;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.o.concurrency) }, worker));
    const unavailable = [...this.views.entries()].filter(([, v]) => v.status !== 'ok').map(([id]) => id);
    if (unavailable.length) this.log.error({ clusters: unavailable }, 'ResourceManager unavailable during --once');
    return problems + unavailable.length;
  }
}

function abortPromise(signal?: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (!signal) return;
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}
