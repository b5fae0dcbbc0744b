/** Pure updates of the state the agent loop carries between calls. */
import { milliCores } from '../../kube/quantity.js';
import { MINUTE_MS } from './common.js';
import type { RulesConfig } from './config.js';
import type { AgentRulesState, CpuLimitDecision, CpuSample, Eviction, Snapshot } from './types.js';

export function initialRulesState(): AgentRulesState {
  return { recentEvictions: [], cpuSatisfactionWindow: [], currentCpuLimit: null };
}

/**
 * This tick's CPU-satisfaction sample: YARN usage, the limit in force (the node capacity when
 * the YARN parent is unlimited or above it) and the requested vcores × 1000.
 */
export function cpuSampleOf(snapshot: Pick<Snapshot, 'node' | 'yarn'>, now: number): CpuSample {
  const cap = snapshot.node.cpuCapacity;
  const limit = snapshot.yarn.cpuLimit === null ? cap : Math.min(snapshot.yarn.cpuLimit, cap);
  return {
    at: now,
    usage: snapshot.yarn.cpuUsed,
    limit: milliCores(limit),
    requested: milliCores(snapshot.yarn.requestedVcores * 1000),
  };
}

/** Appends a sample (once per tick) and drops those that left the window. */
export function pushCpuSample(state: AgentRulesState, sample: CpuSample, config: Pick<RulesConfig, 'cpuEvictTimeWindowSeconds'>): AgentRulesState {
  const from = sample.at - config.cpuEvictTimeWindowSeconds * 1000;
  return { ...state, cpuSatisfactionWindow: [...state.cpuSatisfactionWindow.filter((s) => s.at > from), sample] };
}

/**
 * Records evictions the agent actually issued: every one counts toward the rate limit (emergency
 * ones too, they just are not limited by it) except escalations of an eviction already counted;
 * memory and PSI evictions start the memory cool-down, CPU ones the CPU cool-down. Timestamps
 * older than a minute are dropped.
 */
export function recordEvictions(state: AgentRulesState, issued: readonly Eviction[], now: number): AgentRulesState {
  const fresh = issued.filter((e) => !e.escalation);
  const next: AgentRulesState = {
    ...state,
    recentEvictions: [...state.recentEvictions.filter((t) => t > now - MINUTE_MS), ...fresh.map(() => now)],
  };
  if (issued.some((e) => e.reason === 'memory' || e.reason === 'psi')) next.lastMemoryEvictionAt = now;
  if (issued.some((e) => e.reason === 'cpu')) next.lastCpuEvictionAt = now;
  return next;
}

/** Records a CPU limit the agent wrote. */
export function recordCpuLimit(state: AgentRulesState, written: CpuLimitDecision): AgentRulesState {
  return { ...state, currentCpuLimit: written.milli };
}
