/**
 * The evictor: carries out the evictions the rules (or the copilot API) decided.
 *
 * - graceful: RM `GRACEFUL_SHUTDOWN` when RM URLs are configured (the NM then stops the container
 *   the YARN way), else SIGTERM through `cgroup/` kill; then wait up to `gracePeriodSeconds` for
 *   the container cgroup to empty, and finish with SIGKILL / `cgroup.kill` if it did not.
 * - immediate (memory emergency, or an escalation of a graceful one in flight): SIGKILL /
 *   `cgroup.kill` at once.
 *
 * Every signal goes through `cgroup/` kill, which proves each pid's membership of the validated
 * container cgroup just before signalling it (never pid ≤ 1, never us); nothing here bypasses it.
 * Dry-run logs "would evict" and touches nothing. Containers stay marked `evicting` from the
 * first signal until the NM stops listing them (or the eviction failed: then they may be picked
 * again). Every eviction is logged at info with its reason and inputs, counted, kept in a ring
 * of recent evictions, and posted as a Kubernetes Event on the Node.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ContainerCgroup, type KillResult, type NodeCgroups, type SkippedPid, CgroupIoError, readProcsOf } from '../cgroup/index.js';
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
  /** A graceful eviction finished with SIGKILL / cgroup.kill (deadline passed, or memory emergency). */
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
  clock: () => number;
  /** Recent evictions kept (default 100). */
  ringSize?: number;
  /** How long SIGKILL / cgroup.kill may take to empty the cgroup (default 5000 ms). */
  killDeadlineMs?: number;
  pollMs?: number;
  /** Our own pid and parent's, never signalled (defaults: this process). */
  selfPid?: number;
  parentPid?: number;
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

  constructor(private readonly deps: EvictorDeps) {}

  /** Containers being evicted (signalled and not yet gone from the NM list). */
  get evicting(): ReadonlySet<string> {
    return this.marks;
  }

  /** Recent evictions, oldest first (records are updated as evictions progress). */
  get recent(): readonly EvictionRecord[] {
    return this.ring;
  }

  /** Forget the marks of containers that left the NM list (and whose eviction has ended). */
  reconcile(liveIds: ReadonlySet<string>): void {
    for (const id of [...this.marks]) if (!liveIds.has(id) && !this.flights.has(id)) this.marks.delete(id);
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

  private executeOne(e: Eviction): IssuedEviction | undefined {
    const { logger, metrics, dryRun } = this.deps;
    const id = e.containerId;
    const fields = { container: id, reason: e.reason, mode: e.mode, gracePeriodSeconds: e.gracePeriodSeconds, credit: e.credit, inputs: e.inputs };
    const flight = this.flights.get(id);
    if (flight && !dryRun) {
      if (e.mode === 'immediate' && !flight.record.escalated && flight.record.mode === 'graceful') {
        logger.info(fields, 'escalating a graceful eviction in flight to an immediate kill');
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
    if (this.marks.has(id) && !dryRun) {
      logger.debug(fields, 'container already stopped by an eviction, waiting for the NM to drop it');
      return undefined;
    }
    const record: EvictionRecord = {
      containerId: id,
      reason: e.reason,
      mode: e.mode,
      dryRun,
      at: this.deps.clock(),
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
    const done = this.track(this.run(record, markIssued).finally(() => {
      markIssued();
      this.flights.delete(id);
      if (record.outcome === 'failed') this.marks.delete(id);
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

  private async run(record: EvictionRecord, markIssued: () => void): Promise<EvictionRecord> {
    const { logger } = this.deps;
    const id = record.containerId;
    try {
      let empty = false;
      if (record.mode === 'immediate') {
        empty = await this.kill(record, 'emergency', markIssued);
      } else {
        const graceMs = Math.max(0, record.gracePeriodSeconds * 1000);
        let local = true;
        if (this.deps.rm) {
          try {
            await this.deps.rm.signalContainer(id, 'GRACEFUL_SHUTDOWN');
            record.method = 'rm:GRACEFUL_SHUTDOWN';
            local = false;
            markIssued();
            logger.info({ container: id, rm: this.deps.rm.activeUrl }, 'GRACEFUL_SHUTDOWN sent through the ResourceManager');
            empty = await waitUntilEmpty(this.deps.cgroups, id, graceMs, this.deps.pollMs ?? 50);
          } catch (err) {
            if (record.method === undefined) {
              logger.warn({ container: id, err: (err as Error).message }, 'ResourceManager signal failed: falling back to SIGTERM on the node');
            } else {
              throw err;
            }
          }
        }
        if (local) empty = await this.kill(record, 'graceful', markIssued, graceMs);
        if (!empty && !record.escalated) {
          record.escalated = true;
          logger.info({ container: id, gracePeriodSeconds: record.gracePeriodSeconds }, 'grace period over and the container still has processes: killing');
          empty = await this.kill(record, 'emergency');
        } else if (!empty) {
          empty = await waitUntilEmpty(this.deps.cgroups, id, this.deps.killDeadlineMs ?? 5000, this.deps.pollMs ?? 50);
        }
      }
      record.outcome = empty ? 'stopped' : 'failed';
      if (!empty) record.error = 'processes still in the container cgroup after SIGKILL';
    } catch (err) {
      record.outcome = 'failed';
      record.error = (err as Error).message;
    }
    record.finishedAt = this.deps.clock();
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

  /** One cgroup kill; records pids and the method. Returns whether the cgroup is empty. */
  private async kill(record: EvictionRecord, mode: 'graceful' | 'emergency', markIssued?: () => void, deadlineMs?: number): Promise<boolean> {
    const { cgroups, pollMs } = this.deps;
    const opts = {
      mode,
      deadlineMs: deadlineMs ?? this.deps.killDeadlineMs ?? 5000,
      pollMs: pollMs ?? 20,
      ...(this.deps.selfPid !== undefined ? { selfPid: this.deps.selfPid } : {}),
      ...(this.deps.parentPid !== undefined ? { parentPid: this.deps.parentPid } : {}),
    };
    // killContainer signals synchronously before its first await: the signal is out on return.
    const pending = cgroups.killContainer(record.containerId, opts);
    markIssued?.();
    let r: KillResult;
    try {
      r = await pending;
    } catch (err) {
      record.error = (err as Error).message;
      throw err;
    }
    record.method ??= r.method;
    for (const s of r.signalled) if (!record.signalledPids.includes(s.pid)) record.signalledPids.push(s.pid);
    for (const s of r.skipped) if (!record.skipped.some((x) => x.pid === s.pid)) record.skipped.push(s);
    if (r.skipped.length > 0) {
      this.deps.logger.warn({ container: record.containerId, skipped: r.skipped }, 'pids listed in the container cgroup were not signalled (membership not proven)');
    }
    if (r.cgroupKillError) this.deps.logger.warn({ container: record.containerId, err: r.cgroupKillError }, 'cgroup.kill refused: fell back to SIGKILL');
    return r.empty;
  }
}

/** Compact `key=value` list of decision inputs for an Event message. */
export function describeInputs(inputs: DecisionInputs): string {
  return Object.entries(inputs)
    .filter(([k, v]) => v !== null && k !== 'escalation')
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(', ');
}

/**
 * Poll the container cgroup (and its sub-cgroups) until no process is left or the deadline
 * passes. A cgroup that vanished is empty. Refuses (throws) like `cgroup/` on a symlink escape.
 */
export async function waitUntilEmpty(cgroups: NodeCgroups, containerId: string, deadlineMs: number, pollMs: number): Promise<boolean> {
  const end = performance.now() + deadlineMs;
  for (;;) {
    if (!hasProcesses(cgroups.container(containerId))) return true;
    if (performance.now() >= end) return false;
    await sleep(pollMs);
  }
}

function hasProcesses(cg: ContainerCgroup): boolean {
  const visit = (dir: string, depth: number): boolean => {
    let procs: number[];
    try {
      procs = readProcsOf(dir);
    } catch (err) {
      if (err instanceof CgroupIoError && err.gone) return false;
      throw err;
    }
    if (procs.length > 0) return true;
    if (depth >= 8) return false;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return false;
    }
    return entries.some((e) => e.isDirectory() && visit(path.join(dir, e.name), depth + 1));
  };
  return cg.all.some((d) => visit(d.dir, 0));
}
