/**
 * The idle agent on a real node: the same `loom agent` child at its default settings, the same
 * simulated NodeManager listing the same 200 containers, but the cgroups and `/proc` are the
 * kernel's (`--cgroup-root /sys/fs/cgroup --proc-root /proc`, no `--simulated-cgroups`).
 *
 * Each listed container gets real v1 memory, cpu and cpuacct groups (and one in the unified v2
 * tree) under a unique `loom-bench-<hex>/kubepods/besteffort/hadoop-yarn` parent, with one real
 * idle process (`sleep infinity`) in them, as a NodeManager would have started it. Node memory is
 * this machine's `/proc/meminfo`, so it must be well under the eviction threshold before anything
 * is measured. The agent must prove every container (its `/metrics`) before the first window and
 * still after the last: a figure from an agent that proves nothing would not be this measurement.
 *
 * Why it differs from the simulated node: the simulator replaces its files by rename, so the
 * agent's held-file reader `stat`s every path on every read and reopens what changed; kernel
 * cgroupfs and procfs files are never replaced, and a held descriptor is read by one `pread`.
 *
 * When the machine does not allow it (not root, no writable v1 hierarchies, node memory too
 * high) the outcome says why in one line and nothing is measured.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { agentSettingSpecs } from '../agent/settings.js';
import { NodeCgroups } from '../cgroup/index.js';
import { makeSimTempDir } from '../sim/node/temp-dir.js';
import { idleCpu, type IdleWindow } from './idle-cpu.js';
import { type LoomChild, sleep, spawnLoom, tail, waitFor } from './proc.js';
import { agentHierarchyRoots, benchPrefix, CGROUP_ROOT, MadeCgroups, probeRealCgroups } from './real-cgroups.js';

export interface RealIdleOptions {
  /** `--node-name`: the NodeManager's host, as the simulated-node child uses. */
  nodeName: string;
  nmUrl: string;
  /** The containers the NodeManager lists (each gets real cgroups and a process). */
  containerIds: readonly string[];
  idleSeconds: number;
  /** Extra agent flags (BENCH_AGENT_IDLE_ARGS), the same as the simulated idle child's. */
  extraArgs: readonly string[];
  /** Label of the settings in the printed lines ("default settings", or the extra flags). */
  settingsLabel: string;
  nodeArgs: readonly string[];
  say: (m: string) => void;
}

export type RealIdleOutcome =
  | {
    node: 'real';
    first: IdleWindow;
    steady: IdleWindow;
    /** Containers the agent proved (its `loom_agent_containers{state="proven"}`) before the first window and after the last. */
    provenBefore: number;
    provenAfter: number;
    /** This machine's memory in use when the windows began (MemTotal − MemAvailable), % of MemTotal. */
    nodeMemoryPercent: number;
    evictThresholdPercent: number;
  }
  | { node: 'simulated'; reason: string };

/** After the agent says it runs, the window starts when the simulated one does: 2.5 s later (V8's warm-up inside it). */
const START_AFTER_RUNNING_MS = 2500;

/** The agent's default eviction threshold (% of node memory), from its settings table. */
function defaultEvictThresholdPercent(): number {
  const spec = agentSettingSpecs.find((s) => s.key === 'memoryEvictThresholdPercent');
  if (typeof spec?.default !== 'number') throw new Error('agent settings: memoryEvictThresholdPercent has no numeric default');
  return spec.default;
}

/** Pure: (MemTotal − MemAvailable) / MemTotal of a `/proc/meminfo` text, %: what the agent computes. */
export function memoryPercentOf(text: string): number {
  const kb = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text);
    if (!m) throw new Error(`/proc/meminfo has no ${key}`);
    return Number(m[1]);
  };
  const total = kb('MemTotal');
  return (100 * (total - kb('MemAvailable'))) / total;
}

const nodeMemoryPercent = (): number => memoryPercentOf(fs.readFileSync('/proc/meminfo', 'latin1'));

/** Pure: why node memory at `percent` is too high for an idle measurement (not more than 10 points under the threshold), or undefined. */
export function memoryTooHigh(percent: number, thresholdPercent: number): string | undefined {
  return percent < thresholdPercent - 10 ? undefined : `node memory ${percent.toFixed(1)} % in use is not more than 10 points under the default eviction threshold ${thresholdPercent} %`;
}

/** Pure: `loom_agent_containers` by state from a /metrics text (`{state="proven",node="…"} 200`: the labels in any order). */
export function containersByStateOf(text: string): { proven: number; unproven: number } {
  const of = (state: string): number => {
    for (const m of text.matchAll(/^loom_agent_containers\{([^}]*)\} (\d+)$/gm)) if (m[1]!.split(',').includes(`state="${state}"`)) return Number(m[2]);
    return 0;
  };
  return { proven: of('proven'), unproven: of('unproven') };
}

/** `loom_agent_containers` by state from the agent's /metrics. */
async function containersByState(metricsUrl: string): Promise<{ proven: number; unproven: number }> {
  const res = await fetch(`${metricsUrl}/metrics`);
  const text = await res.text();
  if (!res.ok) throw new Error(`${metricsUrl}/metrics answered ${res.status}`);
  return containersByStateOf(text);
}

export async function realNodeIdle(o: RealIdleOptions): Promise<RealIdleOutcome> {
  const why = probeRealCgroups();
  if (why) return { node: 'simulated', reason: why };
  const threshold = defaultEvictThresholdPercent();
  const memory = nodeMemoryPercent();
  const tooHigh = memoryTooHigh(memory, threshold);
  if (tooHigh) return { node: 'simulated', reason: tooHigh };
  const yarnPath = `${benchPrefix()}/kubepods/besteffort/hadoop-yarn`;
  let cgs: NodeCgroups;
  try {
    cgs = NodeCgroups.open({ cgroupRoot: CGROUP_ROOT, procRoot: '/proc', yarnCgroupPath: yarnPath });
  } catch (err) {
    return { node: 'simulated', reason: `cgroup layout not usable: ${(err as Error).message}` };
  }
  const missing = ['memory', 'cpu', 'cpuacct'].filter((c) => cgs.layout.hierarchies.every((h) => h.version !== 1 || !h.controllers.includes(c)));
  if (missing.length > 0) return { node: 'simulated', reason: `no v1 ${missing.join(', ')} hierarchy under ${CGROUP_ROOT}` };

  const tmp = makeSimTempDir('loom-bench-idle-real-');
  const made = new MadeCgroups();
  const sleepers: ChildProcess[] = [];
  let agent: LoomChild | undefined;
  const logFile = path.join(tmp, 'agent.log');
  // A bench ended by its watchdog or a signal (process.exit) leaves no process behind.
  const killSleepers = (): void => { for (const p of sleepers) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL'); };
  process.on('exit', killSleepers);
  try {
    const roots = agentHierarchyRoots(cgs.layout);
    for (const root of roots) made.make(root, yarnPath);
    for (const id of o.containerIds) {
      for (const root of roots) made.make(root, `${yarnPath}/${id}`);
      const p = spawn('sleep', ['infinity'], { stdio: 'ignore' });
      const pid = p.pid;
      if (pid === undefined) throw new Error('cannot start `sleep` for a container');
      sleepers.push(p);
      const dirs = cgs.container(id).all;
      if (dirs.length !== roots.length) throw new Error(`container ${id}: ${dirs.length} cgroup directories proven, ${roots.length} made`);
      for (const d of dirs) fs.writeFileSync(path.join(d.dir, 'cgroup.procs'), String(pid));
    }
    o.say(`agent bench: real node: ${o.containerIds.length} containers, each a \`sleep\` in its own v1 memory/cpu/cpuacct${cgs.layout.unified ? ' + v2' : ''} groups under ${yarnPath}; node memory ${memory.toFixed(1)} % (threshold ${threshold} %)`);

    agent = spawnLoom([
      'agent', '--node-name', o.nodeName, '--nm-url', o.nmUrl, '--cgroup-root', CGROUP_ROOT, '--proc-root', '/proc',
      '--yarn-cgroup-path', yarnPath, '--socket', path.join(tmp, 'run', 'idle-real.sock'), '--metrics-addr', '127.0.0.1:0', ...o.extraArgs,
    ], logFile, { LOOM_LOG_LEVEL: 'info' }, [...o.nodeArgs]);
    const a = agent;
    const running = await waitFor('the agent on the real node running', () => {
      if (a.child.exitCode !== null) throw new Error(`the agent on the real node exited: ${tail(logFile)}`);
      const line = fs.readFileSync(logFile, 'utf8').split('\n').find((l) => l.includes('node agent running'));
      return line === undefined ? undefined : { at: performance.now(), metricsUrl: (JSON.parse(line) as { metrics?: string }).metrics };
    }, 30_000, 100);
    const metricsUrl = running.metricsUrl;
    if (!metricsUrl) throw new Error(`the agent on the real node serves no /metrics: ${tail(logFile)}`);
    const want = o.containerIds.length;
    let seen = { proven: 0, unproven: 0 };
    try {
      await waitFor(`the agent proving all ${want} containers`, async () => {
        seen = await containersByState(metricsUrl);
        return seen.proven === want && seen.unproven === 0 ? true : undefined;
      }, 30_000, 200);
    } catch {
      throw new Error(`the agent on the real node proved ${seen.proven} of ${want} containers (${seen.unproven} unproven) within 30 s; its log:\n${tail(logFile)}`);
    }
    const provenBefore = seen.proven;
    const wait = START_AFTER_RUNNING_MS - (performance.now() - running.at);
    if (wait > 0) await sleep(wait);
    const nodeMemory = nodeMemoryPercent();
    const first = await idleCpu(a, o.idleSeconds, want, o.say, `real node, ${o.settingsLabel}`);
    const steady = await idleCpu(a, o.idleSeconds, want, o.say, `real node, ${o.settingsLabel}, the next window`);
    const after = await containersByState(metricsUrl);
    if (after.proven !== want || after.unproven !== 0) {
      throw new Error(`the agent on the real node proved ${after.proven} of ${want} containers (${after.unproven} unproven) at the end of the windows; its log:\n${tail(logFile)}`);
    }
    return { node: 'real', first, steady, provenBefore, provenAfter: after.proven, nodeMemoryPercent: nodeMemory, evictThresholdPercent: threshold };
  } finally {
    await agent?.stop(2000);
    killSleepers();
    process.off('exit', killSleepers);
    await Promise.all(sleepers.map((p) => (p.exitCode !== null || p.signalCode !== null ? undefined : new Promise((r) => p.once('exit', r)))));
    const left = await made.removeAll();
    if (left.length > 0) o.say(`agent bench: real node: cgroups left behind (still busy): ${left.join(', ')}`);
    // BENCH_AGENT_IDLE_REAL_LOG=/path keeps this agent's log.
    const keep = process.env.BENCH_AGENT_IDLE_REAL_LOG;
    if (keep && fs.existsSync(logFile)) fs.copyFileSync(logFile, keep);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
