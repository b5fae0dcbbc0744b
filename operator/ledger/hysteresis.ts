/**
 * Hysteresis and grow interval, per resource. Shrinks apply at once; a growth applies only when
 * its step is at least max(absolute threshold, percent × current) and the node's last growth is
 * at least `growIntervalMs` old. A held growth keeps the current value for that resource only:
 * the other resource may still move (shrink, or grow when it passes).
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
      if (step < threshold) {
        out[name] = c;
        reasons.push({ code: 'grow-held-by-hysteresis', resource: name, detail: `step ${step} < ${threshold}` });
      } else if (!intervalOk) {
        out[name] = c;
        reasons.push({ code: 'grow-held-by-interval', resource: name, detail: `last growth ${now - (lastGrowAt ?? now)} ms ago` });
      } else {
        out[name] = d;
        grew = true;
        reasons.push({ code: 'grow', resource: name, detail: `${c} → ${d}` });
      }
    }
  }
  return { applied: makeYarn(out.cpu, out.memory), grew, reasons };
}
