/**
 * PSI pressure (optional, `psiEvictThreshold`): memory `full avg10` of the YARN parent cgroup or
 * of the node ≥ threshold → evict one victim, gracefully, in `psiVictimOrder` (default largest
 * working set first, then newest), AMs last and only if `protectApplicationMasters` is `never`.
 *
 * Cool-down: the memory cool-down (shared with memory eviction), but never shorter than 10 s,
 * because `avg10` needs about that long to show the relief; a shorter pause would evict again on
 * stale pressure. Held while the memory rule evicts in the same decision or a graceful eviction
 * is still in flight, for the same reason. Subject to the per-minute rate limit.
 */
import { bytes, milliCores } from '../../kube/quantity.js';
import { type RuleContext, type RuleResult, amsAllowed, candidates, coolDownLeft, protectedAMs } from './common.js';
import type { RulesConfig } from './config.js';
import { orderVictims } from './order.js';
import type { Rule } from './rule.js';
import type { Held, Snapshot } from './types.js';

/** Minimum pause between PSI-driven evictions: the span `avg10` averages over. */
export const PSI_MIN_COOL_SECONDS = 10;

export interface PsiPressure {
  source: 'yarn' | 'node';
  fullAvg10: number;
}

/** The pressure that crosses the threshold (YARN parent preferred), or undefined. */
export function psiPressure(snapshot: Pick<Snapshot, 'node' | 'yarn'>, config: RulesConfig): PsiPressure | undefined {
  const t = config.psiEvictThreshold;
  if (t === undefined) return undefined;
  const yarn = snapshot.yarn.psi?.memory?.full;
  const node = snapshot.node.psi?.memory?.full;
  if (yarn !== undefined && yarn >= t) return { source: 'yarn', fullAvg10: yarn };
  if (node !== undefined && node >= t) return { source: 'node', fullAvg10: node };
  return undefined;
}

export function psiEviction(
  snapshot: Snapshot,
  config: RulesConfig,
  now: number,
  ctx: RuleContext,
  memoryActing = false,
): RuleResult {
  const p = psiPressure(snapshot, config);
  if (!p) return { evictions: [], held: [] };
  const held: Held[] = [];
  const what = `memory full avg10 of ${p.source} ${p.fullAvg10}% ≥ ${config.psiEvictThreshold}%`;
  const hold = (reason: Held['reason'], message: string) => {
    held.push({ rule: 'psi', reason, message: `${what}: ${message}` });
    return { evictions: [], held };
  };
  const inFlight = snapshot.containers.some((c) => c.evicting);
  if (memoryActing || inFlight) return hold('covered', 'an eviction is already releasing memory');
  const cool = Math.max(config.memoryEvictCoolTimeSeconds, PSI_MIN_COOL_SECONDS);
  const left = coolDownLeft(snapshot.state.lastMemoryEvictionAt, cool, now);
  if (left > 0) return hold('cooldown', `cooling down ${left} ms more`);
  if (ctx.budget <= 0) return hold('rate-limit', `maxEvictionsPerMinute=${config.maxEvictionsPerMinute} reached`);
  const allowAMs = amsAllowed(config, false);
  const pool = candidates(snapshot.containers, ctx, allowAMs);
  const ordered = orderVictims(pool, { victimOrder: config.psiVictimOrder });
  const victim = ordered.find((c) => c.memoryWorkingSet > 0) ?? ordered[0];
  if (!victim) {
    const ams = allowAMs ? 0 : protectedAMs(snapshot.containers, ctx);
    return ams > 0
      ? hold('application-masters-protected', `only ${ams} ApplicationMaster(s) left`)
      : hold('no-candidates', 'no YARN container to evict');
  }
  return {
    evictions: [{
      containerId: victim.id,
      reason: 'psi',
      mode: 'graceful',
      gracePeriodSeconds: config.gracePeriodSeconds,
      credit: { memory: bytes(victim.memoryWorkingSet), cpu: milliCores(victim.cpuUsed) },
      escalation: false,
      inputs: {
        psiSource: p.source,
        memoryFullAvg10: p.fullAvg10,
        psiEvictThreshold: config.psiEvictThreshold ?? null,
        workingSet: victim.memoryWorkingSet,
      },
    }],
    held,
  };
}

/** PSI pressure as a registered rule: on when `psiEvictThreshold` is set; holds while memory evicts in the same decision. */
export const psiRule: Rule<'psi'> = {
  name: 'psi',
  enabled: (config) => config.psiEvictThreshold !== undefined,
  decide: ({ snapshot, config, now, ctx, decided }) => psiEviction(snapshot, config, now, ctx, decided.some((e) => e.reason === 'memory')),
};
