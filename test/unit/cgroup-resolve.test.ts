import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { detectCgroupLayout } from '../../cgroup/detect.js';
import { CgroupPathError } from '../../cgroup/errors.js';
import { containerCgroupPath, resolveContainerCgroup, resolveYarnParent } from '../../cgroup/resolve.js';
import { parseYarnHierarchy } from '../../cgroup/yarn-path.js';
import { buildFakeNode, CID_A, CID_B, type FakeNode, removeTree, tempRoot } from '../cgroup/fake-tree.js';

const YARN = 'kubepods/besteffort/hadoop-yarn';
const yarn = parseYarnHierarchy(YARN);
const nodes: FakeNode[] = [];
const extra: string[] = [];
function fake(mode: 'v1' | 'v2' | 'hybrid'): FakeNode {
  const n = buildFakeNode(mode, YARN, {
    [CID_A]: { usage: 1000, inactiveFile: 10, cpuUsec: 5 },
    [CID_B]: { usage: 2000, inactiveFile: 20, cpuUsec: 6 },
  });
  nodes.push(n);
  return n;
}
afterEach(() => {
  while (nodes.length) removeTree(nodes.pop()!.root);
  while (extra.length) removeTree(extra.pop()!);
});

function pathError(fn: () => unknown): CgroupPathError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CgroupPathError);
    return err as CgroupPathError;
  }
  throw new Error('expected a CgroupPathError');
}

describe('container id → path', () => {
  it('joins <yarn-path>/<id> for valid ids only', () => {
    expect(containerCgroupPath(yarn, CID_B)).toBe(`${YARN}/${CID_B}`);
  });

  it.each([
    '../container_1_0001_01_000001',
    'container_1_0001_01_000001/../../etc',
    '/etc/passwd',
    '/sys/fs/cgroup/memory',
    '..',
    '',
    'container_1_0001_01',
    'container_1_0001_01_000001\n',
    'application_1_0001',
    'container_1_0001_01_000001/sub',
  ])('refuses %j', (id) => {
    expect(pathError(() => containerCgroupPath(yarn, id)).kind).toBe('invalid-container-id');
  });
});

describe('resolve on fake trees', () => {
  it('v1: memory, cpu and cpuacct roles (combined mount), no unified', () => {
    const n = fake('v1');
    const layout = detectCgroupLayout({ cgroupRoot: n.cgroupRoot, procRoot: n.procRoot, filesystem: 'simulated' });
    const c = resolveContainerCgroup(layout, yarn, CID_A);
    expect(c.memory?.dir).toBe(`${n.cgroupRoot}/memory/${YARN}/${CID_A}`);
    expect(c.cpu?.dir).toBe(`${n.cgroupRoot}/cpu,cpuacct/${YARN}/${CID_A}`);
    expect(c.cpuacct?.dir).toBe(c.cpu?.dir);
    expect(c.unified).toBeUndefined();
    expect(c.all).toHaveLength(2);
  });

  it('hybrid: v1 roles plus the unified dir', () => {
    const n = fake('hybrid');
    const layout = detectCgroupLayout({ cgroupRoot: n.cgroupRoot, procRoot: n.procRoot, filesystem: 'simulated' });
    const c = resolveContainerCgroup(layout, yarn, CID_B);
    expect(c.cpuacct?.dir).toBe(`${n.cgroupRoot}/cpuacct/${YARN}/${CID_B}`);
    expect(c.unified?.dir).toBe(`${n.cgroupRoot}/unified/${YARN}/${CID_B}`);
    expect(c.all).toHaveLength(4);
  });

  it('v2: one directory serves every role', () => {
    const n = fake('v2');
    const layout = detectCgroupLayout({ cgroupRoot: n.cgroupRoot, procRoot: n.procRoot, filesystem: 'simulated' });
    const c = resolveContainerCgroup(layout, yarn, CID_A);
    const d = `${n.cgroupRoot}/${YARN}/${CID_A}`;
    expect([c.memory?.dir, c.cpu?.dir, c.cpuacct?.dir, c.unified?.dir]).toEqual([d, d, d, d]);
    expect(c.all).toHaveLength(1);
  });

  it('a container that does not exist resolves to no directories', () => {
    const n = fake('v1');
    const layout = detectCgroupLayout({ cgroupRoot: n.cgroupRoot, procRoot: n.procRoot, filesystem: 'simulated' });
    const c = resolveContainerCgroup(layout, yarn, 'container_1700000000000_0009_01_000009');
    expect(c.all).toEqual([]);
    expect(c.memory).toBeUndefined();
  });

  it('refuses a symlinked container dir pointing elsewhere', () => {
    const n = fake('v1');
    const elsewhere = tempRoot('loom-elsewhere-');
    extra.push(elsewhere);
    const evil = 'container_1700000000000_0001_01_000099';
    fs.symlinkSync(elsewhere, path.join(n.cgroupRoot, 'memory', YARN, evil));
    const layout = detectCgroupLayout({ cgroupRoot: n.cgroupRoot, procRoot: n.procRoot, filesystem: 'simulated' });
    const err = pathError(() => resolveContainerCgroup(layout, yarn, evil));
    expect(err.kind).toBe('escapes-yarn-parent');
    expect(err.message).toContain(evil);
  });

  it('refuses a symlinked container dir even when it points at a sibling container', () => {
    const n = fake('v2');
    const alias = 'container_1700000000000_0001_01_000098';
    fs.symlinkSync(path.join(n.cgroupRoot, YARN, CID_A), path.join(n.cgroupRoot, YARN, alias));
    const layout = detectCgroupLayout({ cgroupRoot: n.cgroupRoot, procRoot: n.procRoot, filesystem: 'simulated' });
    expect(pathError(() => resolveContainerCgroup(layout, yarn, alias)).kind).toBe('escapes-yarn-parent');
  });

  it('refuses a dangling container symlink', () => {
    const n = fake('v1');
    const dangling = 'container_1700000000000_0001_01_000097';
    fs.symlinkSync('/nonexistent/loom', path.join(n.cgroupRoot, 'memory', YARN, dangling));
    const layout = detectCgroupLayout({ cgroupRoot: n.cgroupRoot, procRoot: n.procRoot, filesystem: 'simulated' });
    expect(pathError(() => resolveContainerCgroup(layout, yarn, dangling)).kind).toBe('escapes-yarn-parent');
  });

  it('refuses a symlinked YARN parent (and every container under it)', () => {
    const n = fake('hybrid');
    const elsewhere = tempRoot('loom-elsewhere-');
    extra.push(elsewhere);
    const parent = path.join(n.cgroupRoot, 'memory', YARN);
    fs.renameSync(parent, path.join(elsewhere, 'hadoop-yarn'));
    fs.symlinkSync(path.join(elsewhere, 'hadoop-yarn'), parent);
    const layout = detectCgroupLayout({ cgroupRoot: n.cgroupRoot, procRoot: n.procRoot, filesystem: 'simulated' });
    expect(pathError(() => resolveContainerCgroup(layout, yarn, CID_A)).kind).toBe('escapes-yarn-parent');
    expect(pathError(() => resolveYarnParent(layout, yarn)).kind).toBe('escapes-yarn-parent');
  });

  it('refuses a container path that is a file, not a directory', () => {
    const n = fake('v1');
    const id = 'container_1700000000000_0001_01_000096';
    fs.writeFileSync(path.join(n.cgroupRoot, 'memory', YARN, id), 'x');
    const layout = detectCgroupLayout({ cgroupRoot: n.cgroupRoot, procRoot: n.procRoot, filesystem: 'simulated' });
    expect(pathError(() => resolveContainerCgroup(layout, yarn, id)).kind).toBe('not-a-directory');
  });
});
