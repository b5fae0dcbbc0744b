/** The pure parts of the simulated node: workload model, CPU sharing, kernel file formats, paths. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCpuQuota } from '../../sim/node/cgroup-files.js';
import { escapeMountPath, normalizeCgroupPath, procPidCgroup, withAncestors } from '../../sim/node/hierarchy.js';
import { meminfo, procPidStat, psiFile, sharesToWeight, v1MemoryStat, zeroPsi } from '../../sim/node/kernel-files.js';
import { containerLoad, defaultContainerLoad, nodeMemory, shareCpu, waterFill, type CpuGroup } from '../../sim/node/workload.js';

const MiB = 2 ** 20;

describe('waterFill', () => {
  const claims = fc.array(fc.record({ demand: fc.integer({ min: 0, max: 10_000 }), weight: fc.integer({ min: 2, max: 262_144 }) }), { maxLength: 30 });

  it('never gives more than asked, never more than available, and wastes nothing', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 }), claims, (available, cs) => {
        const g = waterFill(available, cs);
        const sum = g.reduce((a, b) => a + b, 0);
        const demand = cs.reduce((a, c) => a + c.demand, 0);
        g.forEach((x, i) => expect(x).toBeLessThanOrEqual(cs[i]!.demand + 1e-6));
        expect(sum).toBeCloseTo(Math.min(available, demand), 3);
      }),
    );
  });

  it('shares by weight when everybody wants more', () => {
    expect(waterFill(1000, [{ demand: 5000, weight: 1024 }, { demand: 5000, weight: 3072 }])).toEqual([250, 750]);
    expect(waterFill(1000, [{ demand: 100, weight: 1 }, { demand: 5000, weight: 1 }])).toEqual([100, 900]);
  });
});

describe('shareCpu', () => {
  const tree = (yarnCap?: number): CpuGroup => ({
    path: '',
    ownDemandMilli: 100,
    shares: 1024,
    children: [
      {
        path: 'kubepods',
        ownDemandMilli: 0,
        shares: 4096,
        children: [
          { path: 'kubepods/burstable', ownDemandMilli: 3000, shares: 1024, children: [] },
          {
            path: 'kubepods/besteffort',
            ownDemandMilli: 0,
            shares: 2,
            children: [{ path: 'kubepods/besteffort/y', ownDemandMilli: 0, shares: 1024, ...(yarnCap === undefined ? {} : { capMilli: yarnCap }), children: [
              { path: 'kubepods/besteffort/y/a', ownDemandMilli: 2000, shares: 1024, children: [] },
              { path: 'kubepods/besteffort/y/b', ownDemandMilli: 2000, shares: 1024, children: [] },
            ] }],
          },
        ],
      },
    ],
  });

  it('best-effort gets what online work leaves', () => {
    const g = shareCpu(tree(), 4000);
    expect(g.get('')!.grantMilli).toBe(4000);
    expect(g.get('kubepods/burstable')!.grantMilli).toBe(3000);
    expect(g.get('kubepods/besteffort/y')!.grantMilli).toBeCloseTo(900, 6);
    expect(g.get('kubepods/besteffort/y/a')!.grantMilli).toBeCloseTo(450, 6);
  });

  it('a quota caps the subtree and marks it throttled; the rest stays idle', () => {
    const g = shareCpu(tree(1000), 16_000);
    expect(g.get('kubepods/besteffort/y')).toEqual({ grantMilli: 1000, demandMilli: 4000, throttled: true });
    expect(g.get('')!.grantMilli).toBe(4100);
    expect(g.get('kubepods/burstable')!.throttled).toBe(false);
  });
});

describe('container load', () => {
  const spec = { id: 'container_1_0001_01_000002', memoryMiB: 2048, vcores: 2 };

  it('ramps monotonically towards its allocation and never beyond', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 0, max: 10_000_000 }), (a, b) => {
        const [t1, t2] = a <= b ? [a, b] : [b, a];
        const l1 = defaultContainerLoad(spec, t1, 30_000);
        const l2 = defaultContainerLoad(spec, t2, 30_000);
        expect(l2.memoryBytes).toBeGreaterThanOrEqual(l1.memoryBytes);
        expect(l2.cpuMilli).toBeGreaterThanOrEqual(l1.cpuMilli);
        expect(l2.memoryBytes + l2.cacheBytes).toBeLessThanOrEqual(2048 * MiB);
        expect(l2.cpuMilli).toBeLessThanOrEqual(2000);
        expect(l2.memoryBytes % 4096).toBe(0);
      }),
    );
  });

  it('explicit usage replaces the ramp; page cache is reclaimed to fit the limit', () => {
    expect(containerLoad(spec, 0, 30_000, { memoryBytes: 100 * MiB, cacheBytes: 10 * MiB, cpuMilli: 1234 })).toEqual({
      memoryBytes: 100 * MiB,
      cacheBytes: 10 * MiB,
      cpuMilli: 1234,
    });
    expect(containerLoad(spec, 0, 30_000, { memoryBytes: 2000 * MiB, cacheBytes: 500 * MiB }).cacheBytes).toBe(48 * MiB);
    expect(containerLoad(spec, 0, 30_000, { memoryBytes: -5, cpuMilli: Number.NaN })).toMatchObject({ memoryBytes: 0, cpuMilli: 0 });
  });
});

describe('node memory', () => {
  it('MemAvailable counts reclaimable cache and falls one-for-one with anon memory', () => {
    const base = { totalBytes: 16 * 2 ** 30, anonBytes: 4 * 2 ** 30, cacheBytes: 2 * 2 ** 30, buffersBytes: 0, slabReclaimableBytes: 0, slabUnreclaimableBytes: 0 };
    const a = nodeMemory(base);
    const b = nodeMemory({ ...base, anonBytes: base.anonBytes + 2 ** 30 });
    expect(a.freeBytes).toBe(10 * 2 ** 30);
    expect(a.availableBytes).toBeGreaterThan(a.freeBytes);
    expect(a.availableBytes - b.availableBytes).toBe(2 ** 30);
    expect(nodeMemory({ ...base, anonBytes: 20 * 2 ** 30 })).toEqual({ freeBytes: 0, cachedBytes: 0, availableBytes: 0 });
    expect(nodeMemory({ ...base, anonBytes: 15 * 2 ** 30 }).cachedBytes).toBe(2 ** 30); // cache reclaimed to fit
  });
});

describe('kernel formats', () => {
  it('meminfo pads labels to 16 and values to 8, like show_val_kb', () => {
    const text = meminfo({ totalBytes: 24684100 * 1024, freeBytes: 1492 * 1024, availableBytes: 0, buffersBytes: 0, cachedBytes: 0, anonBytes: 0, slabReclaimableBytes: 0, slabUnreclaimableBytes: 0 });
    const lines = text.split('\n');
    expect(lines[0]).toBe('MemTotal:       24684100 kB');
    expect(lines[1]).toBe('MemFree:            1492 kB');
    expect(text).toContain('\nVmallocTotal:   34359738367 kB\n');
    expect(text).toContain('\nHugePages_Total:       0\n');
  });

  it('v1 memory.stat lists own counters, hierarchical limits, then total_*', () => {
    const s = v1MemoryStat({ anon: 8192, file: 4096 }, { pgpgin: 3, pgpgout: 0 }, { anon: 81920, file: 40960 }, { pgpgin: 30, pgpgout: 0 }, null);
    expect(s.startsWith('cache 4096\nrss 8192\n')).toBe(true);
    expect(s).toContain('\nhierarchical_memory_limit 9223372036854771712\n');
    expect(s).toContain('\ntotal_cache 40960\ntotal_rss 81920\n');
    expect(s).toContain('\ntotal_inactive_file 40960\n');
  });

  it('PSI lines', () => {
    const p = zeroPsi();
    p.some = { avg10: 1.234, avg60: 0.5, avg300: 0, total: 12345.9 };
    expect(psiFile(p)).toBe('some avg10=1.23 avg60=0.50 avg300=0.00 total=12345\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n');
  });

  it('/proc/<pid>/stat keeps the real line and replaces utime, stime, vsize, rss — even with odd comm', () => {
    const real = '4242 (we ird) (cmd)) S 1 4242 4242 0 -1 4194304 99 0 0 0 7 3 0 0 20 0 1 0 57159 3133440 414 18446744073709551615 1 2 3 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 4 5 6 7 8 9 10 0';
    const out = procPidStat(real, { usageNs: 2e9, rssBytes: 4096 * 10 }).trim();
    expect(out.startsWith('4242 (we ird) (cmd)) S 1 4242 ')).toBe(true);
    const rest = out.slice(out.lastIndexOf(')') + 2).split(' ');
    expect(rest[14 - 3]).toBe('160'); // utime: 80 % of 2 s in ticks
    expect(rest[15 - 3]).toBe('40');
    expect(rest[24 - 3]).toBe('10');
    expect(rest[22 - 3]).toBe('57159'); // starttime untouched
    expect(rest).toHaveLength(50);
  });

  it('cpu quota parsing, v1 and v2', () => {
    expect(parseCpuQuota('-1', '100000', undefined)).toBeUndefined();
    expect(parseCpuQuota('250000\n', '100000\n', undefined)).toBe(2500);
    expect(parseCpuQuota(undefined, undefined, 'max 100000\n')).toBeUndefined();
    expect(parseCpuQuota(undefined, undefined, '50000 100000\n')).toBe(500);
    expect(parseCpuQuota(undefined, undefined, '20000 50000')).toBe(400);
    expect(parseCpuQuota(undefined, undefined, 'garbage')).toBeUndefined();
  });

  it('cpu.shares → cpu.weight as runc converts', () => {
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(1024)).toBe(39);
    expect(sharesToWeight(262144)).toBe(10000);
  });
});

describe('paths', () => {
  it('normalises cgroup paths and rejects escapes', () => {
    expect(normalizeCgroupPath('/kubepods/besteffort/hadoop-yarn/')).toBe('kubepods/besteffort/hadoop-yarn');
    for (const bad of ['', '/', 'a//b', 'a/../b', './a']) expect(() => normalizeCgroupPath(bad)).toThrow();
    expect(withAncestors('a/b/c')).toEqual(['a', 'a/b', 'a/b/c']);
  });

  it('/proc/mounts octal escapes and /proc/<pid>/cgroup lines per layout', () => {
    expect(escapeMountPath('/tmp/a b\\c')).toBe('/tmp/a\\040b\\134c');
    expect(procPidCgroup('v2', 'x/y')).toBe('0::/x/y\n');
    expect(procPidCgroup('hybrid', 'x/y')).toBe('6:pids:/x/y\n4:memory:/x/y\n3:cpu,cpuacct:/x/y\n0::/x/y\n');
    expect(procPidCgroup('v1', 'x/y')).not.toContain('0::');
  });
});
