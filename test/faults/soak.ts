/**
 * `npm run soak`: the fault scenario, long and seeded. Each step draws one fault from the seed
 * (pause or kill the leader, black-holed renewals, watch cuts and 410s, lost answers, 5xx/429,
 * latency, RM 5xx, RM failover, NM restart, a competing writer, churn), makes a change and waits
 * for convergence; the invariant checker watches from outside throughout. Prints one JSON report
 * (violations, writes without the lease, foreign entries broken, exposure distribution) and exits
 * non-zero when an invariant broke.
 *
 *   npm run soak                       # seed 1, 120 steps
 *   LOOM_SOAK_SEED=7 LOOM_SOAK_STEPS=300 npm run soak
 */
import { ALL_FAULTS, runScenario } from './scenario.js';

const seed = Number(process.env.LOOM_SOAK_SEED ?? 1);
const steps = Number(process.env.LOOM_SOAK_STEPS ?? 120);
if (!Number.isInteger(seed) || !Number.isInteger(steps) || steps < 1) {
  process.stderr.write('loom soak: LOOM_SOAK_SEED and LOOM_SOAK_STEPS must be integers (steps ≥ 1)\n');
  process.exit(2);
}
const t0 = performance.now();
const report = await runScenario({ seed, steps, nodes: 6, log: (l) => process.stderr.write(`${l}\n`) });
const byFault: Record<string, { n: number; msMedian: number; msMax: number }> = {};
for (const f of ALL_FAULTS) {
  const ms = report.steps.filter((s) => s.fault === f).map((s) => s.ms).sort((a, b) => a - b);
  if (ms.length) byFault[f] = { n: ms.length, msMedian: ms[Math.floor(ms.length / 2)]!, msMax: ms[ms.length - 1]! };
}
const d = [...report.exposuresMs].sort((a, b) => a - b);
const q = (p: number) => (d.length ? d[Math.min(d.length - 1, Math.floor(p * d.length))]! : 0);
const out = {
  seed, steps: report.steps.length, wallSeconds: Math.round((performance.now() - t0) / 1000),
  violations: report.violations.length, unleasedWrites: report.unleased.length, foreignEntriesBroken: report.foreignBroken.length,
  converged: report.converged,
  leaderChanges: report.steps.filter((s) => s.leaderAfter !== s.leaderBefore).length,
  replicaStarts: report.replicaStarts,
  exposure: { count: d.length, minMs: d[0] ?? 0, p50Ms: q(0.5), p90Ms: q(0.9), p99Ms: q(0.99), maxMs: d[d.length - 1] ?? 0 },
  samples: report.checker.samples,
  faults: byFault,
  ...(report.violations.length ? { firstViolations: report.violations.slice(0, 5) } : {}),
  ...(report.unleased.length ? { firstUnleased: report.unleased.slice(0, 5) } : {}),
};
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
process.exit(report.violations.length || report.unleased.length || report.foreignBroken.length || !report.converged ? 1 : 0);
