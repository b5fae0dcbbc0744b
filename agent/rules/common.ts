/** Helpers shared by the rules: candidate filtering, prefix selection, cool-downs, rate limit. */
import { bytes, milliCores, type Bytes, type MilliCores } from '../../kube/quantity.js';
import type { RulesConfig } from './config.js';
import type { AgentRulesState, ContainerSnapshot, Held, Eviction } from './types.js';

export const MINUTE_MS = 60_000;
export const MIB: number = 2 ** 20;

/** What a rule may still do this call, threaded through `decide` from rule to rule. */
export interface RuleContext {
  /** Non-emergency evictions still allowed by `maxEvictionsPerMinute`. */
  budget: number;
  /** Containers already chosen by an earlier rule in the same decision. */
  chosen: ReadonlySet<string>;
}

export interface RuleResult {
  evictions: Eviction[];
  held: Held[];
}

/** Evictions issued in the last minute (`(now − 60 s, now]`). */
export function evictionsInLastMinute(state: AgentRulesState, now: number): number {
  return state.recentEvictions.filter((t) => t > now - MINUTE_MS && t <= now).length;
}

/** How many more non-emergency evictions the per-minute rate limit allows now. */
export function evictionBudget(state: AgentRulesState, config: Pick<RulesConfig, 'maxEvictionsPerMinute'>, now: number): number {
  return Math.max(0, config.maxEvictionsPerMinute - evictionsInLastMinute(state, now));
}

export function freshContext(state: AgentRulesState, config: RulesConfig, now: number): RuleContext {
  return { budget: evictionBudget(state, config, now), chosen: new Set() };
}

/** Remaining cool-down in ms (0 when none). */
export function coolDownLeft(last: number | undefined, coolSeconds: number, now: number): number {
  if (last === undefined) return 0;
  return Math.max(0, last + coolSeconds * 1000 - now);
}

/** Whether a rule may choose AMs (they are always last in the order). */
export function amsAllowed(config: Pick<RulesConfig, 'protectApplicationMasters'>, emergency: boolean): boolean {
  const p = config.protectApplicationMasters;
  return p === 'never' || (p === 'except-emergency' && emergency);
}

/** Live containers a rule may pick: not already being evicted, not already chosen, AMs if allowed. */
export function candidates(containers: readonly ContainerSnapshot[], ctx: RuleContext, allowAMs: boolean): ContainerSnapshot[] {
  return containers.filter((c) => !c.evicting && !ctx.chosen.has(c.id) && (allowAMs || !c.isAM));
}

/** AMs a rule left out because of `protectApplicationMasters`. */
export function protectedAMs(containers: readonly ContainerSnapshot[], ctx: RuleContext): number {
  return containers.filter((c) => c.isAM && !c.evicting && !ctx.chosen.has(c.id)).length;
}

/**
 * The shortest prefix of `ordered` whose credit reaches `needed`, skipping containers that credit
 * nothing (killing them releases nothing the rule counts). Takes everything when it cannot reach it.
 */
export function takeUntil(
  ordered: readonly ContainerSnapshot[],
  needed: number,
  creditOf: (c: ContainerSnapshot) => number,
): { chosen: ContainerSnapshot[]; credited: number } {
  const chosen: ContainerSnapshot[] = [];
  let credited = 0;
  for (const c of ordered) {
    if (credited >= needed) break;
    const k = creditOf(c);
    if (!(k > 0)) continue;
    chosen.push(c);
    credited += k;
  }
  return { chosen, credited };
}

export const allocatedCpu = (c: ContainerSnapshot): MilliCores => milliCores(c.allocated.vcores * 1000);
export const allocatedMemory = (c: ContainerSnapshot): Bytes => bytes(c.allocated.memoryMiB * MIB);

export const pct = (n: number): number => Math.round(n * 100) / 100;
