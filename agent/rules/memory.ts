/**
 * Memory eviction (koordlet `BEMemoryEvict`, reference/koordinator.md §5.4, adapted to YARN).
 *
 * usage%  = memoryUsed × 100 / memoryTotal. Loom keeps the exact fraction where koordlet
 *           truncates to an integer: 70.9 % triggers at threshold 70 either way, but 69.99 % does
 *           not, and the release below is exact instead of rounded down by up to 1 % of the node.
 * trigger : usage% ≥ memoryEvictThresholdPercent
 * release = memoryUsed − memoryTotal × lower% / 100   (= total × (usage% − lower%) / 100), rounded up
 *
 * Victims in the victim order (never a container already being evicted; AMs last and only when
 * `protectApplicationMasters` allows) until the credited working sets reach the release, then
 * stop. Victims with a zero working set are skipped: killing them releases nothing.
 * Graceful evictions already in flight count as released (their working set is about to go).
 *
 * Normal level: graceful; no new eviction within `memoryEvictCoolTimeSeconds` of the last
 * memory/PSI eviction; at most the per-minute rate-limit budget (the plan is cut short and the
 * rest waits for the next tick).
 * Emergency level (usage% ≥ memoryEmergencyPercent): immediate, ignores the cool-down and the
 * rate limit, and re-issues every in-flight graceful eviction as immediate (escalation) before
 * choosing new victims for whatever they do not cover.
 */
import { bytes, milliCores } from '../../kube/quantity.js';
import {
  type RuleContext, type RuleResult,
  amsAllowed, candidates, coolDownLeft, pct, protectedAMs, takeUntil,
} from './common.js';
import type { RulesConfig } from './config.js';
import { orderVictims } from './order.js';
import type { Rule } from './rule.js';
import type { ContainerSnapshot, DecisionInputs, Eviction, Held, Snapshot } from './types.js';

export interface MemoryPressure {
  usagePercent: number;
  triggered: boolean;
  emergency: boolean;
  /** Bytes to release to get down to the lower percent (0 when not triggered). */
  release: number;
}

export function memoryPressure(snapshot: Pick<Snapshot, 'node'>, config: RulesConfig): MemoryPressure {
  const { memoryTotal: total, memoryUsed: used } = snapshot.node;
  if (!(total > 0)) return { usagePercent: 0, triggered: false, emergency: false, release: 0 };
  const usagePercent = (used * 100) / total;
  // Compare in integers-times-100 to avoid float error right at the boundary.
  const triggered = used * 100 >= total * config.memoryEvictThresholdPercent;
  const emergency = used * 100 >= total * config.memoryEmergencyPercent;
  const release = triggered ? Math.max(0, Math.ceil(used - (total * config.memoryEvictLowerPercent) / 100)) : 0;
  return { usagePercent, triggered, emergency, release };
}

export function memoryEviction(snapshot: Snapshot, config: RulesConfig, now: number, ctx: RuleContext): RuleResult {
  const p = memoryPressure(snapshot, config);
  if (!p.triggered) return { evictions: [], held: [] };
  const held: Held[] = [];
  const hold = (reason: Held['reason'], message: string) => held.push({ rule: 'memory', reason, message });
  const base: DecisionInputs = {
    memoryUsed: snapshot.node.memoryUsed,
    memoryTotal: snapshot.node.memoryTotal,
    usagePercent: pct(p.usagePercent),
    thresholdPercent: config.memoryEvictThresholdPercent,
    lowerPercent: config.memoryEvictLowerPercent,
    emergencyPercent: config.memoryEmergencyPercent,
    emergency: p.emergency,
    release: p.release,
  };
  const inFlight = snapshot.containers.filter((c) => c.evicting && !ctx.chosen.has(c.id));
  const inFlightBytes = inFlight.reduce((s, c) => s + c.memoryWorkingSet, 0);
  const mode = p.emergency ? 'immediate' : 'graceful';
  const grace = p.emergency ? 0 : config.gracePeriodSeconds;
  const make = (c: ContainerSnapshot, credited: number, escalation: boolean): Eviction => ({
    containerId: c.id,
    reason: 'memory',
    mode,
    gracePeriodSeconds: grace,
    credit: { memory: bytes(c.memoryWorkingSet), cpu: milliCores(c.cpuUsed) },
    escalation,
    inputs: { ...base, workingSet: c.memoryWorkingSet, credited },
  });

  const evictions: Eviction[] = [];
  let credited = 0;
  if (p.emergency) {
    for (const c of inFlight) {
      credited += c.memoryWorkingSet;
      evictions.push(make(c, credited, true));
    }
  } else {
    const left = coolDownLeft(snapshot.state.lastMemoryEvictionAt, config.memoryEvictCoolTimeSeconds, now);
    if (left > 0) {
      hold('cooldown', `memory at ${pct(p.usagePercent)}% ≥ ${config.memoryEvictThresholdPercent}%, cooling down ${left} ms more`);
      return { evictions, held };
    }
    credited = inFlightBytes;
  }
  const needed = p.release - credited;
  if (needed <= 0) {
    if (!p.emergency) hold('covered', `release ${p.release} B covered by ${inFlight.length} eviction(s) in flight`);
    return { evictions, held };
  }

  const allowAMs = amsAllowed(config, p.emergency);
  const pool = candidates(snapshot.containers, ctx, allowAMs);
  const ordered = snapshot.inVictimOrder ? pool : orderVictims(pool, config);
  let { chosen, credited: got } = takeUntil(ordered, needed, (c) => c.memoryWorkingSet);
  const covered = got >= needed;
  if (!p.emergency && chosen.length > ctx.budget) {
    hold('rate-limit', `${chosen.length} victim(s) needed, ${ctx.budget} allowed by maxEvictionsPerMinute=${config.maxEvictionsPerMinute}`);
    chosen = chosen.slice(0, ctx.budget);
  }
  if (!covered) {
    const ams = allowAMs ? 0 : protectedAMs(snapshot.containers, ctx);
    if (ams > 0) hold('application-masters-protected', `release ${needed} B not reachable without ${ams} ApplicationMaster(s)`);
    if (pool.length === 0 && ams === 0) hold('no-candidates', `memory at ${pct(p.usagePercent)}%: no YARN container to evict`);
    else hold('insufficient-candidates', `release ${needed} B, only ${got} B of evictable working set`);
  }
  let sum = credited;
  for (const c of chosen) {
    sum += c.memoryWorkingSet;
    evictions.push(make(c, sum, false));
  }
  return { evictions, held };
}

/** Memory eviction as a registered rule: always on. */
export const memoryRule: Rule<'memory'> = {
  name: 'memory',
  enabled: () => true,
  decide: ({ snapshot, config, now, ctx }) => memoryEviction(snapshot, config, now, ctx),
};
