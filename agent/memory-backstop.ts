/**
 * The kernel backstop (`--memory-backstop`, off by default): the YARN parent cgroup's memory
 * limit follows YARN's allowed share of the node, so that between two looks of the agent the
 * kernel itself reclaims from YARN (v2 `memory.high`: throttle and reclaim) — or, on v1
 * (`memory.limit_in_bytes`), reclaims and then OOM-kills inside YARN — before online pods suffer.
 *
 *   share = MemTotal × threshold − (node used − YARN working set)      (what YARN may hold)
 *   limit = max(share, YARN working set + margin), page-aligned
 *
 * The floor keeps the limit above what YARN holds now by `margin` (256 MiB, or 5 % of the YARN
 * working set if larger): a limit under the current working set would have the kernel reclaim at
 * once or, on v1, OOM-kill a container at once — the agent's memory rule, not the kernel, picks
 * victims. The limit is rewritten only when it moves by more than the hysteresis (64 MiB or 1 %
 * of MemTotal), and put back to what was found when the agent stops (unless
 * `--keep-limits-on-exit`, or someone else changed it since).
 */
import { type MemoryLimit, type NodeCgroups, readMemoryLimit, setMemoryLimit } from '../cgroup/index.js';
import type { Logger } from '../log/logger.js';
import { OnceLog } from './once-log.js';
import { restoreParentLimit } from './parent-limit-restore.js';
import type { Snapshot } from './rules/index.js';

const MiB = 2 ** 20;
const PAGE = 4096;
export const BACKSTOP_MARGIN_BYTES = 256 * MiB;
export const BACKSTOP_MARGIN_FRACTION = 0.05;
export const BACKSTOP_HYSTERESIS_BYTES = 64 * MiB;
export const BACKSTOP_HYSTERESIS_FRACTION = 0.01;

export interface BackstopPlan {
  /** Bytes, page-aligned. */
  limit: number;
  share: number;
  floor: number;
  nonYarn: number;
}

/** Pure: the backstop limit for a snapshot, or undefined when YARN's memory is unknown. */
export function backstopPlan(snapshot: Pick<Snapshot, 'node' | 'yarn'>, thresholdPercent: number): BackstopPlan | undefined {
  const yarn = snapshot.yarn.memoryUsed;
  const { memoryTotal, memoryUsed } = snapshot.node;
  if (yarn === undefined || !(memoryTotal > 0)) return undefined;
  const nonYarn = Math.max(0, memoryUsed - yarn);
  const share = Math.floor((memoryTotal * thresholdPercent) / 100) - nonYarn;
  const floor = yarn + Math.max(BACKSTOP_MARGIN_BYTES, Math.ceil(yarn * BACKSTOP_MARGIN_FRACTION));
  const limit = Math.floor(Math.max(share, floor) / PAGE) * PAGE;
  return { limit, share, floor, nonYarn };
}

/** Pure: whether a limit moved far enough from the one in place to be rewritten. */
export function backstopMoved(current: number | undefined, next: number, memoryTotal: number): boolean {
  if (current === undefined) return true;
  return Math.abs(next - current) > Math.max(BACKSTOP_HYSTERESIS_BYTES, memoryTotal * BACKSTOP_HYSTERESIS_FRACTION);
}

export interface MemoryBackstopDeps {
  cgroups: NodeCgroups;
  logger: Logger;
  dryRun: boolean;
}

export class MemoryBackstop {
  private readonly once: OnceLog;
  /** What the limit was before the agent's first write, and what it wrote last. */
  private found: MemoryLimit | undefined;
  private lastSet: number | undefined;

  constructor(private readonly deps: MemoryBackstopDeps) {
    this.once = new OnceLog(deps.logger);
  }

  get limit(): number | undefined {
    return this.lastSet;
  }

  /** Follow the share (called by every tick). */
  apply(snapshot: Snapshot, thresholdPercent: number): void {
    const { cgroups, logger, dryRun } = this.deps;
    const plan = backstopPlan(snapshot, thresholdPercent);
    if (!plan) return;
    if (!backstopMoved(this.lastSet, plan.limit, snapshot.node.memoryTotal)) return;
    let w;
    try {
      w = setMemoryLimit(cgroups.yarnParent(), plan.limit, { dryRun });
    } catch (err) {
      this.once.report('write', 'error', { limit: plan.limit, err: (err as Error).message }, 'cannot set the YARN parent memory limit (backstop)');
      return;
    }
    this.once.clear('write', { fields: { limit: plan.limit }, message: 'YARN parent memory limit writable again' });
    if (!dryRun) {
      this.found ??= w.previous;
      this.lastSet = plan.limit;
    }
    logger.info({
      limit: plan.limit, file: w.file, previous: w.previous, applied: w.applied, dryRun,
      inputs: { memoryTotal: snapshot.node.memoryTotal, memoryUsed: snapshot.node.memoryUsed, yarnWorkingSet: snapshot.yarn.memoryUsed, thresholdPercent, share: plan.share, floor: plan.floor, nonYarn: plan.nonYarn },
    }, dryRun ? 'would set the YARN parent memory limit (backstop; dry-run: nothing written)' : 'YARN parent memory limit set (backstop)');
  }

  /** On stop: put back what was found, unless `keep` or the limit changed since the agent's last write. */
  onExit(keep: boolean): void {
    const { cgroups, logger } = this.deps;
    if (this.found === undefined || this.lastSet === undefined) return;
    restoreParentLimit({
      what: 'memory', found: this.found, lastSet: this.lastSet,
      read: readMemoryLimit,
      same: (current, lastSet) => current === lastSet,
      write: (dirs, found) => ({ file: setMemoryLimit(dirs, found).file }),
    }, keep, cgroups, logger);
  }
}
