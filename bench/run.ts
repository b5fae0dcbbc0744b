/**
 * `npm run bench`: the operator and agent benchmarks against the simulators. Writes
 * bench/results.json (exactly the keys of issue 6), bench/details.json (the figures behind them)
 * and prints a table with the targets. Never part of `npm test`. Bounded: a watchdog ends the run
 * (children included) after 9.5 minutes.
 *
 * The operator and agent children run with the V8 flags docs/operations.md ships for them
 * (RUNTIME_FLAGS); BENCH_OPERATOR_NODE_ARGS / BENCH_AGENT_NODE_ARGS override them ("" = V8's
 * defaults). BENCH_OPERATOR_LOG=/path keeps the operator's log; BENCH_ONLY=operator|agent.
 * Agent knobs: BENCH_AGENT_TRIALS (100), BENCH_AGENT_REAL_TRIALS (5), BENCH_AGENT_IDLE_SECONDS (60),
 * BENCH_AGENT_FAST_WATCH_MILLIS (5: the fast-watch period of the reaction trials).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runAgentBench, type AgentResults } from './agent.js';
import { runOperatorBench, type OperatorResults } from './operator.js';
import { REPO_ROOT } from './proc.js';
import { RUNTIME_FLAGS } from '../settings/runtime-flags.js';
import { formatTable, show, type Target, verdict } from './stats.js';

const started = Date.now();
const log = (m: string): void => { process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${m}\n`); };
const watchdog = setTimeout(() => {
  process.stderr.write('bench: watchdog — still running after 9.5 minutes, giving up\n');
  process.exit(3); // the exit hook in proc.ts kills the children
}, 570_000);
watchdog.unref();

const only = process.env.BENCH_ONLY;
const flags = (env: string | undefined, shipped: readonly string[]): string[] => (env === undefined ? [...shipped] : env.split(' ').filter(Boolean));
const nodeArgs = flags(process.env.BENCH_OPERATOR_NODE_ARGS, RUNTIME_FLAGS.operator);
const agentNodeArgs = flags(process.env.BENCH_AGENT_NODE_ARGS, RUNTIME_FLAGS.agent);

let operator: OperatorResults | undefined;
let agent: AgentResults | undefined;
const details: Record<string, unknown> = {};
if (only !== 'agent') {
  const r = await runOperatorBench({ nodes: 5000, podsPerNode: 30, changes: 500, pollSeconds: 0.2, steadyPolls: 300, changeRate: 20, nodeArgs, log });
  operator = r.results;
  details.operator = { ...r.details, pollSeconds: 0.2, changeRatePerSecond: 20, operatorNodeArgs: nodeArgs };
}
if (only !== 'operator') {
  const envNumber = (name: string, dflt: number): number => (process.env[name] ? Number(process.env[name]) : dflt);
  const r = await runAgentBench({
    containers: 200, ticks: 60, trials: envNumber('BENCH_AGENT_TRIALS', 100), realTrials: envNumber('BENCH_AGENT_REAL_TRIALS', 5),
    idleSeconds: envNumber('BENCH_AGENT_IDLE_SECONDS', 60), fastWatchMillis: envNumber('BENCH_AGENT_FAST_WATCH_MILLIS', 5), nodeArgs: agentNodeArgs, log,
  });
  agent = r.results;
  details.agent = { ...r.details, agentNodeArgs };
}

const results = { ...(operator ? { operator } : {}), ...(agent ? { agent } : {}) };
writeFileSync(join(REPO_ROOT, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(join(REPO_ROOT, 'bench/details.json'), `${JSON.stringify(details, null, 2)}\n`);

const targets: Target[] = [];
if (operator) {
  const o = operator;
  targets.push(
    { label: 'operator.rmListsPerPoll', value: o.rmListsPerPoll, comparison: '=', bound: 1, boundText: '= 1' },
    { label: 'operator.steadyRmUpdatesPerMin', value: o.steadyRmUpdatesPerMin, comparison: '=', bound: 0, boundText: '= 0' },
    { label: 'operator.steadyNodePatchesPerMin', value: o.steadyNodePatchesPerMin, comparison: '=', bound: 0, boundText: '= 0' },
    { label: 'operator.changeToRmP99Ms', value: o.changeToRmP99Ms, comparison: '<=', bound: 1000, boundText: '≤ 1000' },
    { label: 'operator.coldConvergeSeconds', value: o.coldConvergeSeconds, comparison: '<=', bound: 60, boundText: '≤ 60' },
    { label: 'operator.rssMB', value: o.rssMB, comparison: '<=', bound: 400, boundText: '≤ 400' },
    { label: 'operator.rmUpdateCalls', value: o.rmUpdateCalls, comparison: '<=', bound: o.anchorModelRmCalls / 10, boundText: `≤ anchor / 10 (${show(o.anchorModelRmCalls / 10, 1)})` },
  );
}
if (agent) {
  const a = agent;
  targets.push(
    { label: 'agent.tickMedianMs', value: a.tickMedianMs, comparison: '<=', bound: 3 * a.rawReadMedianMs, boundText: `≤ 3 × rawRead (${show(3 * a.rawReadMedianMs)})` },
    { label: 'agent.reactionP99Ms', value: a.reactionP99Ms, comparison: '<=', bound: 10, boundText: '≤ 10' },
    { label: 'agent.realCgroupReactionMs', value: a.realCgroupReactionMs, comparison: '<=', bound: 20, boundText: '≤ 20' },
    { label: 'agent.cpuPercentIdle', value: a.cpuPercentIdle, comparison: '<=', bound: 1, boundText: '≤ 1' },
    { label: 'agent.rssMB', value: a.rssMB, comparison: '<=', bound: 100, boundText: '≤ 100' },
  );
}
const rows: string[][] = [['result', 'value', 'target', 'verdict']];
const targeted = new Map(targets.map((t) => [t.label, t]));
for (const [group, values] of Object.entries(results) as unknown as [string, Record<string, number | string | null>][]) {
  for (const [k, v] of Object.entries(values)) {
    const label = `${group}.${k}`;
    const t = targeted.get(label);
    rows.push([label, typeof v === 'string' ? v : show(v), t?.boundText ?? '', t ? verdict(t) : '']);
  }
}
process.stdout.write(`\n${formatTable(rows)}\n\n`);
const missed = targets.filter((t) => verdict(t) === 'missed').map((t) => t.label);
process.stdout.write(`targets met: ${targets.filter((t) => verdict(t) === 'met').length}/${targets.length}${missed.length ? `; missed: ${missed.join(', ')}` : ''}\n`);
process.stdout.write(`wrote bench/results.json and bench/details.json in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
clearTimeout(watchdog);
