/**
 * CPU suppression (koordlet `cpusuppress`, cfsQuota policy, reference/koordinator.md §5.3,
 * applied to the YARN parent cgroup instead of the besteffort root).
 *
 *   nonYarn = max(0, node.cpuUsed − yarn.cpuUsed)
 *   target  = capacity × cpuSuppressThresholdPercent / 100 − nonYarn      (rounded down)
 *             raised to capacity × cpuSuppressMinPercent / 100 when set,
 *             never below CPU_LIMIT_HARD_MIN_MILLI (or the capacity, if smaller),
 *             never above the capacity.
 *   current = observed yarn.cpuLimit (null = unlimited, counted as the capacity; above it, capped)
 *   next    = target when target ≤ current (decreases apply at once),
 *             else min(target, max(current + capacity × cpuSuppressMaxStepPercent / 100, minimum))
 *             (a current limit below the floor / hard minimum jumps straight to it)
 *   nothing is written when |next − current| < 1 % of capacity (koordlet's skip), which also
 *   keeps an unlimited cgroup unlimited while the target sits at the capacity.
 *
 * Hard minimum: 1000 milli (one core). koordlet's cfsQuota floor is 20 milli (2000 µs per
 * 100 ms) and its cpuset policy's is 2 CPUs. A YARN parent throttled to a few milli-cores stalls
 * every container, AMs' heartbeats included, so tasks time out and rerun: the node gains nothing
 * it would not gain by evicting. One core keeps YARN alive; CPU eviction is the tool for the rest.
 */
import { milliCores, type MilliCores } from '../../kube/quantity.js';
import type { RulesConfig } from './config.js';
import type { Rule } from './rule.js';
import type { CpuLimitDecision, Snapshot } from './types.js';

export const CPU_LIMIT_HARD_MIN_MILLI = 1000;

export interface CpuSuppressPlan {
  nonYarn: MilliCores;
  target: MilliCores;
  current: MilliCores;
  next: MilliCores;
  /** Absent when nothing should be written. */
  write?: CpuLimitDecision;
}

export function cpuSuppressPlan(snapshot: Pick<Snapshot, 'node' | 'yarn'>, config: RulesConfig): CpuSuppressPlan | undefined {
  const cap = snapshot.node.cpuCapacity;
  if (!(cap > 0)) return undefined;
  const nonYarn = Math.max(0, snapshot.node.cpuUsed - snapshot.yarn.cpuUsed);
  let target = Math.floor((cap * config.cpuSuppressThresholdPercent) / 100 - nonYarn);
  const notes: string[] = [];
  const hardMin = Math.min(cap, CPU_LIMIT_HARD_MIN_MILLI);
  const floor = config.cpuSuppressMinPercent === undefined ? 0 : Math.min(cap, Math.ceil((cap * config.cpuSuppressMinPercent) / 100));
  if (target < floor && floor > hardMin) { target = floor; notes.push(`floor ${config.cpuSuppressMinPercent}%`); }
  if (target < hardMin) { target = hardMin; notes.push(`hard minimum ${hardMin}m`); }
  if (target > cap) target = cap;
  const minimum = Math.max(floor, hardMin);

  const observed = snapshot.yarn.cpuLimit;
  const current = observed === null ? cap : Math.min(observed, cap);
  let next = target;
  if (target > current) {
    // A limit below the minimum (set by someone else, or a reset cgroup) jumps to the minimum.
    const step = Math.floor((cap * config.cpuSuppressMaxStepPercent) / 100);
    const bounded = Math.max(current + step, minimum);
    if (target > bounded) { next = bounded; notes.push(`step bound +${step}m`); }
  }
  const plan: CpuSuppressPlan = {
    nonYarn: milliCores(nonYarn), target: milliCores(target), current: milliCores(current), next: milliCores(next),
  };
  if (Math.abs(next - current) * 100 < cap) return plan; // |Δ| < 1 % of capacity
  const reason =
    `${config.cpuSuppressThresholdPercent}% of ${cap}m − non-YARN ${nonYarn}m = target ${target}m` +
    (notes.length ? ` (${notes.join(', ')})` : '') +
    `; ${observed === null ? 'unlimited' : `${observed}m`} → ${next}m`;
  plan.write = { milli: milliCores(next), reason };
  return plan;
}

/** The limit to write on the YARN parent cgroup, or undefined when nothing should be written. */
export function cpuSuppress(snapshot: Pick<Snapshot, 'node' | 'yarn'>, config: RulesConfig): CpuLimitDecision | undefined {
  return cpuSuppressPlan(snapshot, config)?.write;
}

/** CPU suppression as a registered rule: always on; decides the YARN parent's CPU limit. */
export const cpuSuppressRule: Rule<'cpu-suppress'> = {
  name: 'cpu-suppress',
  enabled: () => true,
  decide: ({ snapshot, config }) => {
    const limit = cpuSuppress(snapshot, config);
    return limit ? { cpuLimit: limit } : {};
  },
};
