/**
 * `npm run bench:demo`: how much the demo's figures vary between runs of the same seed. Runs
 * `loom demo` (both policies) BENCH_DEMO_RUNS times (default 5) with one seed, speed and duration
 * (BENCH_DEMO_SEED 42, BENCH_DEMO_SPEED 4, BENCH_DEMO_DURATION 60: the `npm start` defaults) and
 * writes bench/demo-repeat.json: per policy and figure, every run's value, min, max and the
 * spread (max − min) relative to the median. The scripted scenario is the same every run; what
 * varies is what real timers, loopback HTTP and two shared cores make of it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runDemo } from '../demo/command.js';
import type { RunSummary } from '../demo/runner.js';
import { REPO_ROOT } from './proc.js';

const runs = Number(process.env.BENCH_DEMO_RUNS ?? 5);
const seed = Number(process.env.BENCH_DEMO_SEED ?? 42);
const speed = Number(process.env.BENCH_DEMO_SPEED ?? 4);
const durationSec = Number(process.env.BENCH_DEMO_DURATION ?? 60);

/** The figures that depend on timing (the rest are fixed by the scenario or asserted by tests). */
const FIGURES = [
  'convergenceSec', 'doubleBookedCoreSeconds', 'doubleBookedGiBSeconds', 'inForceCoreSeconds', 'inForceGiBSeconds',
  'beforeConvergenceCoreSeconds', 'beforeConvergenceGiBSeconds', 'driftExposureCoreSeconds', 'driftExposureGiBSeconds',
  'evictions', 'nmRestartRepairedSec', 'rmResizeCalls', 'nodeWrites',
] as const;

const dir = mkdtempSync(join(tmpdir(), 'loom-demo-repeat-'));
const sink = new Writable({ write(_c, _e, cb) { cb(); } }) as unknown as NodeJS.WriteStream;
const summaries: RunSummary[][] = [];
try {
  for (let i = 0; i < runs; i++) {
    const started = Date.now();
    const r = await runDemo({ durationSec, nodes: 4, seed, speed, reportPath: join(dir, 'report.html'), policies: ['partitioned', 'shared'], out: sink });
    summaries.push(r.runs.map((x) => x.summary));
    process.stderr.write(`run ${i + 1}/${runs}: ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2; };
const out: Record<string, Record<string, { values: (number | null)[]; min: number; max: number; median: number; spreadPercent: number | null }>> = {};
for (const [p, policy] of (['partitioned', 'shared'] as const).entries()) {
  out[policy] = {};
  for (const f of FIGURES) {
    const values = summaries.map((s) => s[p]![f] as number | null);
    const nums = values.filter((v): v is number => typeof v === 'number');
    const med = median(nums);
    out[policy]![f] = {
      values, min: Math.min(...nums), max: Math.max(...nums), median: med,
      spreadPercent: med === 0 ? null : Math.round(((Math.max(...nums) - Math.min(...nums)) / med) * 1000) / 10,
    };
  }
}
const result = { seed, speed, durationSec, runs, figures: out };
writeFileSync(join(REPO_ROOT, 'bench/demo-repeat.json'), `${JSON.stringify(result, null, 2)}\n`);
for (const [policy, figs] of Object.entries(out)) {
  for (const [f, v] of Object.entries(figs)) {
    process.stdout.write(`${policy.padEnd(12)} ${f.padEnd(30)} min ${String(v.min).padStart(8)}  median ${String(v.median).padStart(8)}  max ${String(v.max).padStart(8)}  spread ${v.spreadPercent === null ? '—' : `${v.spreadPercent} %`}\n`);
  }
}
