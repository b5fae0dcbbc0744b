/**
 * One decision per call, composed from the rules in this order, sharing the rate-limit budget
 * and never choosing the same container twice:
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
import { cpuEviction } from './cpu-evict.js';
import { cpuSuppress } from './cpu-suppress.js';
import { memoryEviction } from './memory.js';
import { psiEviction } from './psi.js';
import type { Decision, RuleName, Snapshot } from './types.js';

export interface DecideOptions {
  /** Rules to run (default: all). */
  rules?: readonly RuleName[];
}

export const ALL_RULES: readonly RuleName[] = ['memory', 'psi', 'cpu-suppress', 'cpu-evict'];

export function decide(snapshot: Snapshot, config: RulesConfig, now: number, options: DecideOptions = {}): Decision {
  const run = new Set(options.rules ?? ALL_RULES);
  const decision: Decision = { evictions: [], held: [] };
  const chosen = new Set<string>();
  const ctx: RuleContext = { ...freshContext(snapshot.state, config, now), chosen };
  const absorb = (r: { evictions: Decision['evictions']; held: Decision['held'] }) => {
    for (const e of r.evictions) {
      decision.evictions.push(e);
      chosen.add(e.containerId);
      if (e.mode === 'graceful') ctx.budget = Math.max(0, ctx.budget - 1);
    }
    decision.held.push(...r.held);
  };
  let memoryActing = false;
  if (run.has('memory')) {
    const r = memoryEviction(snapshot, config, now, ctx);
    memoryActing = r.evictions.length > 0;
    absorb(r);
  }
  if (run.has('psi')) absorb(psiEviction(snapshot, config, now, ctx, memoryActing));
  if (run.has('cpu-suppress')) {
    const limit = cpuSuppress(snapshot, config);
    if (limit) decision.cpuLimit = limit;
  }
  if (run.has('cpu-evict')) absorb(cpuEviction(snapshot, config, now, ctx));
  return decision;
}
