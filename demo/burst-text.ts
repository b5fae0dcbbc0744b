/** How the demo tells the memory burst: one sentence, for the summary and the report. */
import type { BurstSummary } from './runner.js';

/** Pure: one line on the memory burst and what the agent did about it. */
export function burstText(b: BurstSummary): string {
  const head = `${b.node} from t = ${b.startSec} s: ${b.startPercent} % used, peak ${b.peakPercent} %; ${b.evictions} of the ${b.yarnContainersAtStart} YARN containers there (${b.yarnGiBAtStart} GiB) evicted`;
  if (b.peakPercent < b.thresholdPercent) {
    return `${head}; the burst stayed under the ${b.thresholdPercent} % threshold (YARN held too little there to take the node over it)`;
  }
  if (b.backUnderAfterSec !== null) {
    return `${head}; under the ${b.thresholdPercent} % threshold again ${b.backUnderAfterSec} s after the burst began, at most ${b.highestAfterPercent} % for the rest of it`;
  }
  return b.nonYarnPeakPercent >= b.thresholdPercent
    ? `${head}; everything but YARN (online pods, system) used ${b.nonYarnPeakPercent} %, over the ${b.thresholdPercent} % threshold: no eviction of YARN containers can bring the node under it`
    : `${head}; not under the ${b.thresholdPercent} % threshold again before the burst ended`;
}
