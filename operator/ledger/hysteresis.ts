/**
 * Hysteresis and grow interval, per resource. Shrinks apply at once; a growth applies only when
 * its step is at least max(absolute threshold, percent × current) and the node's last growth is
 * at least `growIntervalMs` old. A held growth keeps the current value for that resource only:
 * the other resource may still move (shrink, or grow when it passes).
 *
 * One exemption (a decision): when the capacity in force is below what YARN already uses (left
 * there by an earlier shrink) and the desired capacity is not, the capacity is lifted at once to
 * YARN's used amount — holding it down would keep YARN over-committed (and, with
 * overCommitTimeoutMs ≥ 0, kill containers) for units that are free again. Only the part above
 * YARN's used amount waits for hysteresis and the interval; the lift does not count as a growth
 * for the interval. This is what makes "capacity ≥ U whenever F ≥ 0" hold for the applied
 * capacity, not just the desired one.
 */
import type { YarnResource } from '../../yarn/resource.js';
import { type Axis, type ResourceName, RESOURCES, makeYarn, yarnOf } from './math.js';
import type { LedgerConfig, LedgerReason } from './types.js';

export interface GateResult {
  applied: YarnResource;
  /** At least one resource grew (the caller records `lastGrowAt = now`). */
  grew: boolean;
  reasons: LedgerReason[];
}

/** The smallest growth step (YARN units, real) worth a resize from `cur`. */
export function growthThreshold(axis: Axis, cur: number, percent: number): number {
  return Math.max(axis.hysteresisAbs, (Math.max(0, percent) / 100) * Math.max(0, cur));
}

export function gateGrowth(
  axes: Record<ResourceName, Axis>,
  cur: YarnResource,
  desired: YarnResource,
  config: Pick<LedgerConfig, 'hysteresis' | 'growIntervalMs'>,
  now: number,
  lastGrowAt: number | undefined,
  used: YarnResource = makeYarn(0, 0),
): GateResult {
  const intervalOk = lastGrowAt === undefined || now - lastGrowAt >= config.growIntervalMs;
  const reasons: LedgerReason[] = [];
  const out: Record<ResourceName, number> = { cpu: 0, memory: 0 };
  let grew = false;
  for (const name of RESOURCES) {
    const axis = axes[name];
    const c = yarnOf(cur, name);
    const d = yarnOf(desired, name);
    if (d < c) {
      out[name] = d;
      reasons.push({ code: 'shrink', resource: name, detail: `${c} → ${d}` });
    } else if (d === c) {
      out[name] = c;
    } else {
      const step = d - c;
      const threshold = growthThreshold(axis, c, config.hysteresis.percent);
      // What a held growth still gets: YARN's used amount, when the desired value allows it.
      const lifted = Math.max(c, Math.min(d, yarnOf(used, name)));
      const held = (code: 'grow-held-by-hysteresis' | 'grow-held-by-interval', detail: string): void => {
        out[name] = lifted;
        if (lifted > c) reasons.push({ code: 'grow-to-used', resource: name, detail: `${c} → ${lifted}` });
        if (lifted < d) reasons.push({ code, resource: name, detail });
      };
      if (step < threshold) {
        held('grow-held-by-hysteresis', `step ${step} < ${threshold}`);
      } else if (!intervalOk) {
        held('grow-held-by-interval', `last growth ${now - (lastGrowAt ?? now)} ms ago`);
      } else {
        out[name] = d;
        grew = true;
        reasons.push({ code: 'grow', resource: name, detail: `${c} → ${d}` });
      }
    }
  }
  return { applied: makeYarn(out.cpu, out.memory), grew, reasons };
}
