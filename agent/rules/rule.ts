/**
 * What every QoS rule is, as koordlet's framework has it: a name, whether the configuration turns
 * it on, and a pure decision over the snapshot. A rule is one file exporting one `Rule`, and one
 * line in registry.ts; `decide` runs the registered rules in order.
 */
import type { RuleContext } from './common.js';
import type { RulesConfig } from './config.js';
import type { CpuLimitDecision, Eviction, Held, Snapshot } from './types.js';

export interface RuleInput {
  snapshot: Snapshot;
  config: RulesConfig;
  /** Rule time (ms), the clock of every timestamp in the snapshot and state. */
  now: number;
  /** Budget left and containers already chosen in this decision. */
  ctx: RuleContext;
  /** Evictions earlier rules decided in this decision (PSI holds while memory acts). */
  decided: readonly Eviction[];
}

export interface RuleOutcome {
  evictions?: Eviction[];
  held?: Held[];
  /** The YARN parent's CPU limit to write (CPU suppression). */
  cpuLimit?: CpuLimitDecision;
}

export interface Rule<Name extends string = string> {
  readonly name: Name;
  /** Whether the configuration turns the rule on at all (an off rule is never asked). */
  enabled(config: RulesConfig): boolean;
  decide(input: RuleInput): RuleOutcome;
}
