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
