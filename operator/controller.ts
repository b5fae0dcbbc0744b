/**
 * The operator's imperative shell: reflectors feed the inventory, pollers feed the RM views, and
 * every node whose inputs changed is reconciled — snapshot → `decideNode` (pure) → the ordered
 * actions, applied one by one. Nothing is written when nothing changed.
 */
import type { Logger } from '../log/logger.js';
import { componentLogger } from '../log/logger.js';
import { type KubeApi, paths } from '../kube/api.js';
import { Reflector } from '../kube/reflector.js';
import { type EventReason, type EventSink, isEventReason } from '../kube/events.js';
import { parseThirdPartyAllocations, withYarnClaim, type BatchResources } from '../kube/wire.js';
import type { YarnResource } from '../yarn/resource.js';
import type { ResourceManagerClient } from '../yarn/rm-client.js';
import type { RmNode } from '../yarn/model.js';
import { decideNode, type LedgerAction, type LedgerConfig, type LedgerDecision, type LedgerMemory } from './ledger/index.js';
import { yarnToBatch } from './ledger/units.js';
import { nodeChanged, projectNode, projectPod, type NodeRecord, type PodRecord } from './observe.js';
import { Inventory } from './inventory.js';
import { ClusterPoller, type PollResult } from './rm-poller.js';
import { nodeIdKey, nodeManagerOf, snapshotOf, type ClusterView } from './snapshot.js';
import { ClaimWriter } from './claim-writer.js';
import type { OperatorMetrics } from './metrics.js';

export interface ControllerOptions {
  api: KubeApi;
  clusters: ReadonlyMap<string, ResourceManagerClient>;
  ledger: LedgerConfig;
  pollMs: number;
  dryRun: boolean;
  logger: Logger;
  metrics: OperatorMetrics;
  events: EventSink;
  /** Nodes reconciled in parallel (bounds RM resizes in flight). */
  concurrency: number;
  now?: () => number;
}

/** One executed write, kept for tests, the demo and `loom status`. */
export interface AppliedWrite {
  at: number;
  node: string;
  action: LedgerAction;
}

class Limiter {
  private active = 0;
  private readonly queue: (() => void)[] = [];
  constructor(private readonly max: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((r) => this.queue.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }
}

export class OperatorController {
  readonly inventory = new Inventory();
  readonly views = new Map<string, ClusterView>();
  readonly memory = new Map<string, LedgerMemory>();
  /** Last decision per node (for status and the demo). */
  readonly decisions = new Map<string, LedgerDecision>();
  /** Every write made, in order (bounded). */
  readonly writes: AppliedWrite[] = [];
  private readonly nodeOfNodeId = new Map<string, string>();
  private readonly lastReport = new Map<string, string>();
  private readonly pollers = new Map<string, ClusterPoller>();
  private readonly nodes: Reflector<NodeRecord>;
  private readonly pods: Reflector<PodRecord>;
  private readonly claims: ClaimWriter;
  /** One limiter per YARN cluster: a slow or hanging RM only holds up its own nodes. */
  private readonly limiters = new Map<string, Limiter>();
  /** Nodes being reconciled now, and those that changed again meanwhile. */
  private readonly inFlight = new Map<string, Promise<boolean>>();
  private readonly again = new Set<string>();
  private readonly log: Logger;
  private leading = false;
  private leadershipWaiters: (() => void)[] = [];
  private stopped = false;
  private loopDone: Promise<void> | undefined;
  private retryTimers = new Set<NodeJS.Timeout>();
  /** Per node: a wake-up for when a growth held by the grow interval may apply. */
  private readonly growTimers = new Map<string, NodeJS.Timeout>();
  private lastLoopAt = Date.now();
  failures = 0;

  constructor(private readonly o: ControllerOptions) {
    this.log = componentLogger(o.logger, 'operator.controller');
    this.claims = new ClaimWriter(o.api, componentLogger(o.logger, 'operator.claim'), (outcome) => o.metrics.nodePatches.inc({ outcome }));
    const inv = this.inventory;
    this.nodes = new Reflector<NodeRecord>({
      api: o.api, path: paths.nodes(), project: projectNode, logger: componentLogger(o.logger, 'operator.nodes'),
      // resourceVersion-only changes still refresh the record (the claim writer needs it) but do not wake the loop.
      changed: (a, b) => nodeChanged(a, b) || a.resourceVersion !== b.resourceVersion,
      handlers: {
        upsert: (_k, next, prev) => (prev && !nodeChanged(prev, next) ? inv.touchNode(next) : inv.upsertNode(next)),
        remove: (k) => inv.removeNode(k),
      },
    });
    this.pods = new Reflector<PodRecord>({
      api: o.api, path: paths.pods(), project: projectPod, logger: componentLogger(o.logger, 'operator.pods'),
      changed: (a, b) => a.nodeName !== b.nodeName || a.phase !== b.phase || a.batchCpu !== b.batchCpu || a.batchMemory !== b.batchMemory
        || a.invalid !== b.invalid || JSON.stringify(a.nm) !== JSON.stringify(b.nm),
      handlers: { upsert: (k, next, prev) => inv.upsertPod(k, next, prev), remove: (k, prev) => inv.removePod(k, prev) },
    });
    // Until its first poll a configured cluster is "not polled yet", not "not configured".
    for (const id of o.clusters.keys()) this.views.set(id, { status: 'unavailable', detail: `cluster ${id}: ResourceManager not polled yet`, at: 0 });
    for (const [id, client] of o.clusters) {
      this.pollers.set(id, new ClusterPoller(id, client, o.pollMs, componentLogger(o.logger, 'operator.rm'), (r) => this.onPoll(r)));
    }
  }

  private now(): number { return this.o.now ? this.o.now() : Date.now(); }

  get isLeading(): boolean { return this.leading; }

  /** Informers synced (the inventory reflects the cluster). */
  get synced(): Promise<void> { return Promise.all([this.nodes.synced, this.pods.synced]).then(() => undefined); }

  get informerStats() { return { nodes: this.nodes.stats, pods: this.pods.stats }; }

  pollCount(clusterId: string): number { return this.pollers.get(clusterId)?.polls ?? 0; }

  healthy(): { ok: boolean; detail?: string } {
    const idle = Date.now() - this.lastLoopAt;
    return this.stopped ? { ok: false, detail: 'stopped' } : { ok: true, detail: `loop active ${idle} ms ago` };
  }

  start(): void {
    this.nodes.start();
    this.pods.start();
    this.loopDone = this.loop();
  }

  /** Only the leader polls the RMs and writes. */
  setLeading(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.o.metrics.leader.set(leading ? 1 : 0);
    if (leading) {
      for (const p of this.pollers.values()) p.start();
      // Each cluster's first poll marks every node dirty; reconciling before it would only say
      // "RM not polled yet" for every node.
      if (this.pollers.size === 0) this.inventory.markAllDirty();
      for (const w of this.leadershipWaiters.splice(0)) w();
    } else {
      for (const p of this.pollers.values()) p.stop();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const p of this.pollers.values()) p.stop();
    for (const t of this.retryTimers) clearTimeout(t);
    for (const t of this.growTimers.values()) clearTimeout(t);
    this.growTimers.clear();
    this.nodes.stop();
    this.pods.stop();
    this.inventory.interrupt();
    for (const w of this.leadershipWaiters.splice(0)) w();
    await this.loopDone;
    await Promise.allSettled([...this.inFlight.values()]);
  }

  private onPoll(r: PollResult): void {
    this.views.set(r.clusterId, r.view);
    this.o.metrics.rmNodeLists.inc({ cluster: r.clusterId });
    this.o.metrics.clusterAvailable.set({ cluster: r.clusterId }, r.view.status === 'ok' ? 1 : 0);
    if (r.error) this.o.metrics.rmPollFailures.inc({ cluster: r.clusterId, reason: r.error.name || 'Error' });
    if (r.availabilityChanged) {
      this.inventory.markAllDirty();
      return;
    }
    for (const id of r.changed) {
      const node = this.nodeOfNodeId.get(id);
      if (node) this.inventory.markDirty(node);
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      this.lastLoopAt = Date.now();
      if (!this.leading) {
        await new Promise<void>((r) => this.leadershipWaiters.push(r));
        continue;
      }
      await this.inventory.whenDirty();
      if (this.stopped || !this.leading) continue;
      // Dispatched, not awaited: a node stuck on one cluster's RM must not hold up the others.
      for (const n of this.inventory.takeDirty()) void this.reconcileGuarded(n);
    }
  }

  private limiterFor(node: string): Limiter {
    const nm = nodeManagerOf(this.inventory.podsOn(node));
    const key = nm.state === 'running' ? nm.clusterId : '';
    let l = this.limiters.get(key);
    if (!l) this.limiters.set(key, (l = new Limiter(this.o.concurrency)));
    return l;
  }

  /** Reconcile a node unless it is being reconciled; then once more when that one ends. */
  private reconcileGuarded(node: string): Promise<boolean> {
    const running = this.inFlight.get(node);
    if (running) {
      this.again.add(node);
      return running;
    }
    const p = this.limiterFor(node).run(() => this.reconcile(node)).catch((err: unknown) => {
      this.log.error({ node, err: (err as Error).message }, 'reconcile failed unexpectedly');
      this.retryLater(node);
      return false;
    }).finally(() => {
      this.inFlight.delete(node);
      if (this.again.delete(node) && !this.stopped) this.inventory.markDirty(node);
    });
    this.inFlight.set(node, p);
    return p;
  }

  private async reconcileMany(names: string[]): Promise<number> {
    const results = await Promise.all(names.map((n) => this.reconcileGuarded(n)));
    return results.filter((ok) => !ok).length;
  }

  /**
   * One full pass for `--once`: wait for the informers, poll every cluster, reconcile every node.
   * Resolves to the number of nodes whose reconcile failed or needs attention.
   */
  async reconcileAll(): Promise<number> {
    await this.synced;
    this.leading = true;
    await Promise.all([...this.pollers.values()].map((p) => p.pollOnce()));
    this.inventory.takeDirty();
    const failures = await this.reconcileMany([...this.inventory.nodes.keys()]);
    const unavailable = [...this.views.entries()].filter(([, v]) => v.status !== 'ok').map(([id]) => id);
    if (unavailable.length) this.log.error({ clusters: unavailable }, 'ResourceManager unavailable during --once');
    return failures + unavailable.length;
  }

  private report(node: string, kind: 'report' | 'skip', reason: string, code: string): void {
    if (this.lastReport.get(node) === reason) return;
    this.lastReport.set(node, reason);
    this.o.metrics.inputErrors.inc({ source: code });
    if (kind === 'report') {
      this.log.warn({ node, code }, reason);
      this.o.events.post({ node, type: 'Warning', reason: eventReason(code), message: reason });
    } else {
      this.log.info({ node, code }, reason);
    }
  }

  /**
   * A growth held by the grow interval must be retried when the interval has passed: nothing else
   * would wake the node (a steady RM poll marks no node dirty).
   */
  private recheckHeldGrowth(node: string, decision: LedgerDecision, now: number): void {
    if (this.stopped || this.growTimers.has(node)) return;
    const last = decision.next.lastGrowAt;
    if (last === undefined || !decision.reasons.some((r) => r.code === 'grow-held-by-interval')) return;
    const delay = Math.max(0, last + this.o.ledger.growIntervalMs - now) + 5;
    const t = setTimeout(() => { this.growTimers.delete(node); this.inventory.markDirty(node); }, delay);
    this.growTimers.set(node, t);
  }

  private retryLater(node: string): void {
    const t = setTimeout(() => { this.retryTimers.delete(t); this.inventory.markDirty(node); }, Math.max(1000, this.o.pollMs));
    this.retryTimers.add(t);
  }

  /** Reconcile one node; false when it failed or needs attention. */
  async reconcile(name: string): Promise<boolean> {
    const endTimer = this.o.metrics.reconcileSeconds.startTimer();
    try {
      return await this.reconcileInner(name);
    } finally {
      endTimer();
    }
  }

  /** Nothing dirty and no reconcile running: the operator has acted on everything it has seen. */
  get idle(): boolean {
    return this.inFlight.size === 0 && this.inventory.dirtyCount === 0;
  }

  /** The resourceVersion of a Node as the operator last saw it (to tell whether it has caught up). */
  seenNodeVersion(name: string): string | undefined {
    return this.inventory.nodes.get(name)?.resourceVersion;
  }

  private async reconcileInner(name: string): Promise<boolean> {
    const node = this.inventory.nodes.get(name);
    if (!node) {
      this.memory.delete(name);
      this.decisions.delete(name);
      this.lastReport.delete(name);
      this.o.metrics.forgetNode(name);
      return true;
    }
    const snap = snapshotOf(node, this.inventory.podsOn(name), this.views, this.memory.get(name) ?? {});
    if (!snap.ok) {
      this.report(name, snap.kind, snap.reason, 'input-invalid');
      this.o.metrics.reconciles.inc({ outcome: 'invalid-input' });
      return false;
    }
    const nm = snap.nodeManager;
    if (nm.state === 'running') this.nodeOfNodeId.set(nodeIdKey(nm.nodeId), name);
    if (nm.duplicates) this.log.warn({ node: name, extra: nm.duplicates }, 'more than one Running NodeManager pod on the node; using the first');

    const now = this.now();
    const decision = decideNode(snap.snapshot, this.o.ledger, now);
    this.decisions.set(name, decision);
    this.recheckHeldGrowth(name, decision, now);
    this.exportFigures(name, decision);
    if (decision.report) this.report(name, 'report', decision.report.detail ?? decision.report.code, decision.report.code);
    // A malformed origin is somebody's bug an operator must see (Warning + Event); a missing one
    // or an unavailable RM is a state that explains itself.
    else if (decision.skip) this.report(name, decision.skip.code === 'origin-invalid' ? 'report' : 'skip', decision.skip.detail ?? decision.skip.code, decision.skip.code);
    else this.lastReport.delete(name);

    if (decision.actions.length === 0) {
      this.memory.set(name, decision.next);
      this.o.metrics.reconciles.inc({ outcome: decision.report ? 'attention' : 'unchanged' });
      return !decision.report;
    }
    const inputs = decision.figures ? summarize(decision) : { reasons: decision.reasons };
    if (this.o.dryRun) {
      this.log.info({ node: name, dryRun: true, actions: decision.actions, ...inputs }, 'ledger decision (dry run: nothing written)');
      this.o.metrics.reconciles.inc({ outcome: 'dry-run' });
      return true;
    }
    this.log.info({ node: name, actions: decision.actions, ...inputs }, 'ledger decision');
    let known = { ...(node.thirdParty !== undefined ? { thirdParty: node.thirdParty } : {}), resourceVersion: node.resourceVersion };
    let usedAfterResize: YarnResource | undefined;
    for (const action of decision.actions) {
      try {
        if (action.kind === 'resize') {
          usedAfterResize = await this.resize(name, action, decision);
        } else {
          let claim = action.kind === 'set-claim' ? action.claim : null;
          // The ledger's U comes from the last poll; YARN may have allocated more since, up to the
          // old capacity. Once the RM has the new total, its read-back U is exact: never lower the
          // claim below it, or Kubernetes would believe YARN holds less than it does.
          if (claim && usedAfterResize && decision.figures) claim = atLeastUsed(claim, usedAfterResize, decision.figures.margin, this.o.ledger.vcoresPerCore);
          const res = await this.claims.write(name, claim, known);
          if (res.written) {
            // A later action of the same decision must build on this write, not on the stale record.
            known = { thirdParty: withYarnClaim(parseThirdPartyAllocations(known.thirdParty), claim), resourceVersion: res.resourceVersion ?? known.resourceVersion };
            this.log.info({ node: name, claim, attempts: res.attempts }, claim ? 'claim written' : 'claim cleared');
          }
        }
        this.recordWrite(name, action, now);
      } catch (err) {
        this.failures++;
        const message = `${action.kind} failed: ${(err as Error).message}`;
        this.log.error({ node: name, action, ...inputs }, message);
        this.o.events.post({ node: name, type: 'Warning', reason: action.kind === 'resize' ? 'YarnResizeFailed' : 'ClaimWriteFailed', message });
        this.o.metrics.reconciles.inc({ outcome: 'error' });
        this.retryLater(name);
        return false;
      }
    }
    this.memory.set(name, decision.next);
    this.o.metrics.reconciles.inc({ outcome: 'applied' });
    return true;
  }

  private async resize(node: string, action: Extract<LedgerAction, { kind: 'resize' }>, decision: LedgerDecision): Promise<YarnResource | undefined> {
    const client = this.o.clusters.get(action.clusterId);
    if (!client) throw new Error(`no ResourceManager client for cluster ${action.clusterId}`);
    const before = decision.figures?.rmTotal;
    // 0/0 is only ever the ledger's answer to valid inputs (K ≥ O); parse failures never get here.
    const res = await client.updateNodeResource(action.nodeId, action.capacity, action.overCommitTimeoutMs, { allowEmpty: true });
    // The cached RM view is as old as the last poll: record the total read back, or the next
    // reconcile (woken by our own claim write) sees the old total and resizes again as "drift".
    this.noteRmTotal(action.clusterId, action.nodeId, res.total);
    const direction = before && (action.capacity.vcores < before.vcores || action.capacity.memoryMiB < before.memoryMiB) ? 'shrink' : 'grow';
    this.o.metrics.rmResizes.inc({ cluster: action.clusterId, direction });
    if (action.driftRepair) this.o.metrics.driftRepairs.inc({ cluster: action.clusterId });
    // What the RM answered is fresher than the last poll: later reconciles must start from it.
    this.refreshRmNode(action.clusterId, action.nodeId, res.total, res.used);
    if (!res.applied) {
      this.log.warn({ node, nodeId: action.nodeId, requested: action.capacity, readBack: res.total }, 'RM reads back a different total after the resize; the next poll re-checks');
    }
    const msg = `YARN NodeManager ${action.nodeId} resized to ${action.capacity.vcores} vcores / ${action.capacity.memoryMiB} MiB`
      + `${before ? ` (was ${before.vcores} / ${before.memoryMiB})` : ''}${action.driftRepair ? ' — RM had lost the override' : ''}`;
    this.log.info({ node, cluster: action.clusterId, nodeId: action.nodeId, capacity: action.capacity, before, driftRepair: action.driftRepair, overCommitTimeoutMs: action.overCommitTimeoutMs }, 'RM capacity updated');
    this.o.events.post({ node, type: 'Normal', reason: action.driftRepair ? 'YarnCapacityRepaired' : 'YarnCapacityResized', message: msg });
    return res.used;
  }

  private noteRmTotal(clusterId: string, nodeId: string, total: RmNode['totalResource']): void {
    const view = this.views.get(clusterId);
    if (view?.status !== 'ok' || !total) return;
    const key = nodeIdKey(nodeId);
    const n = view.nodes.get(key);
    if (n) (view.nodes as Map<string, RmNode>).set(key, { ...n, totalResource: total });
  }

  private refreshRmNode(clusterId: string, nodeId: string, total: YarnResource, used: YarnResource | undefined): void {
    const view = this.views.get(clusterId);
    if (view?.status !== 'ok') return;
    const nodes = view.nodes as Map<string, RmNode>;
    const prev = nodes.get(nodeIdKey(nodeId));
    if (prev) nodes.set(nodeIdKey(nodeId), { ...prev, totalResource: total, ...(used ? { usedResource: used } : {}) });
  }

  private recordWrite(node: string, action: LedgerAction, at: number): void {
    this.writes.push({ at, node, action });
    if (this.writes.length > 10_000) this.writes.splice(0, this.writes.length - 10_000);
  }

  private exportFigures(node: string, d: LedgerDecision): void {
    const f = d.figures;
    if (!f) return;
    const g = this.o.metrics.nodeBatch;
    const cap = yarnToBatch(f.applied, this.o.ledger.vcoresPerCore);
    for (const [resource, key] of [['cpu', 'cpu'], ['memory', 'memory']] as const) {
      g.set({ node, resource, quantity: 'origin' }, f.origin[key]);
      g.set({ node, resource, quantity: 'k8s_requested' }, f.k8sRequested[key]);
      g.set({ node, resource, quantity: 'yarn_used' }, f.yarnUsed[key]);
      g.set({ node, resource, quantity: 'yarn_capacity' }, cap[key]);
      g.set({ node, resource, quantity: 'claim' }, f.claim[key]);
      g.set({ node, resource, quantity: 'free' }, f.freeBeforeMargin[key]);
    }
  }
}

/** Pure: the claim raised, per resource, to cover YARN's read-back use (converted up) plus the margin. */
export function atLeastUsed(claim: BatchResources, used: YarnResource, margin: BatchResources, vcoresPerCore: number): BatchResources {
  const u = yarnToBatch(used, vcoresPerCore);
  return {
    cpu: Math.max(claim.cpu, u.cpu + margin.cpu) as BatchResources['cpu'],
    memory: Math.max(claim.memory, u.memory + margin.memory) as BatchResources['memory'],
  };
}

function summarize(d: LedgerDecision): Record<string, unknown> {
  const f = d.figures!;
  return {
    origin: f.origin, k8sRequested: f.k8sRequested, yarnUsed: f.yarnUsed, free: f.free, margin: f.margin,
    desired: f.desired, applied: f.applied, rmTotal: f.rmTotal, claim: f.claim, reasons: d.reasons.map((r) => r.code),
  };
}

/** The Event reason of a reported code (`nm-malformed` → `NmMalformed`); a code without one is an invalid input. */
function eventReason(code: string): EventReason {
  const reason = code.split('-').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
  return isEventReason(reason) ? reason : 'InputInvalid';
}
