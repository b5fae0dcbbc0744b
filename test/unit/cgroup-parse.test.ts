import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CgroupParseError } from '../../cgroup/errors.js';
import { nodeCpuBusyMilli, parseMeminfo, parseProcStat } from '../../cgroup/node-totals.js';
import {
  parseCfsPeriod, parseCfsQuota, parseCpuMax, parseFlatKeyed, parseProcs, parsePsi, parseSingleUint, parseUint,
} from '../../cgroup/parse.js';
import { parseCgroupMounts, parseProcPidCgroup, procIsInCgroup } from '../../cgroup/proc-parse.js';
import { cpuUsageNanosFromV2, memoryFromV1, memoryFromV2 } from '../../cgroup/read.js';
import { PSI_TEXT, V2_CPU_STAT, v1MemoryStat, v2MemoryStat } from '../cgroup/fake-tree.js';

/** Assert a parse error that names the file. */
function expectParseError(fn: () => unknown, file: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(CgroupParseError);
  expect((caught as CgroupParseError).file).toBe(file);
  expect((caught as Error).message).toContain(file);
}

describe('single values', () => {
  it('parses kernel-formatted integers', () => {
    expect(parseSingleUint('123456\n', 'f')).toBe(123456);
    expect(parseSingleUint('0\n', 'f')).toBe(0);
    expect(parseSingleUint('42', 'f')).toBe(42);
  });

  it.each(['', '\n', '-5\n', 'abc\n', '12abc\n', '1.5\n', '1e6\n', '+3\n', 'NaN\n', '0x10\n', '1 2\n', '123456789012345678901\n'])(
    'rejects %j with an error naming the file',
    (text) => expectParseError(() => parseSingleUint(text, '/x/memory.usage_in_bytes'), '/x/memory.usage_in_bytes'),
  );

  it('never returns NaN or a negative number (property)', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        try {
          const v = parseUint(s, 'f');
          return Number.isFinite(v) && v >= 0 && /^\d+$/.test(s);
        } catch (err) {
          return err instanceof CgroupParseError;
        }
      }),
    );
  });
});

describe('flat-keyed files and memory working set', () => {
  it('v1: usage − total_inactive_file (hierarchical, not the local inactive_file)', () => {
    const m = memoryFromV1('104857600\n', v1MemoryStat(4194304, 1024), '/cg/memory/x');
    expect(m).toEqual({ workingSet: 104857600 - 4194304, usage: 104857600, inactiveFile: 4194304 });
  });

  it('v2: memory.current − inactive_file', () => {
    const m = memoryFromV2('60620800\n', v2MemoryStat(8192000));
    expect(m.workingSet).toBe(60620800 - 8192000);
  });

  it('working set is never negative (files read at different instants)', () => {
    expect(memoryFromV2('100\n', v2MemoryStat(4096)).workingSet).toBe(0);
  });

  it('missing key, truncated line, negative or garbage value → error naming memory.stat', () => {
    const file = '/cg/memory/x/memory.stat';
    expectParseError(() => memoryFromV1('100\n', 'cache 0\nrss 0\n', '/cg/memory/x'), file);
    expectParseError(() => memoryFromV1('100\n', 'cache 0\ntotal_inactive_fi', '/cg/memory/x'), file);
    expectParseError(() => memoryFromV1('100\n', 'total_inactive_file -4\n', '/cg/memory/x'), file);
    expectParseError(() => memoryFromV1('100\n', 'total_inactive_file 4x\n', '/cg/memory/x'), file);
    expectParseError(() => memoryFromV1('100\n', '', '/cg/memory/x'), file);
    expectParseError(() => memoryFromV1('100\n', 'total_inactive_file 1\ntotal_inactive_file 2\n', '/cg/memory/x'), file);
    expectParseError(() => memoryFromV1('garbage\n', v1MemoryStat(0), '/cg/memory/x'), '/cg/memory/x/memory.usage_in_bytes');
  });

  it('v2 cpu.stat usage_usec → nanoseconds', () => {
    expect(cpuUsageNanosFromV2(V2_CPU_STAT)).toBe(120626142 * 1000);
    expectParseError(() => cpuUsageNanosFromV2('user_usec 5\n', '/c/cpu.stat'), '/c/cpu.stat');
  });

  it('flat-keyed keeps every key', () => {
    expect(parseFlatKeyed('a 1\nb 2\n', 'f').get('b')).toBe(2);
  });
});

describe('PSI', () => {
  it('parses some and full', () => {
    expect(parsePsi(PSI_TEXT, 'cpu.pressure')).toEqual({
      some: { avg10: 25.58, avg60: 17.37, avg300: 6.22, totalUsec: 29405389 },
      full: { avg10: 1, avg60: 0.5, avg300: 0.1, totalUsec: 1200 },
    });
  });

  it('accepts a file with only "some" (cpu.pressure before 5.13)', () => {
    const psi = parsePsi('some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n', 'cpu.pressure');
    expect(psi.full).toBeUndefined();
    expect(psi.some.totalUsec).toBe(0);
  });

  it.each([
    '',
    'full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n',
    'some avg10=0.00 avg60=0.00 avg300=0.00\n',
    'some avg10=-1.00 avg60=0.00 avg300=0.00 total=0\n',
    'some avg10=abc avg60=0.00 avg300=0.00 total=0\n',
    'some avg10=0.00 avg60=0.00 avg300=0.00 total=-3\n',
    'some avg10=100.01 avg60=0.00 avg300=0.00 total=3\n',
    'some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nsome avg10=0.00 avg60=0.00 avg300=0.00 total=0\n',
    'pressure is high\n',
  ])('rejects %j', (text) => expectParseError(() => parsePsi(text, '/u/memory.pressure'), '/u/memory.pressure'));
});

describe('cgroup.procs', () => {
  it('dedupes and sorts (v1 may repeat and not sort)', () => {
    expect(parseProcs('30\n10\n30\n20\n', 'p')).toEqual([10, 20, 30]);
    expect(parseProcs('', 'p')).toEqual([]);
  });
  it.each(['abc\n', '-1\n', '0\n', '12\n\n13\n', '1 2\n'])('rejects %j', (text) =>
    expectParseError(() => parseProcs(text, '/c/cgroup.procs'), '/c/cgroup.procs'));
});

describe('CPU bandwidth files', () => {
  it('cpu.max', () => {
    expect(parseCpuMax('max 100000\n', 'f')).toEqual({ quotaUs: null, periodUs: 100000 });
    expect(parseCpuMax('250000 100000\n', 'f')).toEqual({ quotaUs: 250000, periodUs: 100000 });
    for (const bad of ['max\n', '', '-1 100000\n', '100 0\n', 'max  100000\n', '5 5 5\n', 'lots 100000\n']) {
      expectParseError(() => parseCpuMax(bad, '/c/cpu.max'), '/c/cpu.max');
    }
  });
  it('cpu.cfs_quota_us and cpu.cfs_period_us', () => {
    expect(parseCfsQuota('-1\n', 'f')).toBeNull();
    expect(parseCfsQuota('150000\n', 'f')).toBe(150000);
    expect(parseCfsPeriod('100000\n', 'f')).toBe(100000);
    for (const bad of ['', '-2\n', 'x\n']) expectParseError(() => parseCfsQuota(bad, 'q'), 'q');
    expectParseError(() => parseCfsPeriod('0\n', 'p'), 'p');
  });
});

describe('/proc/mounts', () => {
  it('finds v1 controllers (separate and combined), named hierarchies are ignored, cgroup2 found', () => {
    const text = [
      'tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0',
      'cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0',
      'cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,nodev,noexec,relatime,cpu,cpuacct 0 0',
      'cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,xattr,name=systemd 0 0',
      'cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0',
      'cgroup /tmp/with\\040space/memory cgroup rw,memory 0 0',
    ].join('\n');
    expect(parseCgroupMounts(text, 'mounts')).toEqual([
      { mountPoint: '/sys/fs/cgroup/cpu', version: 1, controllers: ['cpu'] },
      { mountPoint: '/sys/fs/cgroup/cpu,cpuacct', version: 1, controllers: ['cpu', 'cpuacct'] },
      { mountPoint: '/sys/fs/cgroup/unified', version: 2, controllers: [] },
      { mountPoint: '/tmp/with space/memory', version: 1, controllers: ['memory'] },
    ]);
  });
  it('rejects a truncated line', () => expectParseError(() => parseCgroupMounts('cgroup /sys/fs/cgroup/cpu\n', '/p/mounts'), '/p/mounts'));
});

describe('/proc/<pid>/cgroup', () => {
  const hybrid = [
    '9:name=systemd:/',
    '4:memory:/kubepods/besteffort/hadoop-yarn/container_1_0001_01_000002',
    '2:cpu,cpuacct:/kubepods/besteffort/hadoop-yarn/container_1_0001_01_000002/sub',
    '0::/kubepods/besteffort/hadoop-yarn/container_1_0001_01_0000021',
  ].join('\n') + '\n';
  const entries = parseProcPidCgroup(hybrid, 'cgroup');
  const cg = 'kubepods/besteffort/hadoop-yarn/container_1_0001_01_000002';

  it('parses ids, controller lists and paths', () => {
    expect(entries[2]).toEqual({ hierarchyId: 2, controllers: ['cpu', 'cpuacct'], path: '/kubepods/besteffort/hadoop-yarn/container_1_0001_01_000002/sub' });
    expect(entries[3]).toEqual({ hierarchyId: 0, controllers: [], path: '/kubepods/besteffort/hadoop-yarn/container_1_0001_01_0000021' });
  });

  it('membership: exact path or a sub-path, in the right hierarchy only', () => {
    expect(procIsInCgroup(entries, cg, 'memory')).toBe(true);
    expect(procIsInCgroup(entries, cg, 'cpuacct')).toBe(true); // sub-cgroup
    expect(procIsInCgroup(entries, cg, 'pids')).toBe(false); // no such line
    // unified line names container …0000021: a prefix look-alike, not a sub-path
    expect(procIsInCgroup(entries, cg, undefined)).toBe(false);
    expect(procIsInCgroup(parseProcPidCgroup('4:memory:/kubepods/besteffort/hadoop-yarn\n', 'c'), cg, 'memory')).toBe(false);
  });

  it('rejects malformed lines', () => {
    expectParseError(() => parseProcPidCgroup('memory:/x\n', '/proc/7/cgroup'), '/proc/7/cgroup');
    expectParseError(() => parseProcPidCgroup('x:memory:/x\n', '/proc/7/cgroup'), '/proc/7/cgroup');
    expectParseError(() => parseProcPidCgroup('4:memory:relative\n', '/proc/7/cgroup'), '/proc/7/cgroup');
  });
});

describe('node totals', () => {
  const meminfo = [
    'MemTotal:       24684100 kB', 'MemFree:        24317700 kB', 'MemAvailable:   20000000 kB',
    'Buffers:            2340 kB', 'Inactive(file):    72084 kB', 'HugePages_Total:       0', 'Hugepagesize:       2048 kB',
  ].join('\n') + '\n';

  it('meminfo: used = total − available, in bytes', () => {
    expect(parseMeminfo(meminfo)).toEqual({ total: 24684100 * 1024, available: 20000000 * 1024, used: 4684100 * 1024 });
  });

  it('meminfo garbage', () => {
    expectParseError(() => parseMeminfo('MemTotal:       24684100 kB\n', '/p/meminfo'), '/p/meminfo');
    expectParseError(() => parseMeminfo('MemTotal: lots kB\nMemAvailable: 1 kB\n', '/p/meminfo'), '/p/meminfo');
    expectParseError(() => parseMeminfo('MemTotal: 10 kB\nMemAvailable: 20 kB\n', '/p/meminfo'), '/p/meminfo');
    expectParseError(() => parseMeminfo('MemTotal: 10 kB\nMemAvailable: -2 kB\n', '/p/meminfo'), '/p/meminfo');
    expectParseError(() => parseMeminfo('', '/p/meminfo'), '/p/meminfo');
  });

  const stat = (user: number, idle: number): string =>
    `cpu  ${user} 0 3114 ${idle} 95 0 36 23 0 0\ncpu0 4105 0 1396 68678 9 0 12 10 0 0\ncpu1 4805 0 1718 67537 86 0 23 13 0 0\nintr 235851 0 0\nctxt 599033\nbtime 1795236979\n`;

  it('stat: busy vs total jiffies, guest not double counted', () => {
    expect(parseProcStat(stat(8911, 136216))).toEqual({
      busyJiffies: 8911 + 3114 + 36 + 23, idleJiffies: 136216 + 95, totalJiffies: 8911 + 3114 + 36 + 23 + 136216 + 95, cpus: 2,
    });
  });

  it('node CPU between two samples, in milli-cores', () => {
    const a = parseProcStat(stat(1000, 10000));
    const b = parseProcStat(stat(1100, 10100)); // 100 busy of 200 jiffies on 2 CPUs = 1 core
    expect(nodeCpuBusyMilli(a, b)).toBe(1000);
    expect(nodeCpuBusyMilli(a, a)).toBeUndefined();
    expect(nodeCpuBusyMilli(b, a)).toBeUndefined();
  });

  it('stat garbage', () => {
    expectParseError(() => parseProcStat('cpu  1 2 3\ncpu0 1 2 3 4 5 6 7 8\n', '/p/stat'), '/p/stat');
    expectParseError(() => parseProcStat('cpu  1 2 3 x 5 6 7 8 0 0\ncpu0 1 2 3 4 5 6 7 8\n', '/p/stat'), '/p/stat');
    expectParseError(() => parseProcStat('intr 5\n', '/p/stat'), '/p/stat');
    expectParseError(() => parseProcStat('cpu  1 2 3 4 5 6 7 8 0 0\n', '/p/stat'), '/p/stat');
  });
});
