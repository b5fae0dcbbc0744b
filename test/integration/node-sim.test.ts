import { pidAlive, until } from './process-wait.js';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeSimTempDir, SimulatedNode, type CgroupDriver, type CgroupLayout, type ProcessExit, type SimulatedNodeOptions } from '../../sim/node/index.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const C1 = 'container_1700000000000_0001_01_000001';
const C2 = 'container_e17_1700000000000_0001_01_000002';
const C3 = 'container_1700000000000_0002_01_000003';

let tmp: string;
const nodes: SimulatedNode[] = [];

beforeEach(() => {
  tmp = makeSimTempDir('loom-node-sim-');
});

afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function makeNode(layout: CgroupLayout, driver: CgroupDriver = 'cgroupfs', extra: Partial<SimulatedNodeOptions> = {}): SimulatedNode {
  const n = SimulatedNode.create({ name: 'node-a', dir: tmp, layout, driver, cpuCores: 4, memoryBytes: 16 * GiB, ...extra });
  nodes.push(n);
  return n;
}

const read = (p: string): string => fs.readFileSync(p, 'utf8');
const num = (p: string): number => Number(read(p).trim());
/** `key value` lines (memory.stat, cpu.stat, cgroup.events). */
function flat(p: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of read(p).split('\n')) {
    if (!line) continue;
    const m = /^(\S+) (\d+)$/.exec(line);
    if (!m) throw new Error(`bad line ${JSON.stringify(line)} in ${p}`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}
function meminfo(procRoot: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of read(path.join(procRoot, 'meminfo')).split('\n')) {
    if (!line) continue;
    const m = /^([A-Za-z0-9_()]+):\s+(\d+)( kB)?$/.exec(line);
    if (!m) throw new Error(`bad meminfo line ${JSON.stringify(line)}`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}
function procStatCpu(procRoot: string): { all: number[]; perCpu: number[][] } {
  const lines = read(path.join(procRoot, 'stat')).split('\n');
  const all = /^cpu  (\d+(?: \d+){9})$/.exec(lines[0]!)?.[1]?.split(' ').map(Number);
  if (!all) throw new Error(`bad /proc/stat first line ${lines[0]}`);
  const perCpu = lines.filter((l) => /^cpu\d+ /.test(l)).map((l) => l.split(' ').slice(1).map(Number));
  return { all, perCpu };
}
const PSI = /^some avg10=\d+\.\d\d avg60=\d+\.\d\d avg300=\d+\.\d\d total=\d+\nfull avg10=\d+\.\d\d avg60=\d+\.\d\d avg300=\d+\.\d\d total=\d+\n$/;

const alive = pidAlive;


/** What a cgroup detector would do from --proc-root: the cgroup mounts of proc/mounts. */
function cgroupMounts(procRoot: string): Array<{ type: string; at: string; opts: string }> {
  return read(path.join(procRoot, 'mounts'))
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' '))
    .filter((f) => f.length === 6 && (f[2] === 'cgroup' || f[2] === 'cgroup2'))
    .map((f) => ({ type: f[2]!, at: f[1]!, opts: f[3]! }));
}

describe('layouts', () => {
  it('v1 cgroupfs: co-mounted cpu,cpuacct with symlinks, memory, pids, and real-format files', () => {
    const n = makeNode('v1');
    n.syncContainers([{ id: C1, memoryMiB: 1024, vcores: 1 }]);
    n.step(1000);
    const { cgroupRoot, procRoot, yarnCgroupPath } = n.paths;
    expect(yarnCgroupPath).toBe('kubepods/besteffort/hadoop-yarn');
    expect(fs.readlinkSync(path.join(cgroupRoot, 'cpu'))).toBe('cpu,cpuacct');
    expect(fs.readlinkSync(path.join(cgroupRoot, 'cpuacct'))).toBe('cpu,cpuacct');
    expect(cgroupMounts(procRoot)).toEqual([
      { type: 'cgroup', at: path.join(cgroupRoot, 'cpu,cpuacct'), opts: 'rw,nosuid,nodev,noexec,relatime,cpu,cpuacct' },
      { type: 'cgroup', at: path.join(cgroupRoot, 'memory'), opts: 'rw,nosuid,nodev,noexec,relatime,memory' },
      { type: 'cgroup', at: path.join(cgroupRoot, 'pids'), opts: 'rw,nosuid,nodev,noexec,relatime,pids' },
    ]);

    const cpu = path.join(cgroupRoot, 'cpu', yarnCgroupPath, C1); // through the symlink, as readers do
    expect(read(path.join(cpu, 'cpuacct.usage'))).toMatch(/^\d+\n$/);
    expect(read(path.join(cpu, 'cpu.cfs_quota_us'))).toBe('-1\n');
    expect(read(path.join(cpu, 'cpu.cfs_period_us'))).toBe('100000\n');
    expect(read(path.join(cpu, 'cpu.shares'))).toBe('1024\n');
    expect(Object.keys(flat(path.join(cpu, 'cpu.stat')))).toEqual(['nr_periods', 'nr_throttled', 'throttled_time', 'nr_bursts', 'burst_time']);

    const mem = path.join(cgroupRoot, 'memory', yarnCgroupPath, C1);
    const stat = flat(path.join(mem, 'memory.stat'));
    for (const k of ['cache', 'rss', 'inactive_file', 'total_cache', 'total_rss', 'total_inactive_file', 'total_active_file']) expect(stat).toHaveProperty(k);
    expect(read(path.join(mem, 'memory.stat'))).toContain('hierarchical_memory_limit 1073741824\n');
    expect(num(path.join(mem, 'memory.usage_in_bytes'))).toBe(stat.total_rss! + stat.total_cache!);
    expect(num(path.join(mem, 'memory.limit_in_bytes'))).toBe(1024 * MiB);
    expect(read(path.join(cgroupRoot, 'memory', 'kubepods', 'memory.limit_in_bytes'))).toBe('9223372036854771712\n');

    const pid = n.containerPid(C1)!;
    for (const ctl of ['memory', 'cpu,cpuacct', 'pids']) {
      expect(read(path.join(cgroupRoot, ctl, yarnCgroupPath, C1, 'cgroup.procs'))).toBe(`${pid}\n`);
      expect(read(path.join(cgroupRoot, ctl, yarnCgroupPath, C1, 'tasks'))).toBe(`${pid}\n`);
    }
    expect(read(path.join(procRoot, String(pid), 'cgroup'))).toBe(
      `6:pids:/${yarnCgroupPath}/${C1}\n4:memory:/${yarnCgroupPath}/${C1}\n3:cpu,cpuacct:/${yarnCgroupPath}/${C1}\n`,
    );
    expect(fs.existsSync(path.join(cgroupRoot, 'unified'))).toBe(false);
  });

  it('v1 systemd: kubelet slices and the systemd-form YARN hierarchy', () => {
    const n = makeNode('v1', 'systemd');
    n.syncContainers([{ id: C1, memoryMiB: 512, vcores: 1 }]);
    const { cgroupRoot, yarnCgroupPath } = n.paths;
    expect(yarnCgroupPath).toBe('kubepods.slice/kubepods-besteffort.slice/hadoop-yarn');
    for (const ctl of ['memory', 'cpu,cpuacct', 'pids']) {
      expect(fs.statSync(path.join(cgroupRoot, ctl, 'kubepods.slice', 'kubepods-burstable.slice')).isDirectory()).toBe(true);
      expect(read(path.join(cgroupRoot, ctl, yarnCgroupPath, C1, 'cgroup.procs'))).toBe(`${n.containerPid(C1)}\n`);
    }
    expect(fs.existsSync(path.join(cgroupRoot, 'memory', 'kubepods'))).toBe(false);
  });

  it('v2: one unified tree with controllers, limits, PSI, cgroup.events and cgroup.kill', () => {
    const n = makeNode('v2');
    n.syncContainers([{ id: C1, memoryMiB: 1024, vcores: 2 }]);
    n.step(500);
    const { cgroupRoot, procRoot, yarnCgroupPath } = n.paths;
    expect(cgroupMounts(procRoot)).toEqual([{ type: 'cgroup2', at: cgroupRoot, opts: 'rw,nosuid,nodev,noexec,relatime,nsdelegate,memory_recursiveprot' }]);
    expect(read(path.join(cgroupRoot, 'cgroup.controllers'))).toBe('cpuset cpu io memory hugetlb pids rdma misc\n');
    expect(read(path.join(cgroupRoot, 'cgroup.subtree_control'))).toBe('cpuset cpu io memory pids\n');
    expect(read(path.join(cgroupRoot, yarnCgroupPath, 'cgroup.subtree_control'))).toBe('cpuset cpu io memory pids\n');
    expect(fs.existsSync(path.join(cgroupRoot, 'memory.current'))).toBe(false); // the root has none
    const c = path.join(cgroupRoot, yarnCgroupPath, C1);
    expect(read(path.join(c, 'cpu.max'))).toBe('max 100000\n');
    expect(read(path.join(c, 'cpu.weight'))).toBe('79\n'); // 2048 shares → weight, as runc converts
    expect(read(path.join(c, 'memory.max'))).toBe(`${1024 * MiB}\n`);
    expect(read(path.join(c, 'cgroup.events'))).toBe('populated 1\nfrozen 0\n');
    expect(read(path.join(c, 'cgroup.kill'))).toBe('');
    expect(read(path.join(c, 'cgroup.procs'))).toBe(`${n.containerPid(C1)}\n`);
    const ms = flat(path.join(c, 'memory.stat'));
    expect(num(path.join(c, 'memory.current'))).toBe(ms.anon! + ms.file!);
    expect(ms.inactive_file! + ms.active_file!).toBe(ms.file);
    expect(Object.keys(flat(path.join(c, 'cpu.stat')))).toEqual([
      'usage_usec', 'user_usec', 'system_usec', 'nice_usec', 'nr_periods', 'nr_throttled', 'throttled_usec', 'nr_bursts', 'burst_usec',
    ]);
    for (const r of ['cpu', 'memory', 'io']) {
      expect(read(path.join(c, `${r}.pressure`))).toMatch(PSI);
      expect(read(path.join(procRoot, 'pressure', r))).toMatch(PSI);
    }
    expect(read(path.join(procRoot, String(n.containerPid(C1)), 'cgroup'))).toBe(`0::/${yarnCgroupPath}/${C1}\n`);
    expect(fs.existsSync(path.join(cgroupRoot, 'memory'))).toBe(false);
  });

  it('hybrid: v1 controllers plus a controller-less unified tree with PSI', () => {
    const n = makeNode('hybrid');
    n.syncContainers([{ id: C1, memoryMiB: 1024, vcores: 1 }]);
    n.step(1000);
    const { cgroupRoot, procRoot, yarnCgroupPath } = n.paths;
    const mounts = cgroupMounts(procRoot);
    expect(mounts).toContainEqual({ type: 'cgroup2', at: path.join(cgroupRoot, 'unified'), opts: 'rw,nosuid,nodev,noexec,relatime,nsdelegate' });
    expect(mounts.filter((m) => m.type === 'cgroup').map((m) => path.basename(m.at))).toEqual(['cpu,cpuacct', 'memory', 'pids']);
    const u = path.join(cgroupRoot, 'unified', yarnCgroupPath, C1);
    expect(read(path.join(u, 'cgroup.controllers'))).toBe('\n');
    expect(read(path.join(u, 'cgroup.procs'))).toBe(`${n.containerPid(C1)}\n`);
    expect(read(path.join(u, 'memory.pressure'))).toMatch(PSI);
    expect(Object.keys(flat(path.join(u, 'cpu.stat')))).toEqual(['usage_usec', 'user_usec', 'system_usec', 'nice_usec']);
    expect(fs.existsSync(path.join(u, 'memory.current'))).toBe(false);
    expect(fs.existsSync(path.join(cgroupRoot, 'memory', yarnCgroupPath, C1, 'memory.stat'))).toBe(true);
    expect(read(path.join(procRoot, String(n.containerPid(C1)), 'cgroup')).split('\n')).toContain(`0::/${yarnCgroupPath}/${C1}`);
    // the same CPU counter seen from both hierarchies
    const usageUs = flat(path.join(u, 'cpu.stat')).usage_usec!;
    expect(usageUs).toBe(Math.floor(num(path.join(cgroupRoot, 'cpuacct', yarnCgroupPath, C1, 'cpuacct.usage')) / 1000));
  });

  it('procfs: meminfo and stat in the kernel layout, pid files for the real process', () => {
    const n = makeNode('v1');
    n.syncContainers([{ id: C1, memoryMiB: 1024, vcores: 1 }]);
    n.step(1000);
    const { procRoot } = n.paths;
    const lines = read(path.join(procRoot, 'meminfo')).split('\n');
    expect(lines[0]).toBe(`MemTotal:       ${16 * 1024 * 1024} kB`);
    expect(lines.slice(0, 5).map((l) => l.split(':')[0])).toEqual(['MemTotal', 'MemFree', 'MemAvailable', 'Buffers', 'Cached']);
    for (const l of lines.filter(Boolean)) expect(l).toMatch(/^\S+:\s+\d+( kB)?$/);
    const { all, perCpu } = procStatCpu(procRoot);
    expect(perCpu).toHaveLength(4);
    expect(all).toEqual(perCpu.reduce((a, c) => a.map((v, i) => v + c[i]!)));
    expect(read(path.join(procRoot, 'stat'))).toMatch(/\nbtime \d+\n/);
    const pid = n.containerPid(C1)!;
    const stat = read(path.join(procRoot, String(pid), 'stat'));
    expect(stat).toMatch(new RegExp(`^${pid} \\(cat\\) [A-Z] `));
    expect(stat.trim().split(' ')).toHaveLength(52);
    const real = read(`/proc/${pid}/stat`).trim().split(' ');
    expect(stat.trim().split(' ')[21]).toBe(real[21]); // starttime of the live process
    expect(read(path.join(procRoot, String(pid), 'status'))).toMatch(new RegExp(`^Name:\\tcat\\n[\\s\\S]*\\nPid:\\t${pid}\\n[\\s\\S]*VmRSS:\\s+\\d+ kB\\n`));
  });
});

describe('numbers follow the workload', () => {
  it('the YARN parent and the kubelet groups aggregate their children (v1 and v2)', () => {
    for (const layout of ['v1', 'v2'] as const) {
      const n = makeNode(layout, 'cgroupfs', { name: `agg-${layout}`, batchPodLoad: { cpuMilli: 300, memoryBytes: 1 * GiB, cacheBytes: 128 * MiB } });
      n.syncContainers([
        { id: C1, memoryMiB: 1024, vcores: 1 },
        { id: C2, memoryMiB: 2048, vcores: 2 },
        { id: C3, memoryMiB: 4096, vcores: 1, executionType: 'OPPORTUNISTIC' },
      ]);
      n.setContainerUsage(C2, { memoryBytes: 1500 * MiB, cacheBytes: 100 * MiB });
      n.step(5000);
      const { cgroupRoot, yarnCgroupPath } = n.paths;
      const dir = (rel: string): string => (layout === 'v1' ? path.join(cgroupRoot, 'memory', rel) : path.join(cgroupRoot, rel));
      const usage = (rel: string): number => num(path.join(dir(rel), layout === 'v1' ? 'memory.usage_in_bytes' : 'memory.current'));
      const children = [C1, C2, C3].map((id) => usage(`${yarnCgroupPath}/${id}`));
      expect(children.every((b) => b > 0)).toBe(true);
      expect(usage(yarnCgroupPath)).toBe(children.reduce((a, b) => a + b));
      expect(usage('kubepods/besteffort')).toBe(usage(yarnCgroupPath) + 1 * GiB + 128 * MiB);
      expect(usage(`${yarnCgroupPath}/${C2}`)).toBe(1600 * MiB);
      const key = layout === 'v1' ? 'total_inactive_file' : 'inactive_file';
      const inactive = (rel: string): number => flat(path.join(dir(rel), 'memory.stat'))[key]!;
      expect(inactive(yarnCgroupPath)).toBe([C1, C2, C3].reduce((s, id) => s + inactive(`${yarnCgroupPath}/${id}`), 0));
      // working set = usage − inactive_file = the container's anon memory
      expect(usage(`${yarnCgroupPath}/${C2}`) - inactive(`${yarnCgroupPath}/${C2}`)).toBe(1500 * MiB);
      // CPU too: the parent's cumulative usage is the sum of its children's
      const cpu = (rel: string): number =>
        layout === 'v1' ? num(path.join(cgroupRoot, 'cpuacct', rel, 'cpuacct.usage')) : flat(path.join(cgroupRoot, rel, 'cpu.stat')).usage_usec!;
      const sum = [C1, C2, C3].reduce((s, id) => s + cpu(`${yarnCgroupPath}/${id}`), 0);
      expect(Math.abs(cpu(yarnCgroupPath) - sum)).toBeLessThanOrEqual(3); // per-file flooring only
      expect(n.snapshot().yarnMemoryBytes).toBe(usage(yarnCgroupPath));
      expect(n.snapshot().yarnWorkingSetBytes).toBe(usage(yarnCgroupPath) - inactive(yarnCgroupPath));
    }
  });

  it('a memory spike lowers MemAvailable by the spike', () => {
    const n = makeNode('v1');
    n.step(1000);
    const before = meminfo(n.paths.procRoot);
    n.setMemorySpike(3 * GiB);
    n.step(1000);
    const after = meminfo(n.paths.procRoot);
    expect(before.MemAvailable! - after.MemAvailable!).toBe(3 * 1024 * 1024);
    expect(after.MemTotal).toBe(before.MemTotal);
    expect(after.MemFree).toBeLessThan(before.MemFree!);
    expect(n.snapshot().memoryUsedBytes).toBe(16 * GiB - after.MemAvailable! * 1024);
    // the spike is the online pods' memory
    expect(num(path.join(n.paths.cgroupRoot, 'memory', 'kubepods', 'burstable', 'memory.usage_in_bytes'))).toBeGreaterThan(3 * GiB);
    n.setMemorySpike(0);
    n.step(1000);
    expect(meminfo(n.paths.procRoot).MemAvailable).toBe(before.MemAvailable);
  });

  it('cumulative CPU advances by rate × dt in cpuacct, cpu.stat and /proc/stat', () => {
    const v1 = makeNode('v1', 'cgroupfs', { name: 'cpu-v1', onlineLoad: { cpuMilli: 1000, memoryBytes: GiB, cacheBytes: 0 }, systemLoad: { cpuMilli: 100, memoryBytes: 0, cacheBytes: 0 } });
    const v2 = makeNode('v2', 'systemd', { name: 'cpu-v2' });
    for (const n of [v1, v2]) {
      n.syncContainers([{ id: C1, memoryMiB: 1024, vcores: 2 }]);
      n.setContainerUsage(C1, { cpuMilli: 500 });
      n.step(1000);
    }
    const y1 = path.join(v1.paths.cgroupRoot, 'cpuacct', v1.paths.yarnCgroupPath);
    const y2 = path.join(v2.paths.cgroupRoot, v2.paths.yarnCgroupPath);
    const ns0 = num(path.join(y1, C1, 'cpuacct.usage'));
    const us0 = flat(path.join(y2, C1, 'cpu.stat')).usage_usec!;
    const jiffies0 = procStatCpu(v1.paths.procRoot).all;
    v1.step(2000);
    v2.step(2000);
    expect(num(path.join(y1, C1, 'cpuacct.usage')) - ns0).toBe(500 * 2000 * 1000); // 0.5 core × 2 s in ns
    expect(flat(path.join(y2, C1, 'cpu.stat')).usage_usec! - us0).toBe(500 * 2000); // in µs
    const jiffies1 = procStatCpu(v1.paths.procRoot).all;
    const d = jiffies1.map((v, i) => v - jiffies0[i]!);
    const total = d.reduce((a, b) => a + b);
    expect(total).toBeGreaterThanOrEqual(4 * 200 - 8); // 4 cpus × 2 s × 100 Hz, per-cpu flooring
    expect(total).toBeLessThanOrEqual(4 * 200);
    const busy = d[0]! + d[2]!; // user + system: online 1 + system 0.1 + YARN 0.5 cores for 2 s
    expect(Math.abs(busy - 1.6 * 200)).toBeLessThanOrEqual(8);
    expect(v1.snapshot().cpuUsedMilli).toBe(1600);
  });

  it('honours the CFS quota the agent writes on the YARN parent (v1 and v2)', () => {
    for (const layout of ['v1', 'v2'] as const) {
      const n = makeNode(layout, 'cgroupfs', { name: `quota-${layout}` });
      n.syncContainers([
        { id: C1, memoryMiB: 1024, vcores: 2 },
        { id: C2, memoryMiB: 1024, vcores: 2 },
      ]);
      n.setContainerUsage(C1, { cpuMilli: 1000 });
      n.setContainerUsage(C2, { cpuMilli: 1000 });
      expect(n.readYarnCpuLimit()).toBeUndefined();
      const yarn = layout === 'v1' ? path.join(n.paths.cgroupRoot, 'cpu,cpuacct', n.paths.yarnCgroupPath) : path.join(n.paths.cgroupRoot, n.paths.yarnCgroupPath);
      // what CPU suppression does: 0.5 core for all of YARN
      if (layout === 'v1') fs.writeFileSync(path.join(yarn, 'cpu.cfs_quota_us'), '50000');
      else fs.writeFileSync(path.join(yarn, 'cpu.max'), '50000 100000');
      expect(n.readYarnCpuLimit()).toBe(500);
      const usage = (): number => (layout === 'v1' ? num(path.join(yarn, 'cpuacct.usage')) : flat(path.join(yarn, 'cpu.stat')).usage_usec! * 1000);
      n.step(0);
      const u0 = usage();
      n.step(1000);
      expect(usage() - u0).toBe(500 * 1000 * 1000);
      const st = flat(path.join(yarn, 'cpu.stat'));
      expect(st.nr_periods).toBe(10);
      expect(st.nr_throttled).toBe(10);
      // the quota file is the agent's: a step does not overwrite it
      expect(read(path.join(yarn, layout === 'v1' ? 'cpu.cfs_quota_us' : 'cpu.max'))).toBe(layout === 'v1' ? '50000' : '50000 100000');
      expect(n.snapshot().yarnCpuMilli).toBe(500);
    }
  });

  it('online pods win the CPU over best-effort work when the node is full', () => {
    const n = makeNode('v2', 'cgroupfs', { onlineLoad: { cpuMilli: 3500, memoryBytes: GiB, cacheBytes: 0 }, systemLoad: { cpuMilli: 0, memoryBytes: 0, cacheBytes: 0 } });
    n.syncContainers([{ id: C1, memoryMiB: 1024, vcores: 4 }]);
    n.setContainerUsage(C1, { cpuMilli: 4000 });
    n.step(1000);
    expect(n.snapshot().cpuUsedMilli).toBe(4000);
    expect(n.snapshot().yarnCpuMilli).toBeCloseTo(500, 6);
  });

  it('PSI: set averages appear in the files and totals grow with time', () => {
    const n = makeNode('v2');
    n.syncContainers([{ id: C1, memoryMiB: 1024, vcores: 1 }]);
    n.setPressure('memory', { some: { avg10: 12.5, avg60: 8, avg300: 2 }, full: { avg10: 5 } }, 'yarn');
    n.setPressure('cpu', { some: { avg10: 40 } }, 'node');
    n.setPressure('io', { some: { avg10: 1 } }, C1);
    n.step(2000);
    const { cgroupRoot, procRoot, yarnCgroupPath } = n.paths;
    expect(read(path.join(cgroupRoot, yarnCgroupPath, 'memory.pressure'))).toBe(
      'some avg10=12.50 avg60=8.00 avg300=2.00 total=250000\nfull avg10=5.00 avg60=5.00 avg300=5.00 total=100000\n',
    );
    expect(read(path.join(cgroupRoot, 'kubepods', 'besteffort', 'memory.pressure'))).toContain('some avg10=12.50');
    expect(read(path.join(procRoot, 'pressure', 'cpu'))).toBe('some avg10=40.00 avg60=40.00 avg300=40.00 total=800000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n');
    expect(read(path.join(cgroupRoot, 'cpu.pressure'))).toContain('some avg10=40.00');
    expect(read(path.join(cgroupRoot, yarnCgroupPath, C1, 'io.pressure'))).toContain('some avg10=1.00 avg60=1.00 avg300=1.00 total=20000\n');
    expect(() => n.setPressure('cpu', { some: { avg10: 1 } }, 'container_1_1_1_1')).toThrow();
  });

  it('a new container ramps towards its allocation by default', () => {
    const n = makeNode('v2', 'cgroupfs', { rampMs: 10_000 });
    n.syncContainers([{ id: C1, memoryMiB: 1000, vcores: 2 }]);
    const mem = (): number => num(path.join(n.paths.cgroupRoot, n.paths.yarnCgroupPath, C1, 'memory.current'));
    const first = mem();
    n.step(5000);
    const mid = mem();
    n.step(100_000);
    const late = mem();
    expect(first).toBeGreaterThan(0);
    expect(mid).toBeGreaterThan(first);
    expect(late).toBeGreaterThan(mid);
    expect(late).toBeLessThanOrEqual(1000 * MiB);
    expect(late).toBeGreaterThan(0.85 * 1000 * MiB);
    expect(n.snapshot().containers[0]!.cpuMilli).toBeGreaterThan(1700);
  });
});

describe('real processes', () => {
  it('killing a container pid reports the exit and cleans its cgroups', async () => {
    const exits: Array<[string, ProcessExit]> = [];
    const n = makeNode('hybrid', 'cgroupfs', { onContainerExit: (id, e) => exits.push([id, e]) });
    n.syncContainers([
      { id: C1, memoryMiB: 1024, vcores: 1 },
      { id: C2, memoryMiB: 1024, vcores: 1 },
    ]);
    n.step(1000);
    const { cgroupRoot, procRoot, yarnCgroupPath } = n.paths;
    const pid = n.containerPid(C1)!;
    expect(alive(pid)).toBe(true);
    expect(pid).not.toBe(process.pid);
    const parentBefore = num(path.join(cgroupRoot, 'memory', yarnCgroupPath, 'memory.usage_in_bytes'));
    const c1Mem = num(path.join(cgroupRoot, 'memory', yarnCgroupPath, C1, 'memory.usage_in_bytes'));

    process.kill(pid, 'SIGKILL');
    await until(() => exits.length === 1, 'onContainerExit');
    expect(exits[0]).toEqual([C1, { exitCode: 137, signal: 'SIGKILL' }]);
    expect(alive(pid)).toBe(false);
    const dirs = n.containerCgroupDirs(C1);
    for (const d of [...dirs.v1.values(), dirs.unified!]) expect(fs.existsSync(d)).toBe(false);
    expect(fs.existsSync(path.join(procRoot, String(pid)))).toBe(false);
    // the other container is untouched; the parent no longer counts the dead one
    expect(alive(n.containerPid(C2)!)).toBe(true);
    await until(() => num(path.join(cgroupRoot, 'memory', yarnCgroupPath, 'memory.usage_in_bytes')) === parentBefore - c1Mem, 'parent re-rendered');
    // still listed by YARN (it has not processed the exit yet): not restarted
    n.syncContainers([
      { id: C1, memoryMiB: 1024, vcores: 1 },
      { id: C2, memoryMiB: 1024, vcores: 1 },
    ]);
    n.step(1000);
    expect(fs.existsSync(dirs.unified!)).toBe(false);
    expect(n.snapshot().containers.find((c) => c.id === C1)?.state).toBe('exited');
    // a SIGTERM exit is reported as 143
    process.kill(n.containerPid(C2)!, 'SIGTERM');
    await until(() => exits.length === 2, 'second exit');
    expect(exits[1]).toEqual([C2, { exitCode: 143, signal: 'SIGTERM' }]);
  });

  it('writing 1 to cgroup.kill kills the container like the kernel (v2)', async () => {
    const exits: string[] = [];
    const n = makeNode('v2');
    n.onContainerExit((id) => exits.push(id));
    n.syncContainers([
      { id: C1, memoryMiB: 1024, vcores: 1 },
      { id: C2, memoryMiB: 1024, vcores: 1 },
    ]);
    const pid = n.containerPid(C1)!;
    fs.writeFileSync(path.join(n.paths.cgroupRoot, n.paths.yarnCgroupPath, C1, 'cgroup.kill'), '1');
    await until(() => exits.length === 1, 'cgroup.kill to take effect');
    expect(exits).toEqual([C1]);
    expect(alive(pid)).toBe(false);
    expect(alive(n.containerPid(C2)!)).toBe(true);
  });

  it('cgroup.kill is also picked up by step() polling (hybrid unified tree)', async () => {
    const exits: string[] = [];
    const n = makeNode('hybrid', 'systemd', { onContainerExit: (id) => exits.push(id) });
    n.syncContainers([{ id: C1, memoryMiB: 1024, vcores: 1 }]);
    const pid = n.containerPid(C1)!;
    const kill = path.join(n.containerCgroupDirs(C1).unified!, 'cgroup.kill');
    fs.writeFileSync(kill, '1\n');
    n.step(100);
    await until(() => exits.length === 1, 'exit after cgroup.kill');
    expect(alive(pid)).toBe(false);
  });

  it('cgroup.kill on the YARN parent kills every container under it (v2, at the next step)', async () => {
    const exits: string[] = [];
    const n = makeNode('v2', 'systemd', { onContainerExit: (id) => exits.push(id) });
    n.syncContainers([
      { id: C1, memoryMiB: 1024, vcores: 1 },
      { id: C2, memoryMiB: 1024, vcores: 1 },
    ]);
    const pids = [C1, C2].map((id) => n.containerPid(id)!);
    fs.writeFileSync(path.join(n.paths.cgroupRoot, n.paths.yarnCgroupPath, 'cgroup.kill'), '1');
    n.step(100);
    await until(() => exits.length === 2, 'both exits');
    expect(exits.sort()).toEqual([C1, C2].sort());
    expect(pids.some(alive)).toBe(false);
  });

  it('removing a container (YARN finished it) kills its process quietly and removes its cgroups', async () => {
    const exits: string[] = [];
    const n = makeNode('v1', 'systemd', { onContainerExit: (id) => exits.push(id) });
    n.syncContainers([
      { id: C1, memoryMiB: 1024, vcores: 1 },
      { id: C2, memoryMiB: 1024, vcores: 1 },
    ]);
    const pid = n.containerPid(C1)!;
    n.syncContainers([{ id: C2, memoryMiB: 1024, vcores: 1 }]);
    for (const d of n.containerCgroupDirs(C1).v1.values()) expect(fs.existsSync(d)).toBe(false);
    await until(() => !alive(pid), 'removed container process to die');
    await until(() => !fs.existsSync(path.join(n.paths.procRoot, String(pid))), 'proc entry removal');
    expect(exits).toEqual([]);
    expect(n.containerIds()).toEqual([C2]);
    expect(() => n.syncContainers([{ id: '../../etc', memoryMiB: 1, vcores: 1 }])).toThrow(/invalid container id/);
  });

  it('stop() leaves no processes and no files', async () => {
    const n = makeNode('hybrid');
    n.syncContainers([
      { id: C1, memoryMiB: 1024, vcores: 1 },
      { id: C2, memoryMiB: 1024, vcores: 1 },
      { id: C3, memoryMiB: 1024, vcores: 1 },
    ]);
    n.step(1000);
    const pids = [C1, C2, C3].map((id) => n.containerPid(id)!);
    expect(pids.every(alive)).toBe(true);
    await n.stop();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    expect(fs.readdirSync(tmp)).toEqual([]);
    expect(() => n.step(1)).toThrow(/stopped/);
    await n.stop(); // idempotent
  });
});
