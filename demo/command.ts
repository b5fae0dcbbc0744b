/** `loom demo` (= `npm start`): both policies on the same seeded scenario, a live table, a summary and an HTML report. */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { SettingsValues } from '../settings/settings.js';
import { createLogger } from '../log/logger.js';
import { buildScenario } from './scenario.js';
import { runScenario, type Policy, type RunResult } from './runner.js';
import { burstText } from './burst-text.js';
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

const cs = (core: number, gib: number) => `${core} core·s, ${gib} GiB·s`;

export function summaryText(runs: RunResult[]): string {
  const lines = ['', 'Summary (simulated seconds; core·s and GiB·s are units promised to both schedulers × seconds)', '-------'];
  for (const r of runs) {
    const s = r.summary;
    const reg = `${s.nmRegistered.vcores} vcore / ${s.nmRegistered.memoryMiB / 1024} GiB`;
    lines.push(
      `${s.policy}:`,
      `  converged after            ${s.convergenceSec === null ? 'not reached' : `${s.convergenceSec} s`} (every RM node runs with the capacity Loom set)`,
      `  double-booked since t = 0  ${cs(s.doubleBookedCoreSeconds, s.doubleBookedGiBSeconds)}, of which`,
      `    with Loom's capacity     ${cs(s.inForceCoreSeconds, s.inForceGiBSeconds)}`,
      `    before convergence       ${cs(s.beforeConvergenceCoreSeconds, s.beforeConvergenceGiBSeconds)} (each NM offered YARN the ${reg} it registered with)`,
      `    while the RM forgot      ${cs(s.driftExposureCoreSeconds, s.driftExposureGiBSeconds)} (after the NM restart, until the operator repaired it)`,
      ...(s.unsettledSamples > 0 ? [`    while it reacted         ${cs(s.reactingCoreSeconds, s.reactingGiBSeconds)} (${s.unsettledSamples} samples taken before the operator had acted on the latest change: a loaded machine)`] : []),
      `  evictions                  ${s.evictions}${s.evictions ? ` (${Object.entries(s.evictionReasons).map(([k, v]) => `${k}: ${v}`).join(', ')})` : ''}; ApplicationMaster evicted: ${s.amEvicted ? 'yes' : 'no'}`,
      `  memory burst               ${s.burst ? burstText(s.burst) : 'none'}`,
      `  NM restart repaired after  ${s.nmRestartRepairedSec === null ? 'not repaired' : `${s.nmRestartRepairedSec} s`}`,
      `  RM calls                   ${s.rmResizeCalls} resizes, ${s.rmNodeListCalls} node lists; Node writes ${s.nodeWrites}`,
    );
  }
  if (runs.length > 1) {
    lines.push('', 'Evictions differ between policies because YARN holds different containers when the burst begins:',
      'under `shared` the RM offers YARN the whole free headroom, so the containers it places, and the',
      'working sets the agent must release, are not the ones `partitioned` leaves there.');
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
