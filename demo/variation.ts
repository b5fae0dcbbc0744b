/**
 * What is exact for a seed and what is not. The scenario is a pure function of the seed (every
 * scripted step, the online load curves, the apps and the pods); the figures come from real
 * processes on real timers over loopback HTTP and vary from run to run. `npm run bench:demo` runs
 * the demo several times with one seed and writes the spread to bench/demo-repeat.json; the
 * ranges below are one such measurement (5 runs of `npm start`'s defaults on a 2-core machine),
 * quoted by the report and docs/demo.md.
 */
export const MEASURED_VARIATION = {
  runs: 5,
  seed: 42,
  speed: 4,
  durationSec: 60,
  /** [min, max] over the runs. */
  ranges: {
    partitionedInForce: [0, 0],
    partitionedConvergenceSec: [0.6, 3.8],
    sharedCoreSeconds: [67, 85.6],
    sharedGiBSeconds: [3687.6, 3757.2],
    sharedConvergenceSec: [0.1, 1.1],
    evictions: [2, 3],
    nmRestartRepairedSec: [1, 1.5],
  },
} as const;

/** Pure: the sentence the report carries about reproducibility. */
export function variationNote(meta: { seed: number; durationSec: number }): string {
  const v = MEASURED_VARIATION;
  const r = v.ranges;
  const range = (x: readonly [number, number], unit: string) => `${x[0]}–${x[1]}${unit}`;
  return `The same seed gives the same scenario: every scripted step, the online load, the apps and the pods. The figures come from real processes `
    + `on real timers and vary between runs: over ${v.runs} runs of seed ${v.seed} (${v.durationSec} simulated s at ${v.speed}×, \`npm run bench:demo\`), `
    + `double booking with Loom's capacity under partitioned was ${r.partitionedInForce[0]} in every run; under shared ${range(r.sharedCoreSeconds, ' core·s')} and `
    + `${range(r.sharedGiBSeconds, ' GiB·s')}; first convergence ${range(r.partitionedConvergenceSec, ' s')} (partitioned), ${range(r.sharedConvergenceSec, ' s')} (shared); `
    + `evictions ${range(r.evictions, '')} per run; NM restart repaired after ${range(r.nmRestartRepairedSec, ' s')}.`
    + (meta.seed !== v.seed || meta.durationSec !== v.durationSec ? ` (This run used seed ${meta.seed}, ${meta.durationSec} s.)` : '');
}
