/**
 * The scheduler's decisions as pure functions of a node snapshot: what fits where, and which
 * containers an over-committed node gives up (reference §2.4, `SchedulerNode.getContainersToKill`,
 * `AbstractYarnScheduler.signalContainersIfOvercommitted`).
 */
import type { Res, SimContainer } from './types.js';

export function freeOf(total: Res, used: Res): Res {
  return { memoryMiB: total.memoryMiB - used.memoryMiB, vcores: total.vcores - used.vcores };
}

export function fits(ask: Res, free: Res): boolean {
  return ask.memoryMiB <= free.memoryMiB && ask.vcores <= free.vcores;
}

/** Over-committed: the scheduler's unallocated resource is negative in some dimension. */
export function isOvercommitted(total: Res, used: Res): boolean {
  const f = freeOf(total, used);
  return f.memoryMiB < 0 || f.vcores < 0;
}

/** Kill order: non-AM before AM, OPPORTUNISTIC before GUARANTEED, newest first. */
export function killOrder(a: SimContainer, b: SimContainer): number {
  if (a.isAM !== b.isAM) return a.isAM ? 1 : -1;
  if (a.executionType !== b.executionType) return a.executionType === 'OPPORTUNISTIC' ? -1 : 1;
  return b.allocationOrder - a.allocationOrder;
}

/**
 * The containers to kill so that `used` fits into `total` again: walk the kill order, adding each
 * victim's resource back, stop as soon as nothing is negative. May return everything (AMs
 * included) when even that is not enough, as the real loop does.
 */
export function victimsToFit(containers: Iterable<SimContainer>, total: Res, used: Res): SimContainer[] {
  const free = freeOf(total, used);
  if (free.memoryMiB >= 0 && free.vcores >= 0) return [];
  const ordered = [...containers].sort(killOrder);
  const victims: SimContainer[] = [];
  for (const c of ordered) {
    victims.push(c);
    free.memoryMiB += c.resource.memoryMiB;
    free.vcores += c.resource.vcores;
    if (free.memoryMiB >= 0 && free.vcores >= 0) break;
  }
  return victims;
}
