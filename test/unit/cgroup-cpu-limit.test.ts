import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeCgroups, quotaUsFor, readCpuLimit, setCpuLimit } from '../../cgroup/index.js';
import { milliCores } from '../../kube/quantity.js';
import { buildFakeNode, CID_A, type FakeNode, readTree, removeTree } from '../cgroup/fake-tree.js';

const YARN = 'kubepods/besteffort/hadoop-yarn';
const nodes: FakeNode[] = [];
function open(mode: 'v1' | 'v2' | 'hybrid'): { n: FakeNode; cgs: NodeCgroups } {
  const n = buildFakeNode(mode, YARN, { [CID_A]: { usage: 1, inactiveFile: 0, cpuUsec: 0 } });
  nodes.push(n);
  return { n, cgs: NodeCgroups.open({ cgroupRoot: n.cgroupRoot, procRoot: n.procRoot, yarnCgroupPath: YARN, filesystem: 'simulated' }) };
}
afterEach(() => {
  while (nodes.length) removeTree(nodes.pop()!.root);
});

/** Every file under the tree with its content, to prove dry-run changed nothing. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out[p] = fs.readFileSync(p, 'utf8');
    }
  };
  walk(root);
  return out;
}

describe('quota arithmetic', () => {
  it('milli × period / 1000, at least 1000 µs', () => {
    expect(quotaUsFor(2500, 100_000)).toBe(250_000);
    expect(quotaUsFor(1, 100_000)).toBe(1000);
    expect(quotaUsFor(0, 100_000)).toBe(1000);
    expect(quotaUsFor(333, 50_000)).toBe(16_650);
    expect(() => quotaUsFor(-1, 100_000)).toThrow(RangeError);
    expect(() => quotaUsFor(Number.NaN, 100_000)).toThrow(RangeError);
    expect(() => quotaUsFor(1000, 999)).toThrow(RangeError);
  });

  it('never exceeds the requested limit once above the kernel minimum (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 1000, max: 1_000_000 }), (milli, period) => {
        const q = quotaUsFor(milli, period);
        return q >= 1000 && (q === 1000 || q * 1000 <= milli * period) && Number.isInteger(q);
      }),
    );
  });
});

describe('setting the YARN parent CPU limit', () => {
  it('v1 (combined cpu,cpuacct mount): writes cpu.cfs_quota_us, keeps the period, reads back', () => {
    const { n, cgs } = open('v1');
    const r = cgs.setYarnCpuLimit(milliCores(2500));
    const qFile = `${n.cgroupRoot}/cpu,cpuacct/${YARN}/cpu.cfs_quota_us`;
    expect(r.writes).toEqual([{ file: qFile, value: '250000' }]);
    expect(r).toMatchObject({ applied: true, dryRun: false, previous: { quotaUs: null, periodUs: 100000 } });
    expect(readTree(n.root, `cgroup/cpu,cpuacct/${YARN}/cpu.cfs_quota_us`)).toBe('250000');
    expect(readCpuLimit(cgs.yarnParent())).toMatchObject({ quotaUs: 250000, periodUs: 100000, milliCores: 2500 });

    // Unlimited is -1 (written over a longer value: the file must be truncated, not overlaid)
    cgs.setYarnCpuLimit('unlimited');
    expect(readTree(n.root, `cgroup/cpu,cpuacct/${YARN}/cpu.cfs_quota_us`)).toBe('-1');
    expect(readCpuLimit(cgs.yarnParent()).milliCores).toBeNull();
  });

  it('hybrid: the v1 cpu mount, not the unified tree', () => {
    const { n, cgs } = open('hybrid');
    const r = cgs.setYarnCpuLimit(milliCores(500));
    expect(r.writes).toEqual([{ file: `${n.cgroupRoot}/cpu/${YARN}/cpu.cfs_quota_us`, value: '50000' }]);
  });

  it('v1 with a new period: period first, then quota', () => {
    const { n, cgs } = open('v1');
    const r = cgs.setYarnCpuLimit(milliCores(1500), { periodUs: 50_000 });
    const dir = `${n.cgroupRoot}/cpu,cpuacct/${YARN}`;
    expect(r.writes).toEqual([
      { file: `${dir}/cpu.cfs_period_us`, value: '50000' },
      { file: `${dir}/cpu.cfs_quota_us`, value: '75000' },
    ]);
    expect(readCpuLimit(cgs.yarnParent())).toMatchObject({ quotaUs: 75000, periodUs: 50000, milliCores: 1500 });
  });

  it('v2: writes "quota period" to cpu.max, and "max period" for unlimited', () => {
    const { n, cgs } = open('v2');
    const file = `${n.cgroupRoot}/${YARN}/cpu.max`;
    expect(cgs.setYarnCpuLimit(milliCores(3000)).writes).toEqual([{ file, value: '300000 100000' }]);
    expect(readTree(n.root, `cgroup/${YARN}/cpu.max`)).toBe('300000 100000');
    expect(readCpuLimit(cgs.yarnParent()).milliCores).toBe(3000);
    expect(cgs.setYarnCpuLimit('unlimited').writes).toEqual([{ file, value: 'max 100000' }]);
    expect(readTree(n.root, `cgroup/${YARN}/cpu.max`)).toBe('max 100000');
  });

  it('nothing is written when the limit is already in place', () => {
    const { cgs } = open('v2');
    cgs.setYarnCpuLimit(milliCores(3000));
    const again = cgs.setYarnCpuLimit(milliCores(3000));
    expect(again).toMatchObject({ writes: [], applied: false });
  });

  it.each(['v1', 'v2', 'hybrid'] as const)('dry-run on %s returns the plan and writes nothing', (mode) => {
    const { n, cgs } = open(mode);
    const before = snapshot(n.root);
    const r = cgs.setYarnCpuLimit(milliCores(1200), { dryRun: true });
    expect(r).toMatchObject({ dryRun: true, applied: false, target: { quotaUs: 120000, periodUs: 100000 } });
    expect(r.writes).toHaveLength(1);
    expect(r.writes[0]!.value).toBe(mode === 'v2' ? '120000 100000' : '120000');
    expect(snapshot(n.root)).toEqual(before);
  });

  it('a container cgroup can be limited too (setCpuLimit on any CgroupDirs)', () => {
    const { n, cgs } = open('v2');
    setCpuLimit(cgs.container(CID_A), milliCores(100));
    expect(readTree(n.root, `cgroup/${YARN}/${CID_A}/cpu.max`)).toBe('10000 100000');
  });
});
