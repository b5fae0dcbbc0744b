/**
 * Operator benchmark: N nodes × 30 pods (the default run: 5,000 nodes / 150,000 pods; the full
 * scale: a curve at 1,000, 5,000 and 20,000 nodes), one YARN cluster.
 *
 * The simulators run in two processes of their own (bench/operator-sims.ts: the Kubernetes API
 * server with the seeded store and the koord-manager stand-in; the YARN RM), so their heaps and
 * collections are neither in this process nor in each other's; the operator runs as a child
 * process (`loom operator`, real HTTP over loopback), so its peak RSS and its CPU time
 * (/proc/<pid>/stat) are its own. Phases:
 *
 *  1. cold start (operator A, the default 2 s poll) → every node converged (RM total = what the
 *     ledger wants, checked in the YARN simulator); its wall time and CPU time;
 *  2. idle window: nothing changes, the operator's CPU rate from polls alone;
 *  3. 500 single-node changes (batch pod added / removed, origin lowered / raised), paced, each
 *     timed from the store write (stamped by the kube simulator right before it) to the resize
 *     landing in the YARN model (stamped there; one monotonic clock for both processes); the CPU
 *     spent, net of the idle rate; Node MODIFIED events counted through a store watch for the
 *     anchor model (one RM call per Node update event, as Koordinator's yarn-operator does);
 *  4. restart + steady state (operator B, compressed poll period): ≥ 300 polls (= 10 simulated
 *     minutes of the default 2 s poll) with kubelet heartbeats; RM lists, resizes and Node
 *     patches counted — a restart into a converged cluster writes nothing.
 *
 * A koord-manager stand-in (sim/cluster) answers every claim change with the status write
 * koord-manager makes (batch allocatable = origin − claims), as in a real cluster.
 */
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { makeSimTempDir } from '../sim/node/temp-dir.js';
import { yarnSiteXml } from '../sim/world.js';
import { forkSim, type ChangeKind, type KubeCounts, type SimProcess, type KubeSimApi, type YarnSimApi } from './operator-sims.js';
import { percentile, perSimulatedMinute, round } from './stats.js';
import { cpuSecondsOf, type LoomChild, sleep, spawnLoom, tail, waitFor } from './proc.js';

export { LEDGER } from './operator-sims.js';

/** kubelet Node status posts per node in 10 simulated minutes (nodeStatusReportFrequency 5 min). */
const HEARTBEATS_PER_NODE = 2;

export interface OperatorBenchOptions {
  nodes: number;
  podsPerNode: number;
  changes: number;
  /** Poll period of the operator for the cold start, the idle window and the changes (the default: 2). */
  pollSeconds: number;
  /** Compressed poll period of the restarted operator during the steady state (measured in polls). */
  steadyPollSeconds: number;
  /** Polls the steady state must cover. */
  steadyPolls: number;
  /** Changes per second during the change phase. */
  changeRate: number;
  /** Extra node flags for the operator child (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** Extra node flags for the two simulator processes (e.g. --import ./bench/stall-watch.mjs). */
  simNodeArgs?: string[];
  log?: (msg: string) => void;
}

export interface OperatorResults {
  nodes: number;
  pods: number;
  coldConvergeSeconds: number;
  rmListsPerPoll: number;
  steadyRmUpdatesPerMin: number;
  steadyNodePatchesPerMin: number;
  changeToRmP50Ms: number;
  changeToRmP99Ms: number;
  rmUpdateCalls: number;
  anchorModelRmCalls: number;
  nodePatchCalls: number;
  rssMB: number;
  /** CPU time (user + system) of the operator process from spawn to convergence. */
  coldConvergeCpuSeconds: number;
  /** Operator CPU per 1,000 changes, net of its idle rate (polls) over the change phase. */
  cpuSecondsPer1000Changes: number;
  /** Operator CPU while nothing changes (polls only), % of one core. */
  idleCpuPercent: number;
}

/** What is printed beside the results (not part of results.json). */
export interface OperatorDetails {
  seedSeconds: number;
  coldRmResizes: number;
  coldNodePatches: number;
  steadyPolls: number;
  steadyRealSeconds: number;
  steadyRmLists: number;
  steadyRmResizes: number;
  steadyNodePatches: number;
  changesLanded: number;
  changesByKind: Record<string, number>;
  p50ByKind: Record<string, number>;
  p99ByKind: Record<string, number>;
  changeMaxMs: number;
  /** The 10 slowest changes, with the wall time of their write (to line up with stall-watch lines). */
  slowestChanges: { kind: ChangeKind; nodeId: string; ms: number; at: string }[];
  changePhaseSeconds: number;
  nodeModifiedByWriter: Record<string, number>;
  anchorModelRmCallsSteady: number;
  anchorModelRmCallsChanges: number;
  changeRmUpdates: number;
  koordManagerWrites: number;
  nodeConflicts: number;
  kubeEventsPosted: number;
  /** CPU of the operator over the steady state (polls + heartbeat watch events), % of one core. */
  steadyCpuPercent: number;
  idleWindowSeconds: number;
  changePhaseCpuSeconds: number;
  /** CPU of the two simulator processes over the cold start. */
  simColdCpuSeconds: number;
  rssColdAndChangesMB: number;
  rssRestartAndSteadyMB: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  return res.text();
}

/** Sum of a Prometheus counter's samples (all label sets). */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) sum += v;
  }
  return sum;
}

const KINDS: ChangeKind[] = ['pod-added', 'pod-removed', 'origin-lowered', 'origin-raised'];

export async function runOperatorBench(o: OperatorBenchOptions): Promise<{ results: OperatorResults; details: OperatorDetails }> {
  const say = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const dir = makeSimTempDir('loom-bench-op-');
  mkdirSync(dir, { recursive: true });
  let kube: SimProcess<KubeSimApi> | undefined;
  let yarn: SimProcess<YarnSimApi> | undefined;
  let op: LoomChild | undefined;
  const stopFlag = { stopping: false };
  try {
    // ---- seed (each simulator in its own process) -------------------------------------------
    const t0 = performance.now();
    kube = forkSim('kube', o.simNodeArgs ?? []);
    yarn = forkSim('yarn', o.simNodeArgs ?? []);
    const [seeded, rm] = await Promise.all([kube.start(o.nodes, o.podsPerNode, dir), yarn.start(o.nodes)]);
    await yarn.setDesired(seeded.desired);
    const nodeIds = seeded.desired.map(([nodeId]) => nodeId);
    const hadoop = join(dir, 'hadoop');
    mkdirSync(hadoop, { recursive: true });
    writeFileSync(join(hadoop, 'yarn-site.xml'), yarnSiteXml(rm.rmUrls));
    const pods = seeded.pods;
    const seedSeconds = (performance.now() - t0) / 1000;
    say(`operator bench: seeded ${nodeIds.length} nodes, ${pods} pods in ${seedSeconds.toFixed(1)} s (kube simulator pid ${kube.pid}, YARN simulator pid ${yarn.pid})`);
    const simCpuSeconds = (): number => cpuSecondsOf(kube!.pid) + cpuSecondsOf(yarn!.pid);
    const counts = (): Promise<KubeCounts> => kube!.counts();

    // ---- cold start (operator A, the default poll period) -----------------------------------
    const logFile = join(dir, 'operator.log');
    const spawnOperator = async (pollSeconds: number): Promise<{ child: LoomChild; metricsUrl: string }> => {
      const port = await freePort();
      const child = spawnLoom([
        'operator', '--kubeconfig', seeded.kubeconfigPath, '--hadoop-conf-dir', hadoop, '--no-leader-election',
        '--metrics-addr', `127.0.0.1:${port}`, '--poll-seconds', String(pollSeconds),
      ], logFile, { LOOM_LOG_LEVEL: 'info' }, o.nodeArgs ?? []);
      op = child;
      void child.exited.then((e) => { if (!stopFlag.stopping && op === child) say(`operator exited early (${JSON.stringify(e)}):\n${tail(logFile)}`); });
      return { child, metricsUrl: `http://127.0.0.1:${port}` };
    };

    const tStart = performance.now();
    const simCpu0 = simCpuSeconds();
    const { child } = await spawnOperator(o.pollSeconds);
    let lastProgress = 0;
    await waitFor('every node converged', async () => {
      if (child.child.exitCode !== null) throw new Error(`operator exited: ${tail(logFile)}`);
      const c = await yarn!.converged();
      if (c.converged) return true;
      if (performance.now() - lastProgress > 10_000) {
        lastProgress = performance.now();
        say(`  cold start: ${c.done}/${nodeIds.length} nodes converged after ${((performance.now() - tStart) / 1000).toFixed(1)} s (rss ${child.rssMB().toFixed(0)} MB, cpu ${child.cpuSeconds().toFixed(1)} s)`);
      }
      return undefined;
    }, Math.max(300_000, 30 * o.nodes), 50);
    const coldConvergeSeconds = (performance.now() - tStart) / 1000;
    const coldConvergeCpuSeconds = child.cpuSeconds();
    const simColdCpuSeconds = simCpuSeconds() - simCpu0;
    say(`operator bench: converged in ${coldConvergeSeconds.toFixed(1)} s, ${coldConvergeCpuSeconds.toFixed(1)} s of operator CPU (peak rss so far ${child.peakRssMB().toFixed(0)} MB)`);
    await sleep(3000); // trailing claim writes / koord-manager reactions / events
    // BENCH_COLD_ONLY=1: stop here (profiling the cold start: --cpu-prof in BENCH_OPERATOR_NODE_ARGS).
    if (process.env.BENCH_COLD_ONLY === '1') throw new Error(`BENCH_COLD_ONLY: stopped after the cold start (${coldConvergeSeconds.toFixed(1)} s, ${coldConvergeCpuSeconds.toFixed(1)} s CPU)`);
    const coldRmResizes = await yarn.counter('rm.resize');
    const coldNodePatches = (await counts()).nodeWrites;

    // ---- idle ------------------------------------------------------------------------------
    // Nothing changes: what the operator spends on polls alone, subtracted from the change
    // phase's CPU below.
    const idleWindowMs = Math.max(10_000, 5 * o.pollSeconds * 1000);
    const tIdle = performance.now();
    const idleCpu0 = child.cpuSeconds();
    await sleep(idleWindowMs);
    const idleWindowSeconds = (performance.now() - tIdle) / 1000;
    const idleCpuPerSecond = (child.cpuSeconds() - idleCpu0) / idleWindowSeconds;
    say(`operator bench: idle ${(100 * idleCpuPerSecond).toFixed(1)} % of a core over ${idleWindowSeconds.toFixed(1)} s`);

    // ---- changes ---------------------------------------------------------------------------
    // Each change is stamped by the kube simulator right before its write, its resize by the
    // YARN simulator as it lands (one monotonic clock for both processes); matched afterwards.
    const n = Math.min(o.changes, nodeIds.length);
    const stride = Math.max(1, Math.floor(nodeIds.length / n));
    const rm0 = await yarn.counter('rm.resize');
    const c0 = await counts();
    await yarn.record(true);
    await kube.counting(true);
    const changes: { kind: ChangeKind; nodeId: string; t0: number; wall: number }[] = [];
    const changeCpu0 = child.cpuSeconds();
    const tChanges = performance.now();
    for (let k = 0; k < n; k++) {
      const index = (k * stride + Math.floor(stride / 2)) % nodeIds.length;
      const kind = KINDS[k % KINDS.length]!;
      const due = tChanges + (k * 1000) / o.changeRate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const c = await kube.change(index, kind);
      changes.push({ kind, nodeId: c.nodeId, t0: c.t0, wall: c.wall });
      void yarn.setDesired([[c.nodeId, c.desired]]);
    }
    // Every change landed, or 20 s after the last one.
    const giveUpAt = performance.now() + 20_000;
    let landedAt: (number | null)[] = [];
    for (;;) {
      landedAt = await yarn.landedAfter(changes.map((c) => [c.nodeId, c.t0]));
      if (landedAt.every((t) => t !== null) || performance.now() > giveUpAt) break;
      await sleep(200);
    }
    await sleep(3000); // trailing claim writes and koord-manager reactions
    await kube.counting(false);
    await yarn.record(false);
    const changePhaseSeconds = (performance.now() - tChanges) / 1000;
    const changePhaseCpuSeconds = child.cpuSeconds() - changeCpu0;
    const cpuSecondsPer1000Changes = ((changePhaseCpuSeconds - idleCpuPerSecond * changePhaseSeconds) / Math.max(1, n)) * 1000;
    const c1 = await counts();
    const changeRmUpdates = (await yarn.counter('rm.resize')) - rm0;
    const nodePatchCalls = c1.nodeWrites - c0.nodeWrites;
    const nodeConflicts = c1.nodeGets - c0.nodeGets;
    const changeNodeEvents = c1.nodeModified - c0.nodeModified;
    const byBench = c1.nodeModifiedByBench - c0.nodeModifiedByBench;
    const koordChangeWrites = c1.koordWrites - c0.koordWrites;
    if (!(await yarn.converged()).converged) say('operator bench: WARNING — not every node is at its desired total after the change phase');
    const latencies = changes.flatMap((c, i) => (landedAt[i] === null || landedAt[i] === undefined ? [] : [{ kind: c.kind, ms: landedAt[i]! - c.t0, wall: c.wall, nodeId: c.nodeId }]));
    const all = latencies.map((l) => l.ms);
    const byKind = (k: ChangeKind) => latencies.filter((l) => l.kind === k).map((l) => l.ms);
    say(`operator bench: ${latencies.length}/${n} changes landed; p50 ${percentile(all, 50).toFixed(1)} ms, p99 ${percentile(all, 99).toFixed(1)} ms`);
    op = undefined; // stopped on purpose: not an early exit
    const rssColdAndChanges = await child.stop();

    // ---- steady state (operator B: restarted, compressed poll period) ----------------------
    // 300 polls of the default 2 s stand for 10 minutes; they run compressed in a second
    // operator process, so the restart is measured too: it finds every claim and every RM
    // total as it should be and must write nothing. Every kubelet posts its Node status at
    // least every nodeStatusReportFrequency (5 min) with a fresh heartbeat time: 2 heartbeats
    // per node, spread over the phase. Nothing the ledger reads changes, so Loom must not write;
    // Koordinator's operator resizes on each of these Node events.
    const lists0 = await yarn.counter('rm.nodes');
    const resizes0 = await yarn.counter('rm.resize');
    const s0 = await counts();
    const tSteady = performance.now();
    const steady = await spawnOperator(o.steadyPollSeconds);
    await kube.counting(true);
    const heartbeats = nodeIds.length * HEARTBEATS_PER_NODE;
    await kube.startHeartbeats(heartbeats, o.steadyPolls * o.steadyPollSeconds * 1000);
    await waitFor(`${o.steadyPolls} polls`, async () => {
      if (steady.child.child.exitCode !== null) throw new Error(`operator exited: ${tail(logFile)}`);
      const lists = (await yarn!.counter('rm.nodes')) - lists0;
      return lists >= o.steadyPolls && (await counts()).heartbeatsSent >= heartbeats ? true : undefined;
    }, Math.max(300_000, 30 * o.nodes), 200);
    await kube.stopHeartbeats();
    await kube.counting(false);
    const s1 = await counts();
    const steadyNodeEvents = s1.nodeModified - s0.nodeModified;
    // The operator counts a poll when its answer is in; a list the simulator has received may
    // still be on its way: read both once they agree (or after 2 s).
    let polls = 0;
    let lists = 0;
    for (let tries = 0; tries < 40; tries++) {
      lists = (await yarn.counter('rm.nodes')) - lists0;
      polls = metricSum(await scrape(steady.metricsUrl), 'loom_rm_node_lists_total');
      if (polls === lists) break;
      await sleep(50);
    }
    const steadyRealSeconds = (performance.now() - tSteady) / 1000;
    const steadyCpuPercent = (100 * steady.child.cpuSeconds()) / steadyRealSeconds;
    const steadyResizes = (await yarn.counter('rm.resize')) - resizes0;
    const steadyPatches = (await counts()).nodeWrites - s0.nodeWrites;
    stopFlag.stopping = true;
    const rssSteady = await steady.child.stop();
    say(`operator bench: restart + steady state ${polls} polls in ${steadyRealSeconds.toFixed(1)} s: ${lists} RM lists, ${steadyResizes} resizes, ${steadyPatches} node patches (peak rss ${rssSteady.toFixed(0)} MB)`);
    const nodeModified = (await counts()).nodeModified;
    const ev1 = (await counts()).events;

    // Ours vs the anchor's over the same event stream: the steady state (heartbeats) plus the changes.
    const rmUpdateCalls = steadyResizes + changeRmUpdates;
    const results: OperatorResults = {
      nodes: nodeIds.length,
      pods,
      coldConvergeSeconds: round(coldConvergeSeconds, 2),
      rmListsPerPoll: round(polls > 0 ? lists / polls : NaN, 3),
      steadyRmUpdatesPerMin: round(perSimulatedMinute(steadyResizes, polls), 3),
      steadyNodePatchesPerMin: round(perSimulatedMinute(steadyPatches, polls), 3),
      changeToRmP50Ms: round(percentile(all, 50), 1),
      changeToRmP99Ms: round(percentile(all, 99), 1),
      rmUpdateCalls,
      anchorModelRmCalls: nodeModified,
      nodePatchCalls,
      rssMB: round(Math.max(rssColdAndChanges, rssSteady), 1),
      coldConvergeCpuSeconds: round(coldConvergeCpuSeconds, 2),
      cpuSecondsPer1000Changes: round(cpuSecondsPer1000Changes, 2),
      idleCpuPercent: round(100 * idleCpuPerSecond, 1),
    };
    const details: OperatorDetails = {
      seedSeconds: round(seedSeconds, 2),
      coldRmResizes,
      coldNodePatches,
      steadyPolls: polls,
      steadyRealSeconds: round(steadyRealSeconds, 1),
      steadyRmLists: lists,
      steadyRmResizes: steadyResizes,
      steadyNodePatches: steadyPatches,
      changesLanded: latencies.length,
      changesByKind: Object.fromEntries(KINDS.map((k) => [k, byKind(k).length])),
      p50ByKind: Object.fromEntries(KINDS.map((k) => [k, round(percentile(byKind(k), 50), 1)])),
      p99ByKind: Object.fromEntries(KINDS.map((k) => [k, round(percentile(byKind(k), 99), 1)])),
      changeMaxMs: round(Math.max(...all), 1),
      slowestChanges: [...latencies].sort((a, b) => b.ms - a.ms).slice(0, 10).map((l) => ({ kind: l.kind, nodeId: l.nodeId, ms: round(l.ms, 1), at: new Date(l.wall).toISOString() })),
      changePhaseSeconds: round(changePhaseSeconds, 1),
      nodeModifiedByWriter: { heartbeat: steadyNodeEvents, change: byBench, koordManager: koordChangeWrites, operator: changeNodeEvents - byBench - koordChangeWrites },
      anchorModelRmCallsSteady: steadyNodeEvents,
      anchorModelRmCallsChanges: changeNodeEvents,
      changeRmUpdates,
      koordManagerWrites: koordChangeWrites,
      nodeConflicts,
      kubeEventsPosted: ev1 - c0.events,
      steadyCpuPercent: round(steadyCpuPercent, 1),
      idleWindowSeconds: round(idleWindowSeconds, 1),
      changePhaseCpuSeconds: round(changePhaseCpuSeconds, 2),
      simColdCpuSeconds: round(simColdCpuSeconds, 2),
      rssColdAndChangesMB: round(rssColdAndChanges, 1),
      rssRestartAndSteadyMB: round(rssSteady, 1),
    };
    return { results, details };
  } finally {
    stopFlag.stopping = true;
    await op?.stop(30_000); // time to write a --cpu-prof profile
    await Promise.all([yarn?.close(), kube?.close()]);
    // BENCH_OPERATOR_LOG=/path keeps the operator's log (it lives in a temp dir removed here).
    const keep = process.env.BENCH_OPERATOR_LOG;
    if (keep && existsSync(join(dir, 'operator.log'))) copyFileSync(join(dir, 'operator.log'), keep);
    rmSync(dir, { recursive: true, force: true });
  }
}
