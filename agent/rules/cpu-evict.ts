/**
 * CPU eviction (koordlet `BECPUEvict`, satisfaction based, reference/koordinator.md §5.5), with
 * YARN's own numbers: usage of the YARN parent cgroup, limit = the quota in force (the capacity
 * when unlimited), requested = Σ allocated vcores × 1000.
 *
 *   samples  = state.cpuSatisfactionWindow with at ∈ (now − window, now]
 *              need ≥ ceil(window / 3) of them (one sample per 1 s tick)
 *   usageOK  = avgLimit < 1000  OR  avgUsage / avgLimit ≥ cpuEvictBEUsageThresholdPercent / 100
 *   sat      = avgLimit / avgRequested
 *   release  = sat ≤ lower% AND usageOK ? avgRequested × (upper% − sat) : 0
 *   recheck  : the same on the latest LATEST_SAMPLES samples; release = min(both), rounded up.
 * Graceful evictions in flight and victims already chosen in this decision (memory, PSI) credit
 * their allocated CPU first. Victims credit their allocated vcores × 1000, like koordlet credits
 * requests. Cool-down `cpuEvictCoolTimeSeconds` (20 s). Off while the lower bound is unset.
 */
import { bytes, milliCores } from '../../kube/quantity.js';
import {
  type RuleContext, type RuleResult,
  allocatedCpu, amsAllowed, candidates, coolDownLeft, pct, protectedAMs, takeUntil,
} from './common.js';
import type { RulesConfig } from './config.js';
import { orderVictims } from './order.js';
import type { Rule } from './rule.js';
import type { CpuSample, Held, Snapshot } from './types.js';

export const LATEST_SAMPLES = 2;

export interface SatisfactionEval {
  samples: number;
  avgUsage: number;
  avgLimit: number;
  avgRequested: number;
  /** limit / requested (a fraction; Infinity when nothing is requested). */
  satisfaction: number;
  busy: boolean;
  /** Milli-cores to release by this evaluation alone (0 when none). */
  release: number;
}

export function evaluateSatisfaction(samples: readonly CpuSample[], config: RulesConfig): SatisfactionEval {
  const n = samples.length;
  const avg = (f: (s: CpuSample) => number) => (n === 0 ? 0 : samples.reduce((a, s) => a + f(s), 0) / n);
  const avgUsage = avg((s) => s.usage);
  const avgLimit = avg((s) => s.limit);
  const avgRequested = avg((s) => s.requested);
  const satisfaction = avgRequested > 0 ? avgLimit / avgRequested : Infinity;
  const busy = avgLimit < 1000 || avgUsage * 100 >= avgLimit * config.cpuEvictBEUsageThresholdPercent;
  const lower = config.cpuEvictBESatisfactionLowerPercent;
  const upper = config.cpuEvictBESatisfactionUpperPercent ?? lower;
  let release = 0;
  if (n > 0 && lower !== undefined && upper !== undefined && satisfaction <= lower / 100 && busy) {
    release = Math.max(0, avgRequested * (upper / 100 - satisfaction));
  }
  return { samples: n, avgUsage, avgLimit, avgRequested, satisfaction, busy, release };
}

/** The samples inside the window ending at `now`, oldest first. */
export function windowSamples(state: Snapshot['state'], config: RulesConfig, now: number): CpuSample[] {
  const from = now - config.cpuEvictTimeWindowSeconds * 1000;
  return state.cpuSatisfactionWindow.filter((s) => s.at > from && s.at <= now).sort((a, b) => a.at - b.at);
}

export const minWindowSamples = (config: RulesConfig): number => Math.ceil(config.cpuEvictTimeWindowSeconds / 3);

export function cpuEviction(snapshot: Snapshot, config: RulesConfig, now: number, ctx: RuleContext): RuleResult {
  const lower = config.cpuEvictBESatisfactionLowerPercent;
  if (lower === undefined) return { evictions: [], held: [] };
  const held: Held[] = [];
  const hold = (reason: Held['reason'], message: string) => {
    held.push({ rule: 'cpu-evict', reason, message });
    return { evictions: [], held };
  };
  const samples = windowSamples(snapshot.state, config, now);
  const latest = evaluateSatisfaction(samples.slice(-LATEST_SAMPLES), config);
  const need = minWindowSamples(config);
  if (samples.length < need) {
    if (latest.release > 0) return hold('window-not-filled', `${samples.length}/${need} samples in the ${config.cpuEvictTimeWindowSeconds}s window`);
    return { evictions: [], held };
  }
  const avg = evaluateSatisfaction(samples, config);
  const sat = `satisfaction ${pct(avg.satisfaction * 100)}% ≤ ${lower}%`;
  if (avg.satisfaction > lower / 100) return { evictions: [], held };
  if (!avg.busy) return hold('not-busy', `${sat} but YARN uses ${Math.round(avg.avgUsage)}m of ${Math.round(avg.avgLimit)}m (< ${config.cpuEvictBEUsageThresholdPercent}%)`);
  const release = Math.ceil(Math.min(avg.release, latest.release));
  if (release <= 0) return hold('not-busy', `${sat} over the window, not in the latest samples`);
  const left = coolDownLeft(snapshot.state.lastCpuEvictionAt, config.cpuEvictCoolTimeSeconds, now);
  if (left > 0) return hold('cooldown', `${sat}, release ${release}m; cooling down ${left} ms more`);

  let credited = 0;
  for (const c of snapshot.containers) if (c.evicting || ctx.chosen.has(c.id)) credited += allocatedCpu(c);
  const needed = release - credited;
  if (needed <= 0) return hold('covered', `release ${release}m covered by ${credited}m of evictions already under way`);
  if (ctx.budget <= 0) return hold('rate-limit', `maxEvictionsPerMinute=${config.maxEvictionsPerMinute} reached`);

  const allowAMs = amsAllowed(config, false);
  const pool = candidates(snapshot.containers, ctx, allowAMs);
  const take = takeUntil(orderVictims(pool, config), needed, allocatedCpu);
  let chosen = take.chosen;
  if (take.credited < needed) {
    const ams = allowAMs ? 0 : protectedAMs(snapshot.containers, ctx);
    if (ams > 0) hold('application-masters-protected', `release ${needed}m not reachable without ${ams} ApplicationMaster(s)`);
    hold(pool.length === 0 && ams === 0 ? 'no-candidates' : 'insufficient-candidates', `release ${needed}m, only ${take.credited}m allocated to evictable containers`);
  }
  if (chosen.length > ctx.budget) {
    hold('rate-limit', `${chosen.length} victim(s) needed, ${ctx.budget} allowed by maxEvictionsPerMinute=${config.maxEvictionsPerMinute}`);
    chosen = chosen.slice(0, ctx.budget);
  }
  let sum = credited;
  const evictions = chosen.map((c) => {
    sum += allocatedCpu(c);
    return {
      containerId: c.id,
      reason: 'cpu' as const,
      mode: 'graceful' as const,
      gracePeriodSeconds: config.gracePeriodSeconds,
      credit: { memory: bytes(c.memoryWorkingSet), cpu: milliCores(allocatedCpu(c)) },
      escalation: false,
      inputs: {
        satisfactionPercent: pct(avg.satisfaction * 100),
        lowerPercent: lower,
        upperPercent: config.cpuEvictBESatisfactionUpperPercent ?? null,
        avgUsage: Math.round(avg.avgUsage),
        avgLimit: Math.round(avg.avgLimit),
        avgRequested: Math.round(avg.avgRequested),
        samples: avg.samples,
        release,
        credited: sum,
      },
    };
  });
  return { evictions, held };
}

/** CPU eviction as a registered rule: on when `cpuEvictBESatisfactionLowerPercent` is set. */
export const cpuEvictRule: Rule<'cpu-evict'> = {
  name: 'cpu-evict',
  enabled: (config) => config.cpuEvictBESatisfactionLowerPercent !== undefined,
  decide: ({ snapshot, config, now, ctx }) => cpuEviction(snapshot, config, now, ctx),
};
