/**
 * Victim order: which YARN container goes first.
 *
 * 1. ApplicationMasters last (killing one fails or restarts the whole application).
 * 2. OPPORTUNISTIC before GUARANTEED (an undefined execution type counts as GUARANTEED).
 * 3. The configured chain of keys, in priority order; a tie on one key goes to the next.
 * 4. Final tie-break: container id descending (newer id first), so the order is deterministic.
 *
 * Keys:
 * - `newest`: latest `startedAt` first; equal or missing start times fall back to container id
 *   order (`containerAge`: epoch, RM start, app seq, attempt, container seq — higher is newer, so
 *   later-submitted applications go first). A missing `startedAt` counts as older than any known
 *   one (the agent has not seen it start).
 * - `oldest`: the exact reverse of `newest`.
 * - `largest-memory` / `largest-cpu`: highest working set / CPU rate first.
 * - `most-failed-app`: containers of applications with more failures first (unknown = 0).
 * - `app-spread`: containers of the application with the most containers on the node first, and
 *   the count is updated as victims are placed, so consecutive victims rotate across the biggest
 *   applications instead of emptying one ("spread the pain").
 */
import { appIdOf, containerAge } from '../../yarn/ids.js';
import type { VictimKey } from './config.js';
import type { ContainerSnapshot } from './types.js';

type Cmp = (a: ContainerSnapshot, b: ContainerSnapshot) => number;

const sign = (n: number): number => (n > 0 ? 1 : n < 0 ? -1 : 0);

/**
 * Parsed container ids (BigInt fields), memoized: a sort of 200 containers compares ~1,600 pairs,
 * and parsing both ids each time was most of the agent's per-tick allocation. Bounded; a pure cache.
 */
const AGE_CACHE_MAX = 8192;
const ages = new Map<string, readonly bigint[] | null>();
function ageOf(id: string): readonly bigint[] | undefined {
  let a = ages.get(id);
  if (a === undefined) {
    if (ages.size >= AGE_CACHE_MAX) ages.clear();
    a = containerAge(id) ?? null;
    ages.set(id, a);
  }
  return a ?? undefined;
}

/** Negative when `a` has the newer (higher) container id. */
export function compareIdsNewestFirst(a: string, b: string): number {
  const x = ageOf(a);
  const y = ageOf(b);
  if (x && y) {
    for (let i = 0; i < x.length; i++) {
      const p = x[i]!;
      const q = y[i]!;
      if (p !== q) return p > q ? -1 : 1;
    }
  } else if (x || y) {
    return x ? -1 : 1; // valid ids before invalid ones
  }
  return a === b ? 0 : a > b ? -1 : 1;
}

const newest: Cmp = (a, b) => {
  const sa = a.startedAt ?? -Infinity;
  const sb = b.startedAt ?? -Infinity;
  if (sa !== sb) return sa > sb ? -1 : 1;
  return compareIdsNewestFirst(a.id, b.id);
};

export function appKey(c: ContainerSnapshot): string {
  return c.appId || appIdOf(c.id) || c.id;
}

function keyComparator(key: VictimKey, appCounts: ReadonlyMap<string, number>): Cmp {
  switch (key) {
    case 'newest':
      return newest;
    case 'oldest':
      return (a, b) => -newest(a, b);
    case 'largest-memory':
      return (a, b) => sign(b.memoryWorkingSet - a.memoryWorkingSet);
    case 'largest-cpu':
      return (a, b) => sign(b.cpuUsed - a.cpuUsed);
    case 'most-failed-app':
      return (a, b) => sign((b.appFailures ?? 0) - (a.appFailures ?? 0));
    case 'app-spread':
      return (a, b) => sign((appCounts.get(appKey(b)) ?? 0) - (appCounts.get(appKey(a)) ?? 0));
  }
}

const rank = (c: ContainerSnapshot): number => (c.isAM ? 2 : 0) + (c.executionType === 'OPPORTUNISTIC' ? 0 : 1);

function comparator(keys: readonly VictimKey[], appCounts: ReadonlyMap<string, number>): Cmp {
  const chain = keys.map((k) => keyComparator(k, appCounts));
  return (a, b) => {
    const r = rank(a) - rank(b);
    if (r !== 0) return r;
    for (const cmp of chain) {
      const d = cmp(a, b);
      if (d !== 0) return d;
    }
    return compareIdsNewestFirst(a.id, b.id);
  };
}

/**
 * The containers in eviction order (a new array, a permutation of the input; AMs at the end).
 * Callers exclude what a rule may not touch; this function excludes nothing.
 */
export function orderVictims(
  containers: readonly ContainerSnapshot[],
  config: { readonly victimOrder: readonly VictimKey[] },
): ContainerSnapshot[] {
  const keys = config.victimOrder;
  const appCounts = new Map<string, number>();
  for (const c of containers) appCounts.set(appKey(c), (appCounts.get(appKey(c)) ?? 0) + 1);
  if (!keys.includes('app-spread')) return [...containers].sort(comparator(keys, appCounts));

  // app-spread depends on what has already been placed: pick the best remaining one at a time.
  const cmp = comparator(keys, appCounts);
  const remaining = [...containers];
  const out: ContainerSnapshot[] = [];
  while (remaining.length > 0) {
    let best = 0;
    for (let i = 1; i < remaining.length; i++) if (cmp(remaining[i]!, remaining[best]!) < 0) best = i;
    const [c] = remaining.splice(best, 1);
    out.push(c!);
    const k = appKey(c!);
    appCounts.set(k, (appCounts.get(k) ?? 1) - 1);
  }
  return out;
}
