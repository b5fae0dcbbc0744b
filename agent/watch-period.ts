/**
 * When the fast memory watch looks next (pure). Node memory cannot cross the eviction threshold
 * faster than it can grow, so the watch looks as seldom as the headroom allows: the time the node
 * would need to fill what is left below the threshold at `growthBytesPerSecond`, never longer
 * than `maxMs` and never shorter than `minMs`. At or over the threshold, or when the last look
 * failed to read, it looks again after `minMs` / `maxMs` respectively.
 *
 * The promise this gives: a crossing is seen within `minMs` (plus one look) as long as node
 * memory grows no faster than `growthBytesPerSecond`; faster growth is seen within `maxMs`.
 * With `minMs = maxMs` the watch is a plain fixed-period poll.
 */
/**
 * The default longest period, far under the threshold. Each look wakes an otherwise idle agent
 * (≈ 150 µs of CPU on a VM): 4 looks a second instead of 10 is ≈ 0.1 % of a core. The headroom
 * still sets the period near the threshold, so growth up to the planned rate is seen as before;
 * only a jump faster than that rate waits up to this long.
 */
export const DEFAULT_FAST_WATCH_MAX_MILLIS = 250;

export interface WatchPeriod {
  /** Shortest period (near or over the threshold), ms. */
  minMs: number;
  /** Longest period (far under the threshold), ms. */
  maxMs: number;
  /** The fastest node memory growth the watch plans for, bytes per second. */
  growthBytesPerSecond: number;
}

export function nextLookIn(look: { total: number; used: number } | undefined, thresholdPercent: number, p: WatchPeriod): number {
  const lo = Math.min(p.minMs, p.maxMs);
  const hi = Math.max(p.minMs, p.maxMs);
  if (look === undefined) return hi;
  const headroom = (look.total * thresholdPercent) / 100 - look.used;
  if (!(headroom > 0) || !(p.growthBytesPerSecond > 0)) return lo;
  const ms = (headroom * 1000) / p.growthBytesPerSecond;
  return Math.min(hi, Math.max(lo, Math.floor(ms)));
}

/** Pure: a fixed period (shortest = longest). */
export const fixedPeriod = (p: WatchPeriod): boolean => p.minMs >= p.maxMs;

/**
 * Pure: whether the watch looks more often than its longest period next (`nextMs` from
 * {@link nextLookIn}), or at a fixed period — then its own thread watches; else the main thread's
 * timer is enough.
 */
export function looksOften(nextMs: number, p: WatchPeriod): boolean {
  return fixedPeriod(p) || nextMs < p.maxMs;
}
