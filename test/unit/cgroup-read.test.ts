import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CgroupIoError, CgroupNotFoundError, CgroupParseError, NodeCgroups, readCpuLimit, readCpuUsageNanos, readMemory,
  readKernelFile, readMemoryUsage, readNodeCpuTimes, readNodeMemory, readPids, readPressure, readStats,
} from '../../cgroup/index.js';
import { buildFakeNode, CID_A, CID_B, type FakeNode, removeTree, writeTree } from '../cgroup/fake-tree.js';

const YARN = 'kubepods.slice/kubepods-besteffort.slice/hadoop-yarn';
const nodes: FakeNode[] = [];
function open(mode: 'v1' | 'v2' | 'hybrid'): { n: FakeNode; cgs: NodeCgroups } {
  const n = buildFakeNode(mode, YARN, {
    [CID_A]: { usage: 104_857_600, inactiveFile: 4_194_304, cpuUsec: 1_500_000, pids: [4242, 4243] },
    [CID_B]: { usage: 1000, inactiveFile: 5000, cpuUsec: 7, pids: [] },
  });
  nodes.push(n);
  return { n, cgs: NodeCgroups.open({ cgroupRoot: n.cgroupRoot, procRoot: n.procRoot, yarnCgroupPath: YARN, filesystem: 'simulated' }) };
}
afterEach(() => {
  while (nodes.length) removeTree(nodes.pop()!.root);
});

describe.each(['v1', 'v2', 'hybrid'] as const)('container stats on a fake %s node', (mode) => {
  it('working set, CPU ns, pids, PSI where present', () => {
    const { cgs } = open(mode);
    const a = cgs.container(CID_A);
    expect(readMemory(a)).toEqual({ workingSet: 104_857_600 - 4_194_304, usage: 104_857_600, inactiveFile: 4_194_304 });
    expect(readMemoryUsage(a)).toBe(104_857_600);
    expect(readCpuUsageNanos(a)).toBe(1_500_000_000);
    expect(readPids(a)).toEqual([4242, 4243]);
    const psi = readPressure(a);
    if (mode === 'v1') {
      expect(psi).toEqual({});
    } else {
      expect(psi.memory?.some.avg10).toBe(25.58);
      expect(psi.cpu?.full?.totalUsec).toBe(0);
      expect(psi.io).toBeDefined();
    }
    const b = readStats(cgs.container(CID_B));
    expect(b.memory.workingSet).toBe(0); // inactive file above usage: clamped, not negative
    expect(b.cpuUsageNanos).toBe(7000);
  });

  it('current CPU limit of the YARN parent', () => {
    const { cgs } = open(mode);
    const lim = readCpuLimit(cgs.yarnParent());
    expect(lim).toMatchObject({ quotaUs: null, periodUs: 100000, milliCores: null, version: mode === 'v2' ? 2 : 1 });
  });
});

describe('read failures are typed and name the file', () => {
  it('garbage in a file → CgroupParseError naming it', () => {
    const { n, cgs } = open('v1');
    const file = path.join(n.cgroupRoot, 'memory', YARN, CID_A, 'memory.usage_in_bytes');
    fs.writeFileSync(file, '-12\n');
    expect(() => readMemory(cgs.container(CID_A))).toThrow(CgroupParseError);
    expect(() => readMemory(cgs.container(CID_A))).toThrow(file);
  });

  it('a vanished file → CgroupIoError with gone = true', () => {
    const { n, cgs } = open('v2');
    const c = cgs.container(CID_A);
    fs.rmSync(path.join(n.cgroupRoot, YARN, CID_A), { recursive: true });
    let err: unknown;
    try {
      readMemory(c);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CgroupIoError);
    expect((err as CgroupIoError).gone).toBe(true);
    expect(readPids(c)).toEqual([]); // a removed cgroup has no processes
  });

  it('no directory for the role → CgroupNotFoundError', () => {
    const { cgs } = open('v1');
    const ghost = cgs.container('container_1700000000000_0042_01_000001');
    expect(() => readMemory(ghost)).toThrow(CgroupNotFoundError);
  });
});

describe('node totals readers', () => {
  it('read <proc-root>/meminfo and stat', () => {
    const { n } = open('v1');
    writeTree(n.root, {
      'proc/meminfo': 'MemTotal:       2048 kB\nMemFree:         100 kB\nMemAvailable:    512 kB\n',
      'proc/stat': 'cpu  10 0 10 80 0 0 0 0 0 0\ncpu0 10 0 10 80 0 0 0 0 0 0\n',
    });
    expect(readNodeMemory(n.procRoot)).toEqual({ total: 2048 * 1024, available: 512 * 1024, used: 1536 * 1024 });
    expect(readNodeCpuTimes(n.procRoot)).toEqual({ busyJiffies: 20, idleJiffies: 80, totalJiffies: 100, cpus: 1 });
  });
});

describe('kernel files cannot block, flood or redirect a read', () => {
  it('a FIFO in place of memory.stat is refused at once (no writer needed to return)', () => {
    const { n, cgs } = open('v2');
    const stat = path.join(n.cgroupRoot, YARN, CID_A, 'memory.stat');
    fs.rmSync(stat);
    expect(spawnSync('mkfifo', [stat]).status).toBe(0);
    const t0 = performance.now();
    const err = (() => { try { readMemory(cgs.container(CID_A)); } catch (e) { return e; } return undefined; })();
    expect(performance.now() - t0).toBeLessThan(1000); // a blocking read would hang here for ever
    expect(err).toBeInstanceOf(CgroupIoError);
    expect((err as CgroupIoError).code).toBe('ENOTREG');
    expect((err as Error).message).toMatch(/not a regular file/);
  });

  it('a symlinked memory.current is not followed', () => {
    const { n, cgs } = open('v2');
    const file = path.join(n.cgroupRoot, YARN, CID_A, 'memory.current');
    fs.writeFileSync(path.join(n.root, 'decoy'), '1\n');
    fs.rmSync(file);
    fs.symlinkSync(path.join(n.root, 'decoy'), file);
    expect(() => readMemory(cgs.container(CID_A))).toThrow(/ELOOP.*symlink/);
  });

  it('a file past the size limit is an error, not a truncated read', () => {
    const file = path.join(open('v2').n.root, 'big');
    fs.writeFileSync(file, '1'.repeat(3 * 2 ** 20));
    expect(() => readKernelFile(file)).toThrow(/EFBIG/);
    expect(readKernelFile(file, 4 * 2 ** 20)).toHaveLength(3 * 2 ** 20);
    fs.writeFileSync(file, '12345\n');
    expect(readKernelFile(file)).toBe('12345\n'); // the grown scratch buffer reads small files again
  });
});
