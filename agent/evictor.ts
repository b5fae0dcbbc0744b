/**
 * The evictor: carries out the evictions the rules (or the copilot API) decided.
 *
 * - graceful: RM `GRACEFUL_SHUTDOWN` when RM URLs are configured (the NM then stops the container
 *   the YARN way), else SIGTERM through `cgroup/` kill; then wait up to `gracePeriodSeconds` for
 *   the container cgroup to empty, and finish with SIGKILL pid by pid (`escalate`: never
 *   `cgroup.kill`) if it did not.
 * - immediate (memory emergency, or an emergency escalation of a graceful one in flight):
 *   `cgroup.kill` when `cgroup/` proves it safe, else SIGKILL pid by pid, at once.
 *
 * Every signal and every write goes through `cgroup/` kill, which proves the container's
 * directories again and each pid's membership just before signalling it (never pid ≤ 1, never us
 * or an ancestor); nothing here touches the filesystem or bypasses it. Waits use the injected
 * clock. Dry-run logs "would evict" and touches nothing. Containers stay marked `evicting` from
 * the first signal until the NM stops listing them. A failed eviction is not retried on the same
 * container for `retryAfterFailureMs` (one failure, one Event — not one every fast-watch pass),
 * and a refused proof is reported to `onRefused` so the container stops being a candidate at
 * once. Every eviction is logged at info with its reason and inputs, counted, kept in a ring of
 * recent evictions, and posted as a Kubernetes Event on the Node.
 */
import { type Clock, systemClock } from '../clock/clock.js';
import { CgroupPathError, type KillMode, type KillResult, type NodeCgroups, type SkippedPid } from '../cgroup/index.js';
import type { EventSink } from '../kube/events.js';
import type { Logger } from '../log/logger.js';
import type { ResourceManagerClient } from '../yarn/rm-client.js';
import type { AgentMetrics } from './metrics.js';
import type { DecisionInputs, Eviction, EvictionMode, EvictionReason } from './rules/index.js';

export type EvictionOutcome = 'would-evict' | 'in-progress' | 'stopped' | 'failed';
export type EvictionMethod = 'rm:GRACEFUL_SHUTDOWN' | 'SIGTERM' | 'SIGKILL' | 'cgroup.kill';

export interface EvictionRecord {
  containerId: string;
  reason: EvictionReason;
  mode: EvictionMode;
  dryRun: boolean;
  /** Agent clock when issued. */
  at: number;
  gracePeriodSeconds: number;
  credit: Eviction['credit'];
  inputs: DecisionInputs;
  /** How the first signal went out. */
  method?: EvictionMethod;
  /** A graceful eviction finished with SIGKILL (deadline passed) or was re-issued as an emergency. */
  escalated: boolean;
  outcome: EvictionOutcome;
  /** Pids signalled, across every step. */
  signalledPids: number[];
  /** Pids listed in the cgroup but refused by the membership proof. */
  skipped: SkippedPid[];
  error?: string;
  /** Agent clock when it ended (stopped or failed). */
  finishedAt?: number;
}

export interface EvictorDeps {
  cgroups: NodeCgroups;
  rm?: ResourceManagerClient;
  events: EventSink;
  /** Kubernetes Node name, for Events. */
  nodeName: string;
  metrics: AgentMetrics;
  logger: Logger;
  dryRun: boolean;
  /** The rules' time (ms) for the records and the retry back-off. */
  now: () => number;
  /** Waits: grace periods, kill deadlines, polls (default: the system clock). */
  clock?: Clock;
  /** Recent evictions kept (default 100). */
  ringSize?: number;
  /** How long SIGKILL / cgroup.kill may take to empty the cgroup (default 5000 ms). */
  killDeadlineMs?: number;
  pollMs?: number;
  /** A failed eviction's container is not picked again before this (default 60 s). */
  retryAfterFailureMs?: number;
  /** Stand-ins for our own pid and parent's (tests); the real ones and every ancestor are never signalled anyway. */
  selfPid?: number;
  parentPid?: number;
  /** A container's directories failed their proof during a kill: stop treating it as proven. */
  onRefused?: (containerId: string, err: CgroupPathError) => void;
  /** A control file failed its proof (the kill went on pid by pid): for a metric. */
  onProofFailure?: (kind: string) => void;
}

export interface IssuedEviction {
  record: EvictionRecord;
  /** Resolves once the first signal went out (or immediately in dry-run / when refused). */
  issued: Promise<void>;
  /** Resolves when the eviction ended (never rejects). */
  done: Promise<EvictionRecord>;
}

interface Flight {
  record: EvictionRecord;
  done: Promise<EvictionRecord>;
  issued: Promise<void>;
}

export class Evictor {
  private readonly flights = new Map<string, Flight>();
  private readonly marks = new Set<string>();
  private readonly ring: EvictionRecord[] = [];
  private readonly all = new Set<Promise<EvictionRecord>>();
  /** Containers whose eviction failed, until when (rules time) they are not picked again. */
  private readonly failedUntil = new Map<string, number>();
  private readonly clock: Clock;

  constructor(private readonly deps: EvictorDeps) {
    this.clock = deps.clock ?? systemClock;
  }

  /** Containers being evicted (signalled and not yet gone from the NM list). */
  get evicting(): ReadonlySet<string> {
    return this.marks;
  }

  /** The container's eviction ended with its cgroup empty, and the NM still lists it: its memory is released. */
  released(containerId: string): boolean {
    return this.marks.has(containerId) && !this.flights.has(containerId);
  }

  /** Containers not to pick now: their last eviction failed less than `retryAfterFailureMs` ago. */
  blocked(now = this.deps.now()): ReadonlySet<string> {
    const out = new Set<string>();
    for (const [id, until] of this.failedUntil) {
      if (until > now) out.add(id);
      else this.failedUntil.delete(id);
    }
    return out;
  }

  /** Recent evictions, oldest first (records are updated as evictions progress). */
  get recent(): readonly EvictionRecord[] {
    return this.ring;
  }

  /** Forget the marks of containers that left the NM list (and whose eviction has ended). */
  reconcile(liveIds: ReadonlySet<string>): void {
    for (const id of [...this.marks]) if (!liveIds.has(id) && !this.flights.has(id)) this.marks.delete(id);
    for (const id of [...this.failedUntil.keys()]) if (!liveIds.has(id)) this.failedUntil.delete(id);
  }

  /** Waits for every eviction in flight to end. */
  async settled(): Promise<void> {
    while (this.all.size > 0) await Promise.all([...this.all]);
  }

  /**
   * Issue the evictions (synchronously marks them, logs, counts; signals asynchronously).
   * Returns one entry per eviction actually issued (a duplicate of one in flight is not).
   */
  execute(evictions: readonly Eviction[]): IssuedEviction[] {
    const out: IssuedEviction[] = [];
    for (const e of evictions) {
      const issued = this.executeOne(e);
      if (issued) out.push(issued);
    }
    return out;
  }

  /**
   * Take over an eviction whose first signal another thread already sent (the fast watch's
   * thread: `first` is its kill, proofs and all, checked once for an empty cgroup). Everything
   * else is as {@link execute}: marks, counts, logs, the Event, the wait for the cgroup to empty
   * and the SIGKILL after the grace period. Undefined when an eviction of it is already in flight
   * here (the pids the other thread signalled are added to its record).
   */
  adopt(e: Eviction, first: KillResult): IssuedEviction | undefined {
    const flight = this.flights.get(e.containerId);
    if (flight) {
      for (const s of first.signalled) if (!flight.record.signalledPids.includes(s.pid)) flight.record.signalledPids.push(s.pid);
      return undefined;
    }
    return this.executeOne(e, first);
  }

  private executeOne(e: Eviction, first?: KillResult): IssuedEviction | undefined {
    const { logger, metrics, dryRun } = this.deps;
    const id = e.containerId;
    const fields = { container: id, reason: e.reason, mode: e.mode, gracePeriodSeconds: e.gracePeriodSeconds, credit: e.credit, inputs: e.inputs };
    const flight = this.flights.get(id);
    if (!first && this.failedUntil.has(id) && this.blocked().has(id) && !flight) {
      logger.debug(fields, 'the last eviction of this container failed: not retried before the back-off ends');
      return undefined;
    }
    if (flight && !dryRun) {
      if (e.mode === 'immediate' && !flight.record.escalated && flight.record.mode === 'graceful') {
        logger.info(fields, 'escalating a graceful eviction in flight to an emergency kill');
        flight.record.escalated = true;
        void this.track(this.kill(flight.record, 'emergency').then(
          () => flight.record,
          (err: unknown) => {
            logger.error({ ...fields, err: (err as Error).message }, 'escalated kill failed');
            return flight.record;
          },
        ));
      } else {
        logger.debug(fields, 'eviction already in flight: not issued again');
      }
      return undefined;
    }
    if (!first && this.marks.has(id) && !dryRun) {
      logger.debug(fields, 'container already stopped by an eviction, waiting for the NM to drop it');
      return undefined;
    }
    const record: EvictionRecord = {
      containerId: id,
      reason: e.reason,
      mode: e.mode,
      dryRun,
      at: this.deps.now(),
      gracePeriodSeconds: e.gracePeriodSeconds,
      credit: e.credit,
      inputs: e.inputs,
      escalated: false,
      outcome: dryRun ? 'would-evict' : 'in-progress',
      signalledPids: [],
      skipped: [],
    };
    this.remember(record);
    if (dryRun) {
      metrics.wouldEvict.inc({ reason: e.reason, mode: e.mode });
      logger.info({ ...fields, dryRun: true }, 'would evict YARN container (dry-run: nothing signalled)');
      return { record, issued: Promise.resolve(), done: Promise.resolve(record) };
    }
    this.marks.add(id);
    metrics.evictions.inc({ reason: e.reason, mode: e.mode });
    logger.info(fields, 'evicting YARN container');
    this.deps.events.post({
      node: this.deps.nodeName,
      type: 'Warning',
      reason: 'YarnContainerEvicted',
      message: `Loom agent evicts YARN container ${id} (${e.reason}, ${e.mode}): ${describeInputs(e.inputs)}`.slice(0, 1000),
    });
    let markIssued!: () => void;
    const issued = new Promise<void>((resolve) => { markIssued = resolve; });
    const done = this.track(this.run(record, markIssued, first).finally(() => {
      markIssued();
      this.flights.delete(id);
      if (record.outcome === 'failed') {
        this.marks.delete(id);
        this.failedUntil.set(id, this.deps.now() + (this.deps.retryAfterFailureMs ?? 60_000));
      }
    }));
    this.flights.set(id, { record, done, issued });
    return { record, issued, done };
  }

  private track(p: Promise<EvictionRecord>): Promise<EvictionRecord> {
    this.all.add(p);
    void p.finally(() => this.all.delete(p));
    return p;
  }

  private remember(r: EvictionRecord): void {
    this.ring.push(r);
    const max = this.deps.ringSize ?? 100;
    if (this.ring.length > max) this.ring.splice(0, this.ring.length - max);
  }

  private async run(record: EvictionRecord, markIssued: () => void, first?: KillResult): Promise<EvictionRecord> {
    const { logger } = this.deps;
    const id = record.containerId;
    try {
      let empty = false;
      if (record.mode === 'immediate') {
        empty = await this.kill(record, 'emergency', markIssued, undefined, first);
      } else {
        const graceMs = Math.max(0, record.gracePeriodSeconds * 1000);
        let local = true;
        if (this.deps.rm && !first) {
          try {
            await this.deps.rm.signalContainer(id, 'GRACEFUL_SHUTDOWN');
            record.method = 'rm:GRACEFUL_SHUTDOWN';
            local = false;
            markIssued();
            logger.info({ container: id, rm: this.deps.rm.activeUrl }, 'GRACEFUL_SHUTDOWN sent through the ResourceManager');
            empty = await this.deps.cgroups.waitUntilEmpty(id, graceMs, this.deps.pollMs ?? 50, this.clock);
          } catch (err) {
            if (record.method === undefined) {
              logger.warn({ container: id, err: (err as Error).message }, 'ResourceManager signal failed: falling back to SIGTERM on the node');
            } else {
              throw err;
            }
          }
        }
        if (local) empty = await this.kill(record, 'graceful', markIssued, graceMs, first);
        if (!empty && !record.escalated) {
          record.escalated = true;
          logger.info({ container: id, gracePeriodSeconds: record.gracePeriodSeconds }, 'grace period over and the container still has processes: SIGKILL pid by pid');
          empty = await this.kill(record, 'escalate');
        } else if (!empty) {
          empty = await this.deps.cgroups.waitUntilEmpty(id, this.deps.killDeadlineMs ?? 5000, this.deps.pollMs ?? 50, this.clock);
        }
      }
      record.outcome = empty ? 'stopped' : 'failed';
      if (!empty) {
        const prot = record.skipped.filter((s) => s.protected);
        record.error = prot.length > 0
          ? `the container holds a process Loom never signals (${prot.map((p) => `pid ${p.pid}: ${p.reason}`).join('; ')}): it cannot be emptied`
          : 'processes still in the container cgroup after SIGKILL';
      }
    } catch (err) {
      record.outcome = 'failed';
      record.error = (err as Error).message;
      if (err instanceof CgroupPathError) this.deps.onRefused?.(id, err);
    }
    record.finishedAt = this.deps.now();
    const fields = {
      container: id, reason: record.reason, mode: record.mode, method: record.method, escalated: record.escalated,
      signalledPids: record.signalledPids, skipped: record.skipped, error: record.error,
    };
    if (record.outcome === 'stopped') {
      logger.info(fields, 'YARN container stopped');
    } else {
      this.deps.metrics.evictionFailures.inc({ reason: record.reason });
      logger.error(fields, 'eviction failed: the container may be picked again');
      this.deps.events.post({
        node: this.deps.nodeName,
        type: 'Warning',
        reason: 'YarnContainerEvictionFailed',
        message: `Loom agent could not stop YARN container ${id}: ${record.error ?? 'unknown error'}`.slice(0, 1000),
      });
    }
    return record;
  }

  /**
   * One cgroup kill; records pids and the method. Returns whether the cgroup is empty. With
   * `first`, the kill another thread already made is recorded instead, and the cgroup is waited
   * on until the deadline.
   */
  private async kill(record: EvictionRecord, mode: KillMode, markIssued?: () => void, deadlineMs?: number, first?: KillResult): Promise<boolean> {
    const { cgroups, pollMs } = this.deps;
    const opts = {
      mode,
      clock: this.clock,
      deadlineMs: deadlineMs ?? this.deps.killDeadlineMs ?? 5000,
      pollMs: pollMs ?? 20,
      ...(this.deps.selfPid !== undefined ? { selfPid: this.deps.selfPid } : {}),
      ...(this.deps.parentPid !== undefined ? { parentPid: this.deps.parentPid } : {}),
    };
    // killContainer signals synchronously before its first await: the signal is out on return.
    const pending = first ? Promise.resolve(first) : cgroups.killContainer(record.containerId, opts);
    markIssued?.();
    let r: KillResult;
    try {
      r = await pending;
    } catch (err) {
      record.error = (err as Error).message;
      if (err instanceof CgroupPathError) this.deps.onRefused?.(record.containerId, err);
      throw err;
    }
    record.method ??= r.method;
    for (const s of r.signalled) if (!record.signalledPids.includes(s.pid)) record.signalledPids.push(s.pid);
    for (const s of r.skipped) if (!record.skipped.some((x) => x.pid === s.pid)) record.skipped.push(s);
    if (r.skipped.length > 0) {
      this.deps.logger.warn({ container: record.containerId, skipped: r.skipped }, 'pids listed in the container cgroup were not signalled (membership not proven)');
    }
    if (r.cgroupKillRefused) this.deps.logger.warn({ container: record.containerId, why: r.cgroupKillRefused }, 'cgroup.kill not proven safe: SIGKILL pid by pid instead');
    if (r.cgroupKillError) this.deps.logger.warn({ container: record.containerId, err: r.cgroupKillError }, 'cgroup.kill write refused: SIGKILL pid by pid instead');
    if (r.cgroupKillProofFailure) this.deps.onProofFailure?.(r.cgroupKillProofFailure);
    if (first && !r.empty) return cgroups.waitUntilEmpty(record.containerId, opts.deadlineMs, opts.pollMs, this.clock);
    return r.empty;
  }
}

/** Compact `key=value` list of decision inputs for an Event message. */
export function describeInputs(inputs: DecisionInputs): string {
  return Object.entries(inputs)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(', ');
}
