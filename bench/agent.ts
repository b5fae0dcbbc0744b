/**
 * Agent benchmark: one simulated node with 200 live YARN containers (a real `cat` process and
 * fake cgroup files each, sim/node) behind a simulated NodeManager (sim/yarn, loopback HTTP).
 *
 *  - tickMedianMs: the agent in this process (`manual: true`), one tick (NM list when due +
 *    collection + rules + plan) timed directly, 60 times after a warm-up; far under the threshold
 *    most ticks are quiet (the last pass's containers reused), so the median is one. The NM server
 *    shares this event loop, so its answer is inside the tick time.
 *  - rawReadMedianMs: the files one tick read (recorded by wrapping `fs.openSync` and
 *    `HeldFiles.readFile` during a tick: read-only opens of files, not directories, not
 *    /proc/self, and reads through held descriptors), read again once each with `readFileSync` —
 *    the floor of any collector reading them by path.
 *  - cpuPercentIdle: `loom agent` as a child process at its default settings, no pressure (node
 *    memory ≈ 48 %, threshold 70 %): its user + system CPU time over `idleSeconds`, % of one core.
 *  - cpuPercentFastWatch: the same for the reaction child below (a fixed fast-watch period of
 *    `fastWatchMillis`: `--fast-watch-millis` = `--fast-watch-max-millis`).
 *  - reaction: that child (its peak RSS is `rssMB`); 100 trials of the fake `proc/meminfo` jumping
 *    from 50 % to just over the eviction threshold (a jump no real node makes, so the fixed
 *    period, not the headroom-driven one, is what is measured); from the write to the 'exit' event
 *    of the victim's real process.
 *  - realCgroupReactionMs: real v1 memory/cpu/cpuacct (+ unified v2) cgroups under a unique
 *    `loom-bench-*` prefix, a real process growing its memory inside one (800 MiB/s); a kernel
 *    stand-in derives the fake `meminfo` from the cgroup's real usage every 2 ms; the agent at its
 *    default fast-watch settings (headroom-driven); from the crossing to the exit, seen by a pidfd
 *    off this process's event loop (exit-watch.ts; the 'exit' event's figures are kept beside).
 *    Each trial is taken apart with the agent's log (crossing → decision → signal sent → exit),
 *    and the same process grown to the crossing and stopped by the bench itself (SIGTERM, and
 *    SIGKILL) gives the teardown floor.
 *  - cpuPercentIdle is followed by a second window of the same child (details.cpuPercentIdleSteady).
 *    The same two windows are then taken on this machine's real cgroups and /proc when it allows
 *    (agent-idle-real.ts): those are the headline (details.idleNode = 'real'), the simulated
 *    node's are kept as details.cpuPercentIdleSimulated / …SimulatedSteady.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startAgent } from '../agent/agent.js';
import { HeldFiles, NodeCgroups, readMemoryUsage } from '../cgroup/index.js';
import { createLogger } from '../log/logger.js';
import { SimulatedNode } from '../sim/node/index.js';
import { makeSimTempDir } from '../sim/node/temp-dir.js';
import { startYarnSim, type YarnSim } from '../sim/yarn/index.js';
import { median, percentile, round } from './stats.js';
import { type LoomChild, sleep, spawnLoom, tail, waitFor } from './proc.js';
import { ExitWatcher, exitWatchUsable, watchExit } from './exit-watch.js';
import { realNodeIdle, type RealIdleOutcome } from './agent-idle-real.js';
import { idleCpu, type IdleWindow } from './idle-cpu.js';
import { agentHierarchyRoots, benchPrefix, CGROUP_ROOT, MadeCgroups, probeRealCgroups } from './real-cgroups.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const NODE = 'node-a';
const NM_PORT = 45454;

export interface AgentBenchOptions {
  containers: number;
  ticks: number;
  trials: number;
  realTrials: number;
  /** Seconds of agent CPU measured with no pressure, at the default settings and at `fastWatchMillis` (60). */
  idleSeconds: number;
  /** The fast-watch period the reaction trials use (and `cpuPercentFastWatch` is measured at). */
  fastWatchMillis: number;
  /** Node flags for the `loom agent` child (the production runtime flags by default). */
  nodeArgs?: string[];
  log?: (msg: string) => void;
}

export interface AgentResults {
  containers: number;
  tickMedianMs: number;
  rawReadMedianMs: number;
  reactionP50Ms: number;
  reactionP99Ms: number;
  realCgroupReactionMs: number | null;
  realCgroupReactionNote?: string;
  rssMB: number;
  /**
   * Agent process CPU (user + system) over `idleSeconds` with no pressure, default settings, % of
   * one core: on the real node (real cgroups and /proc) when this machine allows it, else on the
   * simulated node (`details.idleNode` says which).
   */
  cpuPercentIdle: number;
  /** The same at `--fast-watch-millis <fastWatchMillis>` (the period of the reaction trials). */
  cpuPercentFastWatch: number;
}

export interface AgentDetails {
  filesPerTick: number;
  tickP90Ms: number;
  rawReadP90Ms: number;
  reactionTrials: number;
  /** How the reaction trials' victim exits were timed: a pidfd held by a helper process, or the bench's 'exit' event. */
  reactionExitSeenBy?: 'pidfd' | 'exit event';
  /** The same trials ended by the bench's own 'exit' event (its event loop's delay included). */
  reactionEventP50Ms?: number;
  reactionEventP99Ms?: number;
  reactionMaxMs: number;
  realCgroupTrials: number[];
  /** Each real-cgroup trial taken apart with the agent's log: crossing → decision, decision → exit. */
  realCgroupBreakdown: AgentDetails['reactionTail'];
  /** Median of the real-cgroup trials' crossing → signal sent (the agent's share; the rest is the victim's teardown). */
  realCgroupSignalMs: number | null;
  /**
   * The floor under the real-cgroup reaction: the same growing process, in the same cgroup, grown
   * to the same size, stopped by the bench itself with SIGTERM (no agent) — crossing-sized
   * teardown, from the signal to the exit (median of the trials).
   */
  realCgroupTeardownMs: number | null;
  /** How the real-cgroup victims' exits were observed, the trials as the exit event saw them, the floor's trials and its SIGKILL variant. */
  realCgroupExit?: Pick<RealCgroupOutcome, 'exitSeenBy' | 'eventTrials' | 'teardownTrials' | 'teardownKillMs' | 'teardownKillTrials'>;
  fastWatchMillis: number;
  idleSeconds: number;
  /** `cpuPercentIdle`'s child over the following window of the same length (warmed up). */
  cpuPercentIdleSteady?: number;
  /** Which node `cpuPercentIdle` and `cpuPercentIdleSteady` were measured on. */
  idleNode?: 'real' | 'simulated';
  /** Why they are the simulated node's (not root, no writable v1 cgroups, node memory too high). */
  idleNodeNote?: string;
  /** The idle child on the simulated node (its files replaced by rename: a stat per read), first window and the next. */
  cpuPercentIdleSimulated?: number;
  cpuPercentIdleSimulatedSteady?: number;
  /** The real node's idle measurement: containers the agent proved (before and after the windows), this machine's memory in use. */
  idleRealNode?: { provenBefore: number; provenAfter: number; nodeMemoryPercent: number; evictThresholdPercent: number };
  /** Machine load averages (1 min) when each idle window began and ended: the machine is shared. */
  idleLoad: IdleWindow[];
  /**
   * The slowest reaction trials taken apart with the agent's own log: `detectMs` from the write to
   * the fast watch's decision (its log line), `lookLateMs` how late that look started after its
   * timer was due (the event loop was busy: a tick, GC), `killToExitMs` from the decision to the exit.
   */
  reactionTail: { totalMs: number; detectMs?: number; signalMs?: number; lookLateMs?: number; duringTick?: boolean; killToExitMs?: number }[];
}

/** Fake meminfo of a node with `totalBytes`, `usedBytes` of it in use (MemTotal − MemAvailable). */
function meminfoText(totalBytes: number, usedBytes: number): string {
  const kb = (b: number) => Math.round(b / 1024);
  const avail = totalBytes - usedBytes;
  return `MemTotal:       ${kb(totalBytes)} kB\nMemFree:        ${kb(avail)} kB\nMemAvailable:   ${kb(avail)} kB\nBuffers:               0 kB\nCached:                0 kB\n`;
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.bench-tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

export async function runAgentBench(o: AgentBenchOptions): Promise<{ results: AgentResults; details: AgentDetails }> {
  const say = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  if (process.env.BENCH_AGENT_ONLY_REAL) {
    // Only the real-cgroup trials (BENCH_AGENT_REAL_LOG=/path keeps that agent's log).
    const real = await realCgroupReaction(o.realTrials, say, o.nodeArgs ?? []);
    const nan = Number.NaN;
    return {
      results: {
        containers: 0, tickMedianMs: nan, rawReadMedianMs: nan, reactionP50Ms: nan, reactionP99Ms: nan,
        realCgroupReactionMs: real.ms === null ? null : round(real.ms, 1), ...(real.note ? { realCgroupReactionNote: real.note } : {}),
        rssMB: nan, cpuPercentIdle: nan, cpuPercentFastWatch: nan,
      },
      details: {
        filesPerTick: 0, tickP90Ms: nan, rawReadP90Ms: nan, reactionTrials: 0, reactionMaxMs: nan, realCgroupTrials: real.trials.map((x) => round(x, 1)),
        realCgroupBreakdown: real.breakdown, realCgroupTeardownMs: real.teardownMs, realCgroupSignalMs: signalMedian(real.breakdown), realCgroupExit: exitDetails(real),
        fastWatchMillis: o.fastWatchMillis, idleSeconds: 0, idleLoad: [], reactionTail: [],
      },
    };
  }
  const dir = makeSimTempDir('loom-bench-agent-');
  const quiet = createLogger('bench.agent', { level: 'warn' });
  const memoryBytes = 128 * GiB;
  let node: SimulatedNode | undefined;
  let yarn: YarnSim | undefined;
  let child: LoomChild | undefined;
  try {
    node = SimulatedNode.create({
      name: NODE, dir, layout: 'v2', driver: 'cgroupfs', cpuCores: 32, memoryBytes, logger: quiet,
      systemLoad: { cpuMilli: 500, memoryBytes: GiB, cacheBytes: 0 },
      onlineLoad: { cpuMilli: 4000, memoryBytes: 10 * GiB, cacheBytes: 0 },
    });
    const simNode = node;
    yarn = await startYarnSim({
      nodes: [{ host: NODE, rpcPort: NM_PORT, memoryMiB: 512 * 1024, vcores: 1024 }],
      heartbeatMs: 20, logger: quiet,
      cluster: { signalHandling: 'external', signalDelayMs: 0, nmRetainFinishedMs: 0 },
    });
    const cluster = yarn.cluster;
    const nodeId = `${NODE}:${NM_PORT}`;
    const nmUrl = yarn.nodeManagers.get(nodeId)!.url;
    const sync = (): void => {
      const live = cluster.liveContainers(nodeId);
      simNode.syncContainers(live.map((c) => ({ id: c.id, memoryMiB: c.resource.memoryMiB, vcores: c.resource.vcores, executionType: c.executionType })));
      for (const c of live) simNode.setContainerUsage(c.id, { memoryBytes: 256 * MiB, cacheBytes: 0, cpuMilli: 50 });
    };
    let syncQueued = false;
    const queueSync = (): void => {
      if (syncQueued) return;
      syncQueued = true;
      queueMicrotask(() => { syncQueued = false; sync(); simNode.render(); });
    };
    cluster.events.on('containerStarted', queueSync);
    cluster.events.on('containerFinished', queueSync);
    const exits: { id: string; at: number }[] = [];
    /** Called on the next container exit (a trial waits on it instead of polling: less of this process in the way). */
    let onExit: (() => void) | undefined;
    simNode.onContainerExit((id, exit) => {
      exits.push({ id, at: performance.now() });
      onExit?.();
      const c = cluster.container(id);
      if (c && cluster.liveContainers(nodeId).includes(c)) cluster.containerExited(id, exit.exitCode, `exited with ${exit.signal ?? exit.exitCode}`);
    });
    // One app: the AM and 199 workers of 256 MiB; failed workers are replaced (the population stays 200).
    cluster.submitApp({ name: 'bench', user: 'etl', replaceFailed: true, am: { vcores: 1, memoryMiB: 256 }, containers: [{ count: o.containers - 1, vcores: 1, memoryMiB: 256 }] });
    await waitFor(`${o.containers} containers`, () => { cluster.tick(); return cluster.liveContainers(nodeId).length === o.containers ? true : undefined; }, 10_000, 10);
    sync();
    simNode.step(1000);
    simNode.step(1000);
    say(`agent bench: ${cluster.liveContainers(nodeId).length} containers on ${NODE}`);

    // ---- tick cost and raw reads (agent in this process) ----------------------------------
    const settings = {
      nodeName: NODE, nmUrl, rmUrls: [], cgroupRoot: simNode.paths.cgroupRoot, procRoot: simNode.paths.procRoot, simulatedCgroups: true,
      yarnCgroupPath: simNode.paths.yarnCgroupPath, socket: path.join(dir, 'run', 'inproc.sock'), socketMode: 0o600,
      metricsAddr: '', dryRun: true, tickMillis: 1000, fastWatchMillis: 100, rules: {},
    };
    const agent = await startAgent(settings, { logger: quiet, manual: true });
    const ticks: number[] = [];
    let files: string[] = [];
    try {
      for (let i = 0; i < o.ticks + 5; i++) {
        simNode.step(1000);
        if (i === 4) {
          // Record which files one tick reads: cgroup/io.ts opens each kernel file read-only
          // (openSync + readSync); directories (proofs) and our own /proc/self descriptors are left out.
          const orig = fs.openSync;
          const seen: string[] = [];
          (fs as { openSync: unknown }).openSync = ((p: fs.PathLike, flags?: fs.OpenMode, mode?: fs.Mode) => {
            const f = typeof flags === 'number' ? flags : 0;
            if (typeof p === 'string' && (f & 3) === fs.constants.O_RDONLY && (f & fs.constants.O_DIRECTORY) === 0 && !p.startsWith('/proc/self/')) seen.push(p);
            return orig(p, flags ?? 'r', mode);
          }) as typeof fs.openSync;
          // Files read through held descriptors (cgroup/held-files.ts) are read, not opened: recorded too.
          const heldRead = HeldFiles.prototype.readFile;
          HeldFiles.prototype.readFile = function (this: HeldFiles, file: string): string {
            seen.push(file);
            return heldRead.call(this, file);
          };
          try {
            await agent.tick();
          } finally {
            (fs as { openSync: unknown }).openSync = orig;
            HeldFiles.prototype.readFile = heldRead;
          }
          files = [...new Set(seen)];
          continue;
        }
        const t = performance.now();
        const r = await agent.tick();
        const ms = performance.now() - t;
        if (i > 4) ticks.push(ms);
        if (i === 5 && r.collection.containers.filter((c) => c.stats).length !== o.containers) {
          say(`agent bench: WARNING — ${r.collection.containers.filter((c) => c.stats).length} proven containers, expected ${o.containers}`);
        }
      }
    } finally {
      await agent.stop();
    }
    // Same conditions as the ticks: the node rewrites its files (new inodes) before each read pass.
    const raw: number[] = [];
    for (let i = 0; i < o.ticks; i++) {
      simNode.step(1000);
      const t = performance.now();
      for (const f of files) fs.readFileSync(f, 'utf8');
      raw.push(performance.now() - t);
    }
    say(`agent bench: tick median ${median(ticks).toFixed(2)} ms; raw read of the same ${files.length} files ${median(raw).toFixed(2)} ms`);

    // ---- idle CPU at the default settings (agent as a child process) ----------------------
    const baseArgs = (sock: string): string[] => [
      'agent', '--node-name', NODE, '--nm-url', nmUrl, '--cgroup-root', simNode.paths.cgroupRoot, '--proc-root', simNode.paths.procRoot, '--simulated-cgroups',
      '--yarn-cgroup-path', simNode.paths.yarnCgroupPath, '--socket', path.join(dir, 'run', sock), '--metrics-addr', '127.0.0.1:0',
    ];
    const profDir = process.env.BENCH_AGENT_PROF;
    const idleLog = path.join(dir, 'agent-idle.log');
    // BENCH_AGENT_IDLE_ARGS: extra agent flags for the idle child (experiments; empty by default).
    const idleExtra = (process.env.BENCH_AGENT_IDLE_ARGS ?? '').split(' ').filter((a) => a !== '');
    child = spawnLoom([...baseArgs('idle.sock'), ...idleExtra], idleLog, { LOOM_LOG_LEVEL: 'info' }, [...(o.nodeArgs ?? []), ...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [])]);
    await waitRunning(child, idleLog);
    const settingsLabel = idleExtra.length > 0 ? `settings ${idleExtra.join(' ')}` : 'default settings';
    const idle = await idleCpu(child, o.idleSeconds, o.containers, say, `simulated node, ${settingsLabel}`);
    // The same child over the next window: its code warmed up (V8's optimizing compiler is done
    // with what an idle agent runs), what a long-running agent costs. Reported beside the first.
    const steady = await idleCpu(child, o.idleSeconds, o.containers, say, `simulated node, ${settingsLabel}, the next window`);
    await child.stop();
    child = undefined;
    // The same windows on this machine's real cgroups and /proc, when it allows (agent-idle-real.ts).
    const realIdle = await realNodeIdle({
      nodeName: NODE, nmUrl, containerIds: cluster.liveContainers(nodeId).map((c) => c.id), idleSeconds: o.idleSeconds, extraArgs: idleExtra,
      settingsLabel, nodeArgs: o.nodeArgs ?? [], say,
    });
    if (realIdle.node === 'simulated') say(`agent bench: idle CPU on a real node not measured (${realIdle.reason}): cpuPercentIdle is the simulated node's`);
    const idleFigures = idleDetails(idle, steady, realIdle);
    const headline = realIdle.node === 'real' ? realIdle.first : idle;
    if (process.env.BENCH_AGENT_ONLY_IDLE) {
      // Only the idle window at the default settings (the other figures are not measured).
      const nan = Number.NaN;
      return {
        results: {
          containers: o.containers, tickMedianMs: round(median(ticks), 3), rawReadMedianMs: nan, reactionP50Ms: nan, reactionP99Ms: nan,
          realCgroupReactionMs: null, rssMB: nan, cpuPercentIdle: round(headline.cpuPercent, 2), cpuPercentFastWatch: nan,
        },
        details: {
          filesPerTick: files.length, tickP90Ms: nan, rawReadP90Ms: nan, reactionTrials: 0, reactionMaxMs: nan, realCgroupTrials: [], realCgroupBreakdown: [],
          realCgroupTeardownMs: null, realCgroupSignalMs: null, fastWatchMillis: o.fastWatchMillis, idleSeconds: o.idleSeconds,
          ...idleFigures, idleLoad: idleWindows(idle, steady, realIdle), reactionTail: [],
        },
      };
    }

    // ---- reaction (agent as a child process) ----------------------------------------------
    const fastWatchMillis = o.fastWatchMillis;
    const logFile = path.join(dir, 'agent.log');
    const meminfoFile = path.join(simNode.paths.procRoot, 'meminfo');
    child = spawnLoom([
      ...baseArgs('child.sock'),
      '--fast-watch-millis', String(fastWatchMillis), '--fast-watch-max-millis', String(fastWatchMillis), '--memory-evict-threshold-percent', '70', '--memory-evict-lower-percent', '69.95',
      '--memory-evict-cool-time-seconds', '0', '--max-evictions-per-minute', '10000', '--grace-period-seconds', '5',
    ], logFile, { LOOM_LOG_LEVEL: 'info' }, [...(o.nodeArgs ?? []), ...(process.env.BENCH_AGENT_PROF_FAST ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_AGENT_PROF_FAST}`] : [])]);
    const agentChild = child;
    if (process.env.BENCH_RSS_TRACE) {
      // BENCH_RSS_TRACE=<seconds>: each new resident-set high of the reaction child, with its split.
      const t0 = performance.now();
      let high = 0;
      const iv = setInterval(() => {
        const st = (() => { try { return fs.readFileSync(`/proc/${agentChild.pid}/status`, 'utf8'); } catch { return ''; } })();
        const f = (k: string) => (new RegExp(`${k}:\\s+(\\d+)`).exec(st)?.[1] ?? '?');
        const rss = agentChild.rssMB();
        if (!(rss > high)) return;
        high = rss;
        say(`rss trace ${(performance.now() - t0).toFixed(0)} ms: ${rss.toFixed(1)} MB (anon ${f('RssAnon')} kB, file ${f('RssFile')} kB, threads ${f('Threads')})`);
      }, 10);
      setTimeout(() => clearInterval(iv), (Number(process.env.BENCH_RSS_TRACE) || 3) * 1000);
    }
    await waitRunning(agentChild, logFile);
    // The same idle measurement at the fast-watch period the reaction trials use.
    const fast = await idleCpu(agentChild, o.idleSeconds, o.containers, say, `fixed ${fastWatchMillis} ms fast watch`);
    say(`agent bench: agent child before the trials: rss ${agentChild.rssMB().toFixed(1)} MB, peak ${agentChild.peakRssMB().toFixed(1)} MB`);
    const reactions: number[] = [];
    /** The same trials ended by the bench's 'exit' event (later by however long its event loop was busy). */
    const reactionsEvent: number[] = [];
    /** Per trial: wall-clock time of the write (the agent's log uses wall-clock ms) and the reaction. */
    const trialsAt: { wall: number; ms: number }[] = [];
    // Each container's real process held by a pidfd: its exit is timed when the kernel finished it,
    // not when this busy event loop (two simulators, the trials) gets to its 'exit' event.
    const watcher = exitWatchUsable() ? new ExitWatcher() : undefined;
    const idOfPid = new Map<number, string>();
    const pidOfId = new Map<string, number>();
    const watchPopulation = async (): Promise<void> => {
      if (!watcher) return;
      for (const id of simNode.containerIds()) {
        const pid = simNode.containerPid(id);
        if (pid === undefined || idOfPid.has(pid)) continue;
        idOfPid.set(pid, id);
        pidOfId.set(id, pid);
        await watcher.watch(pid);
      }
    };
    const low = meminfoText(memoryBytes, memoryBytes * 0.5);
    const high = meminfoText(memoryBytes, memoryBytes * 0.701); // release to 69.95 %: ≈ 66 MiB, one victim
    for (let k = 0; k < o.trials; k++) {
      await watchPopulation();
      await sleep(30 + Math.random() * 170); // random phase against the 100 ms watch
      const before = exits.length;
      const wall = Date.now();
      const t = performance.now();
      writeAtomic(meminfoFile, high);
      let at: number | undefined;
      try {
        const exited = new Promise<void>((resolve) => { onExit = resolve; });
        if (exits.length === before) await Promise.race([exited, sleep(5000)]);
        onExit = undefined;
        at = exits.length > before ? exits[before]!.at : undefined;
        if (at === undefined) throw new Error('none');
      } catch {
        say(`agent bench: trial ${k}: no eviction within 5 s`);
      }
      writeAtomic(meminfoFile, low);
      if (at !== undefined) {
        const pid = pidOfId.get(exits[before]!.id);
        const exitedAt = watcher && pid !== undefined ? await Promise.race([watcher.exitedAt(pid), sleep(2000).then(() => undefined)]) : undefined;
        const ms = (exitedAt ?? at) - t;
        reactions.push(ms);
        reactionsEvent.push(at - t);
        trialsAt.push({ wall, ms });
      }
      // Wait for YARN to replace the container and the node to run it again.
      await waitFor('the population back', () => { cluster.tick(); return cluster.liveContainers(nodeId).length === o.containers && exits.length >= before ? true : undefined; }, 10_000, 5);
      await sleep(0);
      simNode.render();
      writeAtomic(meminfoFile, low);
    }
    watcher?.close();
    await sleep(1200);
    const rssMB = await child.stop();
    child = undefined;
    const reactionTail = tailOf(trialsAt, logFile);
    for (const x of reactionTail) say(`agent bench: slow trial ${JSON.stringify(x)}`);
    say(`agent bench: reaction p50 ${percentile(reactions, 50).toFixed(1)} ms, p99 ${percentile(reactions, 99).toFixed(1)} ms over ${reactions.length} trials (exit seen by ${watcher ? 'pidfd' : "the 'exit' event"}; by the 'exit' event p50 ${percentile(reactionsEvent, 50).toFixed(1)}, p99 ${percentile(reactionsEvent, 99).toFixed(1)}); agent peak RSS ${rssMB.toFixed(1)} MB`);

    // ---- real cgroups ---------------------------------------------------------------------
    const real = await realCgroupReaction(o.realTrials, say, o.nodeArgs ?? []);

    return {
      results: {
        containers: o.containers,
        tickMedianMs: round(median(ticks), 3),
        rawReadMedianMs: round(median(raw), 3),
        reactionP50Ms: round(percentile(reactions, 50), 1),
        reactionP99Ms: round(percentile(reactions, 99), 1),
        realCgroupReactionMs: real.ms === null ? null : round(real.ms, 1),
        ...(real.note ? { realCgroupReactionNote: real.note } : {}),
        rssMB: round(rssMB, 1),
        cpuPercentIdle: round(headline.cpuPercent, 2),
        cpuPercentFastWatch: round(fast.cpuPercent, 2),
      },
      details: {
        filesPerTick: files.length,
        tickP90Ms: round(percentile(ticks, 90), 3),
        rawReadP90Ms: round(percentile(raw, 90), 3),
        reactionTrials: reactions.length,
        reactionExitSeenBy: watcher ? 'pidfd' : 'exit event',
        reactionEventP50Ms: round(percentile(reactionsEvent, 50), 1),
        reactionEventP99Ms: round(percentile(reactionsEvent, 99), 1),
        reactionMaxMs: round(Math.max(...reactions), 1),
        realCgroupTrials: real.trials.map((x) => round(x, 1)),
        realCgroupBreakdown: real.breakdown,
        realCgroupTeardownMs: real.teardownMs,
        realCgroupSignalMs: signalMedian(real.breakdown),
        realCgroupExit: exitDetails(real),
        fastWatchMillis,
        idleSeconds: o.idleSeconds,
        ...idleFigures,
        idleLoad: idleWindows(idle, steady, realIdle, fast),
        reactionTail,
      },
    };
  } finally {
    await child?.stop(2000);
    await yarn?.stop().catch(() => undefined);
    await node?.stop().catch(() => undefined);
    // BENCH_AGENT_LOG=/path keeps the agent child's log (it lives in the temp dir removed here).
    const keep = process.env.BENCH_AGENT_LOG;
    if (keep && fs.existsSync(path.join(dir, 'agent.log'))) fs.copyFileSync(path.join(dir, 'agent.log'), keep);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The idle figures of details.json: the headline's second window, both nodes' figures, which node is the headline. */
function idleDetails(simFirst: IdleWindow, simSteady: IdleWindow, real: RealIdleOutcome): Pick<AgentDetails, 'cpuPercentIdleSteady' | 'idleNode' | 'idleNodeNote' | 'cpuPercentIdleSimulated' | 'cpuPercentIdleSimulatedSteady' | 'idleRealNode'> {
  const simulated = { cpuPercentIdleSimulated: round(simFirst.cpuPercent, 2), cpuPercentIdleSimulatedSteady: round(simSteady.cpuPercent, 2) };
  if (real.node === 'simulated') return { cpuPercentIdleSteady: simulated.cpuPercentIdleSimulatedSteady, idleNode: 'simulated', idleNodeNote: real.reason, ...simulated };
  const { provenBefore, provenAfter, evictThresholdPercent } = real;
  return {
    cpuPercentIdleSteady: round(real.steady.cpuPercent, 2), idleNode: 'real', ...simulated,
    idleRealNode: { provenBefore, provenAfter, nodeMemoryPercent: round(real.nodeMemoryPercent, 1), evictThresholdPercent },
  };
}

/** Every idle window measured, in order, with its machine load. */
function idleWindows(simFirst: IdleWindow, simSteady: IdleWindow, real: RealIdleOutcome, ...more: IdleWindow[]): IdleWindow[] {
  const all = [simFirst, simSteady, ...(real.node === 'real' ? [real.first, real.steady] : []), ...more];
  return all.map((x) => ({ ...x, cpuPercent: round(x.cpuPercent, 2) }));
}

function exitDetails(r: RealCgroupOutcome): NonNullable<AgentDetails['realCgroupExit']> {
  const { exitSeenBy, eventTrials, teardownTrials, teardownKillMs, teardownKillTrials } = r;
  return { ...(exitSeenBy ? { exitSeenBy } : {}), ...(eventTrials ? { eventTrials } : {}), ...(teardownTrials ? { teardownTrials } : {}), ...(teardownKillMs !== undefined ? { teardownKillMs } : {}), ...(teardownKillTrials ? { teardownKillTrials } : {}) };
}

function signalMedian(b: AgentDetails['reactionTail']): number | null {
  const xs = b.map((x) => x.signalMs).filter((x): x is number => x !== undefined);
  return xs.length > 0 ? round(median(xs), 1) : null;
}

/**
 * The `count` slowest trials, each matched with the first decision the agent logged after its
 * write (`marker`: the fast watch's line, or any rules decision) and the fast watch's lateness.
 */
function tailOf(trials: { wall: number; ms: number }[], logFile: string, count = 5, marker = 'fast memory watch acted before the tick'): AgentDetails['reactionTail'] {
  type Acted = { time: number; signalledAt?: number; lookLateMs?: number; duringTick?: boolean };
  const acted: Acted[] = [];
  let last: Acted | undefined;
  const timeOf = (l: { time: number | string }): number => (typeof l.time === 'string' ? Date.parse(l.time) : l.time);
  for (const line of fs.readFileSync(logFile, 'utf8').split('\n')) {
    try {
      if (line.includes(marker)) {
        last = { time: timeOf(JSON.parse(line) as { time: number | string }) };
        acted.push(last);
      }
      // Logged once the evictor returned: the signal is out by then (it is sent synchronously).
      // When the watch runs on its own thread, the line carries when it decided and signalled.
      if (last && line.includes('fast memory watch acted before the tick')) {
        const l = JSON.parse(line) as { time: number | string; lookLateMs?: number; duringTick?: boolean; decidedAt?: number; signalledAt?: number };
        if (l.decidedAt !== undefined) last.time = l.decidedAt;
        last.signalledAt = l.signalledAt ?? timeOf(l);
        if (l.lookLateMs !== undefined) last.lookLateMs = l.lookLateMs;
        if (l.duringTick !== undefined) last.duringTick = l.duringTick;
      }
    } catch { /* not JSON */ }
  }
  return [...trials].sort((a, b) => b.ms - a.ms).slice(0, count).map((t) => {
    const a = acted.find((x) => x.time >= t.wall);
    if (!a || a.time - t.wall > t.ms + 5) return { totalMs: round(t.ms, 1) };
    const detectMs = a.time - t.wall;
    const signalMs = (a.signalledAt ?? a.time) - t.wall;
    return {
      totalMs: round(t.ms, 1), detectMs, signalMs, ...(a.lookLateMs !== undefined ? { lookLateMs: a.lookLateMs } : {}),
      ...(a.duringTick !== undefined ? { duringTick: a.duringTick } : {}),
      killToExitMs: round(t.ms - signalMs, 1),
    };
  });
}

// ---------------------------------------------------------------------------------------------

const IDLE = 'container_1700000000000_0001_01_000001';
/** The growing container of trial k (a new container each time, as YARN would start). */
const hogId = (k: number): string => `container_1700000000000_0001_01_${String(k + 2).padStart(6, '0')}`;
/** Grows by 8 MiB every 10 ms (pages touched) up to 400 MiB, then holds. */
const HOG_SCRIPT = "process.stdin.once('data', () => { const keep = []; let n = 0; const t = setInterval(() => { if (n++ < 50) keep.push(Buffer.alloc(8 * 1024 * 1024, 7)); }, 10); globalThis.keep = keep; });";

interface RealCgroupOutcome {
  ms: number | null;
  note?: string;
  trials: number[];
  breakdown: AgentDetails['realCgroupBreakdown'];
  teardownMs: number | null;
  /** How the victim's exit was observed: a pidfd (the kernel's exit) or the bench's 'exit' event. */
  exitSeenBy?: 'pidfd' | 'exit-event';
  /** The trials with the exit as the bench's 'exit' event saw it (its event loop's delay included). */
  eventTrials?: number[];
  teardownTrials?: number[];
  /** The floor with SIGKILL instead of SIGTERM. */
  teardownKillMs?: number | null;
  teardownKillTrials?: number[];
}

async function realCgroupReaction(trials: number, say: (m: string) => void, nodeArgs: string[]): Promise<RealCgroupOutcome> {
  const why = probeRealCgroups();
  if (why) return { ms: null, note: why, trials: [], breakdown: [], teardownMs: null };
  const yarnPath = `${benchPrefix()}/kubepods/besteffort/hadoop-yarn`;
  const tmp = makeSimTempDir('loom-bench-real-');
  const fakeProc = path.join(tmp, 'proc');
  fs.mkdirSync(fakeProc);
  fs.copyFileSync('/proc/mounts', path.join(fakeProc, 'mounts'));
  fs.copyFileSync('/proc/stat', path.join(fakeProc, 'stat'));
  const made = new MadeCgroups();
  const procs: ChildProcess[] = [];
  let nm: http.Server | undefined;
  let agent: LoomChild | undefined;
  let standIn: NodeJS.Timeout | undefined;
  const results: number[] = [];
  /** The same trials with the exit as the bench's 'exit' event saw it. */
  const eventResults: number[] = [];
  const crossings: { wall: number; ms: number }[] = [];
  const teardowns: number[] = [];
  const teardownsKill: number[] = [];
  const pidfdExits = exitWatchUsable();
  let logFile = '';
  const total = 1024 * MiB;
  const base = 400 * MiB; // the rest of the node
  const meminfo = path.join(fakeProc, 'meminfo');
  writeAtomic(meminfo, meminfoText(total, base));
  try {
    const cgs = NodeCgroups.open({ cgroupRoot: CGROUP_ROOT, procRoot: '/proc', yarnCgroupPath: yarnPath });
    const roots = agentHierarchyRoots(cgs.layout);
    const mkdirs = (root: string, rel: string): void => made.make(root, rel);
    const entry = (id: string) => ({
      id, state: 'RUNNING', exitCode: -1000, diagnostics: '', user: 'etl', totalMemoryNeededMB: 512, totalVCoresNeeded: 1,
      executionType: 'GUARANTEED', containerLogsLink: '', nodeId: 'node-real:45454', containerLogFiles: [],
    });
    for (const root of roots) mkdirs(root, `${yarnPath}/${IDLE}`);
    let list = [entry(IDLE)];
    nm = http.createServer((req, res) => {
      const p = (req.url ?? '').split('?')[0];
      const body = p === '/ws/v1/node/info'
        ? { nodeInfo: { id: 'node-real:45454', nodeHostName: 'node-real', nmStartupTime: 1 } }
        : p === '/ws/v1/node/containers' ? { containers: { container: list } } : undefined;
      if (!body) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((r) => nm!.listen(0, '127.0.0.1', () => r()));
    const start = (cmd: string, args: string[], stdin: boolean): ChildProcess & { pid: number } => {
      const c = spawn(cmd, args, { stdio: [stdin ? 'pipe' : 'ignore', 'ignore', 'ignore'] });
      procs.push(c);
      fs.symlinkSync(`/proc/${c.pid}`, path.join(fakeProc, String(c.pid)));
      return c as ChildProcess & { pid: number };
    };
    const enter = (id: string, pid: number): void => {
      for (const d of cgs.container(id).all) fs.writeFileSync(path.join(d.dir, 'cgroup.procs'), String(pid));
    };
    const idle = start('sleep', ['600'], false);
    enter(IDLE, idle.pid);
    logFile = path.join(tmp, 'agent.log');
    agent = spawnLoom([
      'agent', '--node-name', 'node-real', '--nm-url', `http://127.0.0.1:${(nm.address() as AddressInfo).port}`, '--cgroup-root', CGROUP_ROOT,
      '--proc-root', fakeProc, '--yarn-cgroup-path', yarnPath, '--socket', path.join(tmp, 'run', 'agent.sock'), '--metrics-addr', '127.0.0.1:0',
      '--memory-evict-threshold-percent', '70', '--memory-evict-lower-percent', '60', '--memory-evict-cool-time-seconds', '0',
      '--victim-order', 'largest-memory', '--grace-period-seconds', '2', '--max-evictions-per-minute', '10000',
    ], logFile, { LOOM_LOG_LEVEL: 'info' }, nodeArgs);
    const a = agent;
    await waitFor('the agent on real cgroups running', () => {
      if (a.child.exitCode !== null) throw new Error(`agent exited: ${tail(logFile)}`);
      return fs.readFileSync(logFile, 'utf8').includes('node agent running') ? true : undefined;
    }, 30_000, 100);
    await sleep(1500);
    const threshold = total * 0.7;
    for (let k = 0; k < trials; k++) {
      const id = hogId(k);
      for (const root of roots) mkdirs(root, `${yarnPath}/${id}`);
      list = [entry(IDLE), entry(id)];
      const hogCg = cgs.container(id);
      const hog = start(process.execPath, ['-e', HOG_SCRIPT], true);
      enter(id, hog.pid); // before allocating: v1 charges pages at fault time
      await sleep(1200); // the agent lists and proves the new process's container
      let crossedAt: number | undefined;
      let crossedWall = 0;
      let exitedAt: number | undefined;
      hog.once('exit', () => { exitedAt = performance.now(); });
      // The exit as the kernel ends it, not as this busy event loop hears of it (exit-watch.ts).
      const watch = pidfdExits ? watchExit(hog.pid) : undefined;
      if (watch && !(await watch.ready)) say(`agent bench: real cgroup trial ${k}: no pidfd watch, the exit event is used`);
      // Kernel stand-in: node memory used = the rest of the node + the cgroup's real usage, every 2 ms.
      standIn = setInterval(() => {
        let usage = 0;
        try { usage = readMemoryUsage(hogCg); } catch { return; }
        const used = base + usage;
        writeAtomic(meminfo, meminfoText(total, used));
        if (crossedAt === undefined && used >= threshold) { crossedAt = performance.now(); crossedWall = Date.now(); }
      }, 2);
      hog.stdin!.write('go\n');
      try {
        await waitFor('the growing process killed', () => (exitedAt !== undefined ? true : undefined), 10_000, 1);
      } catch {
        say(`agent bench: real cgroup trial ${k}: not killed within 10 s`);
      }
      clearInterval(standIn);
      standIn = undefined;
      writeAtomic(meminfo, meminfoText(total, base));
      const kernelExit = await watch?.exitedAt;
      if (crossedAt !== undefined && exitedAt !== undefined) {
        const exit = kernelExit ?? exitedAt;
        results.push(exit - crossedAt);
        eventResults.push(exitedAt - crossedAt);
        crossings.push({ wall: crossedWall, ms: exit - crossedAt });
      }
      if (hog.exitCode === null && hog.signalCode === null) hog.kill('SIGKILL');
      list = [entry(IDLE)]; // the NM forgets the finished container
      await sleep(500);
    }
    // The floor: the same process grown to the crossing in a container cgroup of its own, stopped by us.
    await agent.stop(2000);
    agent = undefined;
    // Each trial twice: SIGTERM (what a graceful eviction sends) and SIGKILL.
    for (let k = 0; k < 2 * trials; k++) {
      const signal = k % 2 === 0 ? 'SIGTERM' : 'SIGKILL';
      const id = hogId(trials + k);
      for (const root of roots) mkdirs(root, `${yarnPath}/${id}`);
      const cg = cgs.container(id);
      const hog = start(process.execPath, ['-e', HOG_SCRIPT], true);
      enter(id, hog.pid);
      const watch = pidfdExits ? watchExit(hog.pid) : undefined;
      if (watch) await watch.ready;
      await sleep(300);
      hog.stdin!.write('go\n');
      const exited = new Promise<number>((r) => hog.once('exit', () => r(performance.now())));
      await waitFor('the process grown to the crossing', () => { try { return base + readMemoryUsage(cg) >= threshold ? true : undefined; } catch { return undefined; } }, 10_000, 1);
      const t = performance.now();
      hog.kill(signal);
      const event = await exited;
      const kernel = await watch?.exitedAt;
      (signal === 'SIGTERM' ? teardowns : teardownsKill).push((kernel ?? event) - t);
      await sleep(300);
    }
    const breakdown = tailOf(crossings, logFile, crossings.length, 'rules decided evictions');
    for (const b of breakdown) say(`agent bench: real cgroup trial ${JSON.stringify(b)}`);
    say(`agent bench: real cgroup reaction (exit ${pidfdExits ? 'seen by a pidfd' : 'event'}) ${results.map((r) => r.toFixed(1)).join(', ')} ms; as the bench's exit event saw it ${eventResults.map((r) => r.toFixed(1)).join(', ')} ms; teardown floor (no agent) SIGTERM → exit ${teardowns.map((r) => r.toFixed(1)).join(', ')} ms, SIGKILL → exit ${teardownsKill.map((r) => r.toFixed(1)).join(', ')} ms`);
    const teardownMs = teardowns.length > 0 ? round(median(teardowns), 1) : null;
    const extra = {
      exitSeenBy: pidfdExits ? 'pidfd' as const : 'exit-event' as const,
      eventTrials: eventResults.map((x) => round(x, 1)),
      teardownTrials: teardowns.map((x) => round(x, 1)),
      teardownKillMs: teardownsKill.length > 0 ? round(median(teardownsKill), 1) : null,
      teardownKillTrials: teardownsKill.map((x) => round(x, 1)),
    };
    if (results.length === 0) return { ms: null, note: 'the agent killed no process on real cgroups within 10 s (see bench log)', trials: [], breakdown, teardownMs, ...extra };
    return { ms: median(results), trials: results, breakdown, teardownMs, ...extra };
  } catch (err) {
    return { ms: null, note: `real cgroups unusable here: ${(err as Error).message}`, trials: results, breakdown: [], teardownMs: null };
  } finally {
    if (standIn) clearInterval(standIn);
    await agent?.stop(2000);
    if (nm) { nm.closeAllConnections(); await new Promise<void>((r) => nm!.close(() => r())); }
    for (const c of procs) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(procs.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
    const left = await made.removeAll();
    if (left.length > 0) say(`agent bench: real cgroups left behind (still busy): ${left.join(', ')}`);
    const keep = process.env.BENCH_AGENT_REAL_LOG;
    if (keep && fs.existsSync(path.join(tmp, 'agent.log'))) fs.copyFileSync(path.join(tmp, 'agent.log'), keep);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

async function waitRunning(c: LoomChild, logFile: string): Promise<void> {
  await waitFor('the agent child running', () => {
    if (c.child.exitCode !== null) throw new Error(`agent exited: ${tail(logFile)}`);
    return fs.readFileSync(logFile, 'utf8').includes('node agent running') ? true : undefined;
  }, 30_000, 100);
  await sleep(2500); // two ticks: containers proven, CPU rates known
}
