/**
 * Applies the CPU suppression rule's decision: the CPU limit of the YARN parent cgroup, written
 * through `cgroup/` (dry-run aware). Logs inputs and outcome at info whenever the decided value
 * changes; a refusal by the kernel is logged once until the write works again. Remembers what it
 * found before its first write, so that stopping the agent can put it back ({@link CpuSuppressor.onExit}).
 */
import { type CpuBandwidth, type CpuLimitResult, type NodeCgroups, readCpuBandwidth, setCpuBandwidth } from '../cgroup/index.js';
import type { Logger } from '../log/logger.js';
import type { AgentMetrics } from './metrics.js';
import { OnceLog } from './once-log.js';
import { restoreParentLimit } from './parent-limit-restore.js';
import { cpuSuppressPlan, type CpuLimitDecision, type RulesConfig, type Snapshot } from './rules/index.js';

export interface CpuSuppressorDeps {
  cgroups: NodeCgroups;
  logger: Logger;
  metrics: AgentMetrics;
  dryRun: boolean;
}

export class CpuSuppressor {
  private lastLogged: number | undefined;
  private readonly once: OnceLog;
  /** The YARN parent's bandwidth before the agent's first write, and the one it wrote last. */
  private found: CpuBandwidth | undefined;
  private lastSet: CpuBandwidth | undefined;

  constructor(private readonly deps: CpuSuppressorDeps) {
    this.once = new OnceLog(deps.logger);
  }

  /** Write the decided limit; returns what `cgroup/` did, or undefined when it failed. */
  apply(decision: CpuLimitDecision, snapshot: Snapshot, config: RulesConfig): CpuLimitResult | undefined {
    const { cgroups, logger, metrics, dryRun } = this.deps;
    metrics.suppressLimit.set(decision.milli);
    let result: CpuLimitResult;
    try {
      result = cgroups.setYarnCpuLimit(decision.milli, { dryRun });
    } catch (err) {
      this.once.report('write', 'error', { limitMilli: decision.milli, err: (err as Error).message }, 'cannot set the YARN parent CPU limit');
      return undefined;
    }
    this.once.clear('write', { fields: { limitMilli: decision.milli }, message: 'YARN parent CPU limit writable again' });
    if (result.applied) {
      this.found ??= result.previous;
      this.lastSet = result.target;
    }
    if (this.lastLogged !== decision.milli) {
      this.lastLogged = decision.milli;
      const plan = cpuSuppressPlan(snapshot, config);
      logger.info(
        {
          limitMilli: decision.milli,
          reason: decision.reason,
          inputs: {
            nodeCpuCapacity: snapshot.node.cpuCapacity,
            nodeCpuUsed: snapshot.node.cpuUsed,
            yarnCpuUsed: snapshot.yarn.cpuUsed,
            nonYarn: plan?.nonYarn,
            target: plan?.target,
            observedLimit: snapshot.yarn.cpuLimit,
            thresholdPercent: config.cpuSuppressThresholdPercent,
          },
          writes: result.writes,
          applied: result.applied,
          dryRun,
        },
        dryRun ? 'would set the YARN parent CPU limit (dry-run: nothing written)' : 'YARN parent CPU limit set',
      );
    }
    return result;
  }

  /**
   * On stop: put back the bandwidth found before the first write (unlimited or someone else's
   * limit), unless `keep` (`--keep-limits-on-exit`). A value changed since the agent's last write
   * is somebody else's (or a cgroup the NodeManager re-created) and is left alone.
   */
  onExit(keep: boolean): void {
    const { cgroups, logger } = this.deps;
    if (!this.found || !this.lastSet) return;
    restoreParentLimit({
      what: 'CPU', found: this.found, lastSet: this.lastSet,
      read: (dirs) => (dirs.cpu ? readCpuBandwidth(dirs.cpu) : undefined),
      same: (current, lastSet) => current !== undefined && current.quotaUs === lastSet.quotaUs && current.periodUs === lastSet.periodUs,
      write: (dirs, found) => ({ writes: setCpuBandwidth(dirs, found).writes }),
    }, keep, cgroups, logger);
  }
}
