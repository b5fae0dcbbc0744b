/**
 * One decision per call, composed from the registered rules (registry.ts) in their order, sharing
 * the rate-limit budget and never choosing the same container twice (a rule its configuration
 * turns off is skipped):
 *   1. memory eviction (may be emergency: immediate, no cool-down, no rate limit)
 *   2. PSI pressure (held while memory acts)
 *   3. CPU suppression (the YARN parent's limit)
 *   4. CPU eviction (victims chosen above credit their allocated CPU first)
 *
 * The 1 s tick calls `decide(snapshot, config, now)`; the 100 ms fast memory watch calls
 * `decide(snapshot, config, now, { rules: ['memory'] })` (or `['memory', 'psi']`) so the CPU
 * rules only run on full samples. The caller pushes the tick's CPU sample (`pushCpuSample`)
 * before deciding, and records what it executed (`recordEvictions`, `recordCpuLimit`).
 */
import { freshContext, type RuleContext } from './common.js';
import type { RulesConfig } from './config.js';
import { RULES } from './registry.js';
import type { Decision, Eviction, RuleName, Snapshot } from './types.js';

export interface DecideOptions {
  /** Rules to run (default: all). */
  rules?: readonly RuleName[];
}

export const ALL_RULES: readonly RuleName[] = RULES.map((r) => r.name);

export function decide(snapshot: Snapshot, config: RulesConfig, now: number, options: DecideOptions = {}): Decision {
  const run = new Set(options.rules ?? ALL_RULES);
  const decision: Decision = { evictions: [], held: [] };
  const chosen = new Set<string>();
  const ctx: RuleContext = { ...freshContext(snapshot.state, config, now), chosen };
  const decided: Eviction[] = [];
  for (const rule of RULES) {
    if (!run.has(rule.name) || !rule.enabled(config)) continue;
    const r = rule.decide({ snapshot, config, now, ctx, decided });
    for (const e of r.evictions ?? []) {
      decision.evictions.push(e);
      decided.push(e);
      chosen.add(e.containerId);
      if (e.mode === 'graceful') ctx.budget = Math.max(0, ctx.budget - 1);
    }
    decision.held.push(...(r.held ?? []));
    if (r.cpuLimit) decision.cpuLimit = r.cpuLimit;
  }
  return decision;
}
