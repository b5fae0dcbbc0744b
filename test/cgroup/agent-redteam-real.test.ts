/**
 * Red team on real cgroups (root; v1 memory/cpu/cpuacct plus the unified v2 tree of a hybrid
 * host): `loom agent` as a real process in a private mount namespace (`unshare -m`) with a fake
 * `/proc/meminfo` bind-mounted over the real one, against a NodeManager that lists the test's
 * containers. Each scenario asserts exactly which processes die and that `/healthz` stays under
 * a second:
 *
 * - the agent inside a YARN container's v1 cgroups, then its v2 (and v1) cgroups, ordinary
 *   pressure: the container's other process gets SIGTERM, the grace period ends with SIGKILL pid
 *   by pid (no `cgroup.kill`), the agent lives, the eviction fails once (it cannot empty a cgroup
 *   it is in) and is not retried every pass;
 * - the agent and its parent inside a YARN container's v2 (and v1) cgroups, memory emergency: no
 *   `cgroup.kill`, the other process gets SIGKILL, the agent and its parent live;
 * - another cgroup bind-mounted over a container's v2 directory, and another cgroup bind-mounted
 *   over the YARN parent in the cpu hierarchy: that container is refused (its process and the
 *   decoy live), a proven container is still killed, the decoy's CPU quota stays untouched;
 * - a simulator's tree whose `cgroup.kill` is a symlink into a real cgroup holding a decoy: the
 *   decoy lives (and without `--simulated-cgroups` such a tree is refused at start).
 *
 * Everything created is removed afterwards, even on failure. Skipped with one line when the
 * machine does not allow it.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent } from '../../agent/agent.js';
import { NodeCgroups } from '../../cgroup/index.js';
import { SimulatedNode } from '../../sim/node/index.js';
import { AgentChild, HealthMonitor } from '../integration/agent-child.js';
import { BASE_MS, GiB, LogCapture, MiB } from '../integration/agent-harness.js';
import { FakeNm } from '../integration/fake-nm.js';
import { CGROUP_ROOT, mkdirsRecorded, probeRealCgroups, removeCgroups, testContainerId } from './real-cgroups.js';

function probe(): { ok: boolean; reason: string } {
  const base = probeRealCgroups();
  if (!base.ok) return base;
  if (!fs.existsSync(path.join(CGROUP_ROOT, 'unified', 'cgroup.controllers'))) return { ok: false, reason: 'no unified v2 tree beside the v1 controllers (not a hybrid host)' };
  const u = spawnSync('unshare', ['-m', '--propagation', 'private', 'true']);
  if (u.error || u.status !== 0) return { ok: false, reason: `cannot make a private mount namespace (unshare -m): ${u.error?.message ?? u.stderr.toString().trim()}` };
  return { ok: true, reason: '' };
}
const probed = probe();
if (!probed.ok) console.log(`skipped (red team on real cgroups): ${probed.reason}`);

const PREFIX = `loom-redteam-${randomBytes(4).toString('hex')}`;
const YARN = `${PREFIX}/kubepods/besteffort/hadoop-yarn`;
const NODE_ID = 'node-real:45454';
const HOG_SCRIPT = "process.stdin.once('data', () => { globalThis.keep = Buffer.alloc(60 * 1024 * 1024, 7); console.log('ready'); setInterval(() => {}, 1e6); });";
const MEMTOTAL_KB = 1024 * 1024; // a 1 GiB node

describe.skipIf(!probed.ok)('red team on real cgroups', () => {
  let tmp: string;
  let meminfo: string;
  let nm: FakeNm;
  let roots: { memory: string; cpu: string; cpuacct: string; unified: string };
  const created: string[] = [];
  const children: ChildProcess[] = [];
  const agents: AgentChild[] = [];

  const alive = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null;
  const pidAlive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const exitSignal = (c: ChildProcess): Promise<NodeJS.Signals | null> =>
    !alive(c) ? Promise.resolve(c.signalCode) : new Promise((res) => c.once('exit', (_code, sig) => res(sig)));

  /** `rel` made in the given hierarchies (recorded for cleanup); returns the directories. */
  function cgroup(rel: string, where: (keyof typeof roots)[]): string[] {
    return where.map((h) => {
      mkdirsRecorded(roots[h], rel, created);
      return path.join(roots[h], rel);
    });
  }

  function enter(pid: number, dirs: string[]): void {
    for (const d of dirs) fs.writeFileSync(path.join(d, 'cgroup.procs'), String(pid));
  }

  function sleeper(): ChildProcess & { pid: number } {
    const c = spawn('sleep', ['300'], { stdio: 'ignore' });
    children.push(c);
    return c as ChildProcess & { pid: number };
  }

  /** A process that allocates 60 MB once it is in its cgroups (pages are charged where they are faulted). */
  async function hog(dirs: string[]): Promise<ChildProcess & { pid: number }> {
    const c = spawn(process.execPath, ['-e', HOG_SCRIPT], { stdio: ['pipe', 'pipe', 'ignore'] });
    children.push(c);
    enter(c.pid!, dirs);
    const ready = new Promise<void>((res) => c.stdout!.on('data', (b: Buffer) => { if (b.toString().includes('ready')) res(); }));
    c.stdin!.write('go\n');
    await ready;
    return c as ChildProcess & { pid: number };
  }

  /** Node memory use as the agent reads it, rewritten in place (same length) under its bind mount. */
  function writeMeminfo(usedPercent: number): void {
    const avail = Math.round(MEMTOTAL_KB * (1 - usedPercent / 100));
    const text = `MemTotal:       ${String(MEMTOTAL_KB).padStart(10)} kB\nMemFree:        ${String(avail).padStart(10)} kB\nMemAvailable:   ${String(avail).padStart(10)} kB\n`;
    const fd = fs.openSync(meminfo, 'r+');
    fs.writeSync(fd, text, 0);
    fs.closeSync(fd);
  }

  function agentArgs(name: string, extra: string[] = []): string[] {
    return [
      '--node-name', 'node-real', '--nm-url', nm.url, '--cgroup-root', CGROUP_ROOT, '--proc-root', '/proc', '--yarn-cgroup-path', YARN,
      '--socket', path.join(tmp, `${name}.sock`), '--metrics-addr', '127.0.0.1:0', '--tick-millis', '200', '--fast-watch-millis', '50',
      '--memory-evict-threshold-percent', '70', '--memory-evict-lower-percent', '69', '--memory-evict-cool-time-seconds', '1',
      '--grace-period-seconds', '1', '--victim-order', 'largest-memory', '--health-ticks', '50', ...extra,
    ];
  }

  async function agent(name: string, mounts: [string, string][] = []): Promise<AgentChild> {
    const a = new AgentChild({ args: agentArgs(name), mounts: [[meminfo, '/proc/meminfo'], ...mounts] });
    agents.push(a);
    await a.metricsUrl();
    return a;
  }

  /** Waits (tick by tick) until the agent measures `id` with a working set of at least `bytes`. */
  async function measured(a: AgentChild, id: string, bytes: number): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if ((await a.metric('loom_agent_container_memory_working_set_bytes', { container: id }) ?? 0) >= bytes) return;
      await a.moreTicks(1);
    }
    throw new Error(`${id} never measured at ${bytes} bytes; agent log:\n${a.lines.filter((l) => l.level >= 40).slice(-10).map((l) => JSON.stringify(l)).join('\n')}`);
  }

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-redteam-real-'));
    meminfo = path.join(tmp, 'meminfo');
    fs.writeFileSync(meminfo, '');
    writeMeminfo(50);
    const l = NodeCgroups.open({ cgroupRoot: CGROUP_ROOT, procRoot: '/proc', yarnCgroupPath: YARN }).layout;
    roots = { memory: l.controllerDirs.memory!, cpu: l.controllerDirs.cpu!, cpuacct: l.controllerDirs.cpuacct!, unified: l.unified!.dir };
    nm = new FakeNm(NODE_ID);
    await nm.start();
  });

  afterAll(async () => {
    for (const a of agents) await a.stop();
    await nm?.stop();
    for (const c of children) if (alive(c)) c.kill('SIGKILL');
    await Promise.all(children.map((c) => exitSignal(c)));
    await removeCgroups(created);
    fs.rmSync(tmp, { recursive: true, force: true });
    for (const dir of created) expect(fs.existsSync(dir)).toBe(false);
  });

  it.each([
    ['v1', ['memory', 'cpu', 'cpuacct'] as const, 11],
    ['v2 (and v1)', ['unified', 'memory', 'cpu', 'cpuacct'] as const, 21],
  ])('the agent inside a container\'s %s cgroups, ordinary pressure: the other process gets SIGTERM, no cgroup.kill after the grace period, the agent lives, one failure', async (_name, where, n) => {
    const C1 = testContainerId(n);
    const C2 = testContainerId(n + 1);
    const c1 = cgroup(`${YARN}/${C1}`, [...where]);
    const c2 = cgroup(`${YARN}/${C2}`, ['memory', 'cpu', 'cpuacct', 'unified']);
    const other = sleeper();
    enter(other.pid, c2);
    const decoy = sleeper();
    nm.entries = [{ id: C1 }, { id: C2 }];
    writeMeminfo(50);
    const a = await agent('ra');
    const agentPid = await a.pid();
    enter(agentPid, c1);
    const h1 = await hog(c1);
    await measured(a, C1, 50 * MiB);
    const health = new HealthMonitor(await a.metricsUrl());
    const since = a.mark;
    writeMeminfo(71);
    const evicting = await a.waitFor(/^evicting YARN container$/, 'an eviction', () => true, 20_000, since);
    expect(evicting).toMatchObject({ container: C1, mode: 'graceful' });
    expect(await exitSignal(h1)).toBe('SIGTERM');
    writeMeminfo(50);
    const failed = await a.waitFor(/^eviction failed/, 'the eviction to fail', (l) => l.container === C1, 20_000, since);
    expect(String(failed.error)).toMatch(new RegExp(`pid ${agentPid}: our own pid`));
    // The grace period ended with SIGKILL pid by pid (never cgroup.kill, which would have killed the agent).
    expect(failed).toMatchObject({ method: 'SIGTERM', escalated: true });
    await a.moreTicks(5);
    expect(a.find(/^eviction failed/).filter((l) => l.container === C1)).toHaveLength(1);
    expect(pidAlive(agentPid)).toBe(true);
    expect(a.alive).toBe(true);
    for (const c of [other, decoy]) expect(alive(c)).toBe(true);
    const h = await health.stop();
    expect(h.maxMs).toBeLessThan(1000);
    await a.stop(); // the next scenario's pressure is not for this agent
  }, 60_000);

  it('the agent and its parent inside a container\'s v2 cgroup, memory emergency: no cgroup.kill, the other process gets SIGKILL, both live', async () => {
    const C3 = testContainerId(13);
    const c3 = cgroup(`${YARN}/${C3}`, ['unified', 'memory', 'cpu', 'cpuacct']);
    const decoy = sleeper();
    nm.entries = [{ id: C3 }];
    writeMeminfo(50);
    const a = await agent('rb');
    const agentPid = await a.pid();
    const shellPid = a.shell.pid!;
    enter(shellPid, c3);
    enter(agentPid, c3);
    const h3 = await hog(c3);
    await measured(a, C3, 50 * MiB);
    const health = new HealthMonitor(await a.metricsUrl());
    const since = a.mark;
    writeMeminfo(95);
    const evicting = await a.waitFor(/^evicting YARN container$/, 'an eviction', () => true, 20_000, since);
    expect(evicting).toMatchObject({ container: C3, mode: 'immediate' });
    expect(await exitSignal(h3)).toBe('SIGKILL');
    writeMeminfo(50);
    const refused = await a.waitFor(/cgroup.kill not proven safe/, 'the cgroup.kill refusal', (l) => l.container === C3, 20_000, since);
    expect(String(refused.why)).toMatch(/our own pid|our parent's pid/);
    await a.waitFor(/^eviction failed/, 'the eviction to fail (the agent is still inside)', (l) => l.container === C3, 20_000, since);
    expect(pidAlive(agentPid)).toBe(true);
    expect(pidAlive(shellPid)).toBe(true);
    expect(alive(decoy)).toBe(true);
    const h = await health.stop();
    expect(h.maxMs).toBeLessThan(1000);
    await a.stop(); // the next scenario's pressure is not for this agent
  }, 60_000);

  it('cgroups bind-mounted over a container\'s v2 directory and over the YARN parent: refused; a proven container still dies; the decoys live', async () => {
    const C4 = testContainerId(14);
    const C5 = testContainerId(15);
    const decoyV2 = cgroup(`${PREFIX}/decoy`, ['unified']);
    const decoyCpu = cgroup(`${PREFIX}/decoy-cpu`, ['cpu']);
    const yarnCpu = cgroup(YARN, ['cpu'])[0]!;
    const c4 = cgroup(`${YARN}/${C4}`, ['unified', 'memory', 'cpuacct']);
    const c5 = cgroup(`${YARN}/${C5}`, ['unified', 'memory', 'cpuacct']);
    const du = sleeper();
    enter(du.pid, decoyV2);
    const dc = sleeper();
    enter(dc.pid, decoyCpu);
    const p4 = await hog([c4[1]!, c4[2]!]); // with a working set: a victim the rules would pick if it proved
    const quotaFile = path.join(decoyCpu[0]!, 'cpu.cfs_quota_us');
    expect(fs.readFileSync(quotaFile, 'utf8').trim()).toBe('-1');
    nm.entries = [{ id: C4 }, { id: C5 }];
    writeMeminfo(50);
    const a = await agent('rc', [[decoyV2[0]!, c4[0]!], [decoyCpu[0]!, yarnCpu]]);
    const h5 = await hog(c5);
    await measured(a, C5, 50 * MiB);
    const c4refused = await a.waitFor(/cannot be proven from its cgroup/, 'C4 refused', (l) => l.container === C4);
    expect(String(c4refused.problem)).toMatch(/is on mount \d+, not on the hierarchy's mount/);
    const parentRefused = await a.waitFor(/YARN parent cgroup refused/, 'the YARN parent refused');
    expect(String(parentRefused.err)).toMatch(/mounted over the YARN hierarchy/);
    expect(await a.metric('loom_agent_cgroup_refusals_total', { kind: 'bind-mount' })).toBeGreaterThanOrEqual(2);
    const health = new HealthMonitor(await a.metricsUrl());
    const since = a.mark;
    writeMeminfo(95);
    const evicting = await a.waitFor(/^evicting YARN container$/, 'an eviction', () => true, 20_000, since);
    expect(evicting.container).toBe(C5);
    expect(await exitSignal(h5)).toBe('SIGKILL');
    writeMeminfo(50);
    await a.waitFor(/^YARN container stopped$/, 'C5 stopped', (l) => l.container === C5, 20_000, since);
    await a.moreTicks(5);
    expect(a.find(/^evicting YARN container$/).map((l) => l.container)).toEqual([C5]);
    for (const c of [du, dc, p4]) expect(alive(c)).toBe(true);
    expect(fs.readFileSync(quotaFile, 'utf8').trim()).toBe('-1');
    const h = await health.stop();
    expect(h.maxMs).toBeLessThan(1000);
    await a.stop(); // the next scenario's pressure is not for this agent
  }, 60_000);

  it('a simulator\'s tree whose cgroup.kill is a symlink into a real cgroup: never written through; such a tree is refused without --simulated-cgroups', async () => {
    const decoyDir = cgroup(`${PREFIX}/decoy-kill`, ['unified'])[0]!;
    const decoy = sleeper();
    enter(decoy.pid, [decoyDir]);
    const X = testContainerId(16);
    const node = SimulatedNode.create({
      name: 'node-sim', dir: tmp, layout: 'v2', driver: 'cgroupfs', cpuCores: 4, memoryBytes: 16 * GiB,
      systemLoad: { cpuMilli: 100, memoryBytes: 512 * MiB, cacheBytes: 0 }, onlineLoad: { cpuMilli: 500, memoryBytes: GiB, cacheBytes: 0 },
    });
    const simNm = new FakeNm();
    await simNm.start();
    try {
      node.syncContainers([{ id: X, memoryMiB: 2048, vcores: 1 }]);
      node.setContainerUsage(X, { memoryBytes: GiB, cacheBytes: 0 });
      node.render();
      const killFile = path.join(node.paths.cgroupRoot, node.paths.yarnCgroupPath, X, 'cgroup.kill');
      fs.rmSync(killFile);
      fs.symlinkSync(path.join(decoyDir, 'cgroup.kill'), killFile);
      simNm.entries = [{ id: X }];
      const settings = {
        nodeName: 'node-sim', nmUrl: simNm.url, rmUrls: [], cgroupRoot: node.paths.cgroupRoot, procRoot: node.paths.procRoot,
        yarnCgroupPath: node.paths.yarnCgroupPath, socket: path.join(tmp, 'rd.sock'), socketMode: 0o600, metricsAddr: '127.0.0.1:0',
        dryRun: false, tickMillis: 1000, fastWatchMillis: 100, rules: { memoryEvictThresholdPercent: 70, memoryEvictLowerPercent: 68 },
      };
      const log = new LogCapture();
      await expect(startAgent(settings, { logger: log.logger, manual: true })).rejects.toThrow(/not a cgroup2 filesystem/);
      const a = await startAgent({ ...settings, simulatedCgroups: true }, { logger: log.logger, clock: () => BASE_MS + node.now(), manual: true, killDeadlineMs: 1000 });
      try {
        node.step(1000);
        await a.tick();
        const pid = node.containerPid(X)!;
        const health = new HealthMonitor(a.metricsUrl!);
        node.setMemorySpike(0);
        const s = node.snapshot();
        node.setMemorySpike((s.memoryTotalBytes * 95) / 100 - s.memoryUsedBytes);
        node.render();
        fs.rmSync(killFile, { force: true }); // the render put a plain file back: the symlink again
        fs.symlinkSync(path.join(decoyDir, 'cgroup.kill'), killFile);
        const r = a.fastCheck();
        expect(r.issued.map((i) => [i.record.containerId, i.record.mode])).toEqual([[X, 'immediate']]);
        await a.settled();
        expect(pidAlive(pid)).toBe(false);
        expect(alive(decoy)).toBe(true);
        expect(log.find(/cgroup.kill write refused/)[0]).toMatchObject({ container: X, err: expect.stringMatching(/symlink/) });
        const h = await health.stop();
        expect(h.maxMs).toBeLessThan(1000);
      } finally {
        await a.stop();
      }
    } finally {
      await simNm.stop();
      await node.stop();
    }
  }, 60_000);
});
