/**
 * `reconcileNode(name, term)`: read the caches, build the snapshot, ask the pure ledger, apply the
 * ordered actions — each write fenced by the term — and say when to look again. Throws when a
 * write failed (the work queue retries with backoff).
 *
 * Two things make a reconcile run the decision again, on fresher data, before it returns:
 * - a resize whose read-back shows other RM figures than the decision assumed (YARN allocated
 *   more meanwhile): the claim must cover the read-back use in this same reconcile;
 * - a 409 on the claim write: the node changed, so the whole decision is redone from a fresh
 *   read of the node — the old claim is never re-applied.
 */
import type { Clock } from '../clock/clock.js';
import type { Logger } from '../log/logger.js';
import { componentLogger } from '../log/logger.js';
import { type KubeApi, type KubeObject, paths } from '../kube/api.js';
import { type EventReason, type EventSink, isEventReason } from '../kube/events.js';
import { FencedError, type Fence } from '../kube/lease.js';
import { versionAtLeast } from '../kube/reflector.js';
import type { ResourceManagerClient } from '../yarn/rm-client.js';
import type { YarnResource } from '../yarn/resource.js';
import type { RmNode } from '../yarn/model.js';
import { decideNode, sameYarn, type LedgerAction, type LedgerConfig, type LedgerDecision, type LedgerMemory, type Severity } from './ledger/index.js';
import { yarnToBatch } from './ledger/units.js';
import { projectNode, type NodeRecord } from './observe.js';
import type { Inventory } from './inventory.js';
import { claimOf, nextObservation, nodeIdKey, resizeKey, snapshotOf, type ClusterView, type PendingResize, type RmReadBack } from './snapshot.js';
import { ClaimConflict, ClaimWriter } from './claim-writer.js';
import type { LedgerQuantity, OperatorMetrics } from './metrics.js';
import { readBackResize, type ReadBackOptions } from './resize-read-back.js';

/** One executed write, kept for tests, the demo and `loom status`. */
export interface AppliedWrite {
  at: number;
  node: string;
  term: number;
  action: LedgerAction;
}

export interface ReconcileResult {
  requeueAfterMs?: number;
}

export interface ReconcilerOptions {
  api: KubeApi;
  clusters: ReadonlyMap<string, ResourceManagerClient>;
  ledger: LedgerConfig;
  dryRun: boolean;
  logger: Logger;
  metrics: OperatorMetrics;
  events: EventSink;
  clock: Clock;
  fence: Fence;
  inventory: Inventory;
  views: ReadonlyMap<string, ClusterView>;
  /** A real RM applies a resize asynchronously: how to read it back (operator/resize-read-back.ts). */
  readBack?: ReadBackOptions;
}

/** Rounds of decide → apply per reconcile (read-back news, 409s) before giving up to backoff. */
const MAX_ROUNDS = 5;

export class Reconciler {
  readonly memory = new Map<string, LedgerMemory>();
  /** Last decision per node (for status and the demo). */
  readonly decisions = new Map<string, LedgerDecision>();
  /** Every write made, in order (the last 10,000 to 20,000). */
  readonly writes: AppliedWrite[] = [];
  /** Fresher RM figures learned from resizes, by resizeKey (cluster and NodeId); the poller's views stay the poller's. */
  readonly readBack = new Map<string, RmReadBack>();
  /**
   * Resizes sent and not yet shown by the RM, by NodeId key (see {@link PendingResize}). Kept
   * across this replica's terms: they are facts about what it sent, not a view of the RM.
   */
  readonly pending = new Map<string, PendingResize>();
  private readonly nodeOfNodeId = new Map<string, string>();
  /** Nodes as our own writes left them, until the watch catches up (saves a 409 per write). */
  private readonly written = new Map<string, NodeRecord>();
  private readonly lastReport = new Map<string, string>();
  private readonly claims: ClaimWriter;
  private readonly log: Logger;
  failures = 0;

  constructor(private readonly o: ReconcilerOptions) {
    this.log = componentLogger(o.logger, 'operator.reconciler');
    this.claims = new ClaimWriter(o.api, (outcome) => o.metrics.nodePatches.inc({ outcome }));
  }

  /** The node a NodeId belongs to (as last reconciled). */
  nodeOf(nodeIdKeyed: string): string | undefined { return this.nodeOfNodeId.get(nodeIdKeyed); }

  /** A new term starts from first sight: nothing learned in an earlier term is trusted. */
  resetForTerm(): void {
    this.written.clear();
    this.memory.clear();
    this.readBack.clear();
  }

  /**
   * A poll sent after a read-back supersedes it. Returns the NodeIds whose polled figures differ
   * from the read-back they replace: the poller diffs against its own last poll, so a change
   * since our resize (an override the RM forgot) would otherwise wake nobody.
   */
  supersedeReadBacks(clusterId: string, nodes: ReadonlyMap<string, RmNode>, seq: number): string[] {
    const differ: string[] = [];
    // Few resizes await a poll beside a large view: walk the smaller side (20,000 keys per poll showed in profiles).
    let ids: Iterable<string> = nodes.keys();
    if (this.pending.size + this.readBack.size < nodes.size) {
      const prefix = `${clusterId}\t`;
      const own = new Set<string>();
      for (const k of this.pending.keys()) if (k.startsWith(prefix)) own.add(k.slice(prefix.length));
      for (const k of this.readBack.keys()) if (k.startsWith(prefix)) own.add(k.slice(prefix.length));
      ids = own;
    }
    for (const id of ids) {
      const n = nodes.get(id);
      if (!n) continue;
      const key = resizeKey(clusterId, id);
      // A poll sent after an unconfirmed resize that shows it confirms it: decide again on it.
      const p = this.pending.get(key);
      if (p && p.seq < seq && sameYarn(n.totalResource, p.capacity)) {
        this.pending.delete(key);
        differ.push(id);
      }
      const rb = this.readBack.get(key);
      if (!rb || rb.seq > seq) continue;
      this.readBack.delete(key);
      if (!sameYarn(n.totalResource, rb.total) || (rb.used !== undefined && !sameYarn(n.usedResource ?? { vcores: 0, memoryMiB: 0 } as YarnResource, rb.used))) differ.push(id);
    }
    return differ;
  }

  async reconcileNode(name: string, term: number, signal: AbortSignal): Promise<ReconcileResult> {
    const started = this.o.clock.now();
    try {
      return await this.rounds(name, term, signal);
    } finally {
      this.o.metrics.reconcileSeconds.observe((this.o.clock.now() - started) / 1000);
    }
  }

  /** The cache's record, or the one our last write returned when the cache has not caught up. */
  private newest(name: string): NodeRecord | undefined {
    const cached = this.o.inventory.nodes.get(name);
    const mine = this.written.get(name);
    if (!mine || !cached) return cached;
    if (versionAtLeast(cached.resourceVersion, mine.resourceVersion)) {
      this.written.delete(name);
      return cached;
    }
    return mine;
  }

  private forget(name: string): ReconcileResult {
    this.written.delete(name);
    this.memory.delete(name);
    this.decisions.delete(name);
    this.lastReport.delete(name);
    this.o.metrics.forgetNode(name);
    return {};
  }

  private async rounds(name: string, term: number, signal: AbortSignal): Promise<ReconcileResult> {
    const guard = { signal, beforeSend: () => this.o.fence.check(term) };
    /** A fresher record than the cache's (after our own write, or a re-read after 409). */
    let fresh: NodeRecord | undefined;
    for (let round = 1; round <= MAX_ROUNDS; round++) {
      signal.throwIfAborted();
      const node = fresh ?? this.newest(name);
      if (!node) return this.forget(name);
      const claim = claimOf(node); // the one parse of the annotation per round
      const snap = snapshotOf(node, this.o.inventory.podsOn(name), this.o.views, this.memory.get(name) ?? {}, claim, this.readBack, this.pending);
      if (!snap.ok) {
        this.note(name, snap.kind === 'report' ? 'warning' : 'state', snap.reason, 'input-invalid', guard);
        this.o.metrics.reconciles.inc({ outcome: 'invalid-input' });
        return {};
      }
      const nm = snap.nodeManager;
      if (nm.state === 'running') this.nodeOfNodeId.set(nodeIdKey(nm.nodeId), name);
      if (nm.duplicates) this.log.warn({ node: name, extra: nm.duplicates }, 'more than one Running NodeManager pod on the node; using the first');

      const now = this.o.clock.now();
      const decision = decideNode(snap.snapshot, this.o.ledger, now);
      this.decisions.set(name, decision);
      this.exportFigures(name, decision);
      const finding = decision.report ?? decision.skip;
      if (finding && decision.severity) this.note(name, decision.severity, finding.detail ?? finding.code, finding.code, guard);
      else if (!finding) this.lastReport.delete(name);
      const requeue: ReconcileResult = decision.recheckAfterMs !== undefined ? { requeueAfterMs: decision.recheckAfterMs } : {};

      if (decision.actions.length === 0) {
        this.memory.set(name, decision.next);
        this.o.metrics.reconciles.inc({ outcome: decision.report ? 'attention' : decision.severity === 'pending' ? 'pending' : 'unchanged' });
        return requeue;
      }
      if (this.o.dryRun) {
        this.log.info({ node: name, actions: decision.actions.map(describeAction), reasons: decision.reasons.map((r) => r.code) }, 'ledger decision (dry run: nothing written)');
        this.o.metrics.reconciles.inc({ outcome: 'dry-run' });
        return requeue;
      }
      this.log.info({ node: name, round, actions: decision.actions, ...(decision.figures ? summarize(decision) : { reasons: decision.reasons.map((r) => r.code) }) }, 'ledger decision');
      let known = { ...(node.thirdParty !== undefined ? { thirdParty: node.thirdParty } : {}), resourceVersion: node.resourceVersion };
      let again = false;
      for (const action of decision.actions) {
        try {
          if (action.kind === 'resize') {
            const rb = await this.resize(name, action, decision, guard);
            // The RM holds the new total: remember it now, later rounds build on it.
            this.memory.set(name, decision.next);
            this.recordWrite(name, term, action, now);
            const assumed = decision.figures;
            if (!sameYarn(rb.total, action.capacity)) {
              throw new Error(`RM did not apply the resize of ${action.nodeId}: read back ${rb.total.vcores} vcores / ${rb.total.memoryMiB} MiB, asked ${action.capacity.vcores} / ${action.capacity.memoryMiB}`);
            }
            if (action.resend) {
              // The unconfirmed resize is confirmed: now decide on the figure the RM shows.
              again = true;
              break;
            }
            if (rb.used && assumed && !sameYarn(rb.used, snapUsed(snap.snapshot))) {
              // YARN allocated (or released) since the poll: decide again with the read-back.
              again = true;
              break;
            }
          } else {
            const target = action.kind === 'set-claim' ? action.claim : null;
            const res = await this.claims.write(name, target, known, guard);
            if (res.written) {
              known = { ...(res.thirdParty !== undefined ? { thirdParty: res.thirdParty } : {}), resourceVersion: res.resourceVersion };
              fresh = (res.object && projectNode(res.object)) || { ...node, ...known };
              this.written.set(name, fresh);
              this.log.info({ node: name, claim: target }, target ? 'claim written' : 'claim cleared');
            }
            this.recordWrite(name, term, action, now);
          }
        } catch (err) {
          if (err instanceof ClaimConflict) {
            // Fresh data, whole decision again: never the old claim on a new annotation.
            this.log.info({ node: name, round }, 'node changed under the claim write (409); deciding again on a fresh read');
            fresh = projectNode(await this.o.api.get<KubeObject>(paths.node(name), { signal }));
            again = true;
            break;
          }
          if (err instanceof FencedError || signal.aborted) throw err;
          this.failures++;
          const message = `${action.kind} failed: ${(err as Error).message}`;
          this.log.error({ node: name, action: describeAction(action) }, message);
          this.o.events.post({ node: name, type: 'Warning', reason: action.kind === 'resize' ? 'YarnResizeFailed' : 'ClaimWriteFailed', message }, guard);
          this.o.metrics.reconciles.inc({ outcome: 'error' });
          throw err;
        }
      }
      if (again) continue;
      this.memory.set(name, decision.next);
      this.o.metrics.reconciles.inc({ outcome: 'applied' });
      return requeue;
    }
    throw new Error(`node ${name}: inputs kept changing during ${MAX_ROUNDS} decision rounds`);
  }

  private async resize(
    node: string, action: Extract<LedgerAction, { kind: 'resize' }>, decision: LedgerDecision,
    guard: { signal: AbortSignal; beforeSend: () => void },
  ): Promise<RmReadBack> {
    const client = this.o.clusters.get(action.clusterId);
    if (!client) throw new Error(`no ResourceManager client for cluster ${action.clusterId}`);
    const before = decision.figures?.rmTotal;
    // 0/0 is only ever the ledger's answer to valid inputs (K ≥ O); parse failures never get here.
    const key = resizeKey(action.clusterId, action.nodeId);
    // Right before the POST leaves (after the fence): from here on the RM may apply it — even when
    // the answer is lost or the read-back never shows it — until an observation shows it.
    const beforeSend = () => {
      guard.beforeSend();
      const p = this.pending.get(key);
      if (!p || !sameYarn(p.capacity, action.capacity)) this.pending.set(key, { capacity: action.capacity, seq: nextObservation(), at: this.o.clock.now() });
    };
    const res = await client.updateNodeResource(action.nodeId, action.capacity, action.overCommitTimeoutMs, { allowEmpty: true, signal: guard.signal, beforeSend });
    const { total, used } = await readBackResize(client, action.nodeId, action.capacity, res, {
      clock: this.o.clock, ...(this.o.readBack ? { readBack: this.o.readBack } : {}), signal: guard.signal,
    });
    // Placed among RM observations when its answer is in, not when it was sent: a poll sent after
    // the resize left but before this answer came can have been answered by the RM before it
    // applied the resize (the RM serves requests concurrently and applies a resize
    // asynchronously), and must not supersede what the read-back showed. Only a poll sent after
    // now is sure to show at least this.
    const readBack: RmReadBack = { total, ...(used ? { used } : {}), at: this.o.clock.now(), seq: nextObservation() };
    this.readBack.set(key, readBack);
    if (!sameYarn(total, action.capacity)) return readBack;
    this.pending.delete(key);
    const direction = before && (action.capacity.vcores < before.vcores || action.capacity.memoryMiB < before.memoryMiB) ? 'shrink' : 'grow';
    this.o.metrics.rmResizes.inc({ cluster: action.clusterId, direction });
    if (action.driftRepair) this.o.metrics.driftRepairs.inc({ cluster: action.clusterId });
    const msg = `YARN NodeManager ${action.nodeId} resized to ${action.capacity.vcores} vcores / ${action.capacity.memoryMiB} MiB`
      + `${before ? ` (was ${before.vcores} / ${before.memoryMiB})` : ''}${action.driftRepair ? ' — RM had lost the override' : ''}`;
    this.log.info({ node, cluster: action.clusterId, nodeId: action.nodeId, capacity: action.capacity, before, driftRepair: action.driftRepair }, 'RM capacity updated');
    this.o.events.post({ node, type: 'Normal', reason: action.driftRepair ? 'YarnCapacityRepaired' : 'YarnCapacityResized', message: msg }, guard);
    return readBack;
  }

  /** Log (once per distinct reason), count and, for warnings, post an Event. `pending` is silent. */
  private note(node: string, severity: Severity, reason: string, code: string, guard: { signal: AbortSignal; beforeSend: () => void }): void {
    if (severity === 'pending') return;
    if (this.lastReport.get(node) === reason) return;
    this.lastReport.set(node, reason);
    this.o.metrics.inputErrors.inc({ source: code });
    if (severity === 'warning') {
      this.log.warn({ node, code }, reason);
      this.o.events.post({ node, type: 'Warning', reason: eventReason(code), message: reason }, guard);
    } else {
      this.log.info({ node, code }, reason);
    }
  }

  /** `at`: when the decision that made the write was taken. */
  private recordWrite(node: string, term: number, action: LedgerAction, at: number): void {
    this.writes.push({ at, node, term, action });
    // Keep the last 10,000, trimmed in batches: one splice per 10,000 writes, not one per write.
    if (this.writes.length > 20_000) this.writes.splice(0, this.writes.length - 10_000);
  }

  private exportFigures(node: string, d: LedgerDecision): void {
    const f = d.figures;
    if (!f) return;
    const cap = yarnToBatch(f.applied, this.o.ledger.vcoresPerCore);
    const m = this.o.metrics;
    const set = (quantity: LedgerQuantity, cpu: number, memory: number) => m.setNodeFigure(node, quantity, cpu / 1000, memory);
    set('origin', f.origin.cpu, f.origin.memory);
    set('k8s_requested', f.k8sRequested.cpu, f.k8sRequested.memory);
    set('yarn_used', f.yarnUsed.cpu, f.yarnUsed.memory);
    set('yarn_capacity', cap.cpu, cap.memory);
    set('claim', f.claim.cpu, f.claim.memory);
    set('free', f.freeBeforeMargin.cpu, f.freeBeforeMargin.memory);
  }
}

const snapUsed = (s: { rm: { status: string; node?: { used: YarnResource } } }): YarnResource | undefined => (s.rm.status === 'ok' ? s.rm.node!.used : undefined);

/** A short form of an action for log lines. */
export function describeAction(a: LedgerAction): string {
  switch (a.kind) {
    case 'set-claim': return `claim ${a.claim.cpu}m/${Math.round(a.claim.memory / 2 ** 20)}Mi`;
    case 'clear-claim': return 'clear claim';
    case 'resize': return `resize ${a.nodeId} to ${a.capacity.vcores} vcores/${a.capacity.memoryMiB} MiB${a.driftRepair ? ' (drift repair)' : ''}`;
  }
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
