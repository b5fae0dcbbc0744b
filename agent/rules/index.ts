/** The node agent's QoS rules: pure functions of a snapshot, a config and `now`. */
export * from './types.js';
export * from './config.js';
export { orderVictims, compareIdsNewestFirst, appKey } from './order.js';
export { memoryPressure, memoryEviction, type MemoryPressure } from './memory.js';
export { psiPressure, psiEviction, PSI_MIN_COOL_SECONDS, type PsiPressure } from './psi.js';
export { cpuSuppress, cpuSuppressPlan, CPU_LIMIT_HARD_MIN_MILLI, type CpuSuppressPlan } from './cpu-suppress.js';
export {
  cpuEviction, evaluateSatisfaction, windowSamples, minWindowSamples, LATEST_SAMPLES, type SatisfactionEval,
} from './cpu-evict.js';
export {
  killContainersByResource, type KillPlan, type ResourceRequest, type ReleasedResources,
} from './kill-by-resource.js';
export { initialRulesState, cpuSampleOf, pushCpuSample, recordEvictions, recordCpuLimit } from './state.js';
export { evictionBudget, evictionsInLastMinute, type RuleContext, type RuleResult } from './common.js';
export { decide, ALL_RULES, type DecideOptions } from './decide.js';
export type { Rule, RuleInput, RuleOutcome } from './rule.js';
export { RULES } from './registry.js';
