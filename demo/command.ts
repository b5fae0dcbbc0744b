/** `loom demo` (= `npm start`): both policies on the same seeded scenario, a live table, a summary and an HTML report. */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { SettingsValues } from '../settings/settings.js';
import { createLogger } from '../log/logger.js';
import { buildScenario } from './scenario.js';
import { runScenario, type Policy, type RunResult } from './runner.js';
import { LiveTable } from './live-table.js';
import { renderReport } from './report.js';

export interface DemoOptions {
  durationSec: number;
  nodes: number;
  seed: number;
  speed: number;
  reportPath: string;
  policies: Policy[];
  out?: NodeJS.WriteStream;
}

export interface DemoResult {
  runs: RunResult[];
  reportPath: string;
}

export function summaryText(runs: RunResult[]): string {
  const lines = ['', 'Summary', '-------'];
  for (const r of runs) {
    const s = r.summary;
    lines.push(
      `${s.policy}:`,
      `  converged after            ${s.convergenceSec === null ? 'not reached' : `${s.convergenceSec} s`}`,
      `  double-booked              ${s.doubleBookedCoreSeconds} core·s, ${s.doubleBookedGiBSeconds} GiB·s`,
      `  exposed while RM forgot    ${s.driftExposureCoreSeconds} core·s, ${s.driftExposureGiBSeconds} GiB·s (until the operator repaired it)`,
      `  evictions                  ${s.evictions}${s.evictions ? ` (${Object.entries(s.evictionReasons).map(([k, v]) => `${k}: ${v}`).join(', ')})` : ''}; ApplicationMaster evicted: ${s.amEvicted ? 'yes' : 'no'}`,
      `  NM restart repaired after  ${s.nmRestartRepairedSec === null ? 'not repaired' : `${s.nmRestartRepairedSec} s`}`,
      `  RM calls                   ${s.rmResizeCalls} resizes, ${s.rmNodeListCalls} node lists; Node writes ${s.nodeWrites}`,
    );
  }
  return lines.join('\n') + '\n';
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const out = o.out ?? process.stdout;
  // Components log to stderr, errors only by default (--log-level info shows every decision); the table and the summary own stdout.
  const logger = createLogger('demo', {}, process.stderr as never);
  const scenario = buildScenario({ durationSec: o.durationSec, nodes: o.nodes, seed: o.seed });
  const table = new LiveTable(out);
  const runs: RunResult[] = [];
  out.write(`Loom demo: ${o.nodes} simulated nodes, ${o.durationSec} simulated seconds per policy at ${o.speed}× speed, seed ${o.seed}\n`);
  for (const policy of o.policies) {
    out.write(`\n== policy ${policy} ==\n`);
    table.reset();
    runs.push(await runScenario({ policy, scenario, speed: o.speed, logger, onSample: (s, p) => table.update(s, p) }));
  }
  const reportPath = resolve(o.reportPath);
  writeFileSync(reportPath, renderReport(runs, { seed: o.seed, nodes: o.nodes, durationSec: o.durationSec, generatedAt: new Date().toISOString() }));
  out.write(summaryText(runs));
  out.write(`\nReport: ${reportPath}\n`);
  return { runs, reportPath };
}

export async function runDemoCommand(v: SettingsValues): Promise<number> {
  const policies = String(v.policies).split(',').map((p) => p.trim()).filter(Boolean);
  for (const p of policies) {
    if (p !== 'partitioned' && p !== 'shared') {
      process.stderr.write(`loom demo: --policies: unknown policy "${p}" (partitioned, shared)\n`);
      return 2;
    }
  }
  await runDemo({
    durationSec: v.duration as number, nodes: v.nodes as number, seed: v.seed as number, speed: v.speed as number,
    reportPath: v.report as string, policies: policies as Policy[],
  });
  return 0;
}
