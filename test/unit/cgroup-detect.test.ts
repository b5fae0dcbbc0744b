import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { detectCgroupLayout, hierarchyFor } from '../../cgroup/detect.js';
import { CgroupLayoutError, CgroupPathError } from '../../cgroup/errors.js';
import { NodeCgroups } from '../../cgroup/node-cgroups.js';
import { otherNaming, parseYarnHierarchy } from '../../cgroup/yarn-path.js';
import { mountsText, removeTree, tempRoot, writeTree } from '../cgroup/fake-tree.js';

const roots: string[] = [];
function node(): { root: string; cg: string; proc: string } {
  const root = tempRoot();
  roots.push(root);
  return { root, cg: path.join(root, 'cgroup'), proc: path.join(root, 'proc') };
}
afterEach(() => {
  while (roots.length) removeTree(roots.pop()!);
});

describe('yarn hierarchy path', () => {
  it('accepts cgroupfs and systemd naming as given and reports which', () => {
    expect(parseYarnHierarchy('kubepods/besteffort/hadoop-yarn')).toMatchObject({ path: 'kubepods/besteffort/hadoop-yarn', naming: 'cgroupfs' });
    expect(parseYarnHierarchy('kubepods.slice/kubepods-besteffort.slice/hadoop-yarn/')).toMatchObject({
      path: 'kubepods.slice/kubepods-besteffort.slice/hadoop-yarn', naming: 'systemd',
    });
    expect(parseYarnHierarchy('hadoop-yarn').naming).toBe('cgroupfs');
  });

  it.each(['/hadoop-yarn', '', '/', 'kubepods/../etc', '..', './hadoop-yarn', 'kubepods//hadoop-yarn', 'a/\0b'])('refuses %j', (p) => {
    expect(() => parseYarnHierarchy(p)).toThrow(CgroupPathError);
  });

  it('translates between namings for a hint', () => {
    expect(otherNaming(parseYarnHierarchy('kubepods/besteffort/hadoop-yarn'))).toBe('kubepods.slice/kubepods-besteffort.slice/hadoop-yarn');
    expect(otherNaming(parseYarnHierarchy('kubepods.slice/kubepods-besteffort.slice/hadoop-yarn'))).toBe('kubepods/besteffort/hadoop-yarn');
    expect(otherNaming(parseYarnHierarchy('hadoop-yarn'))).toBeUndefined();
  });
});

describe('layout from <proc-root>/mounts', () => {
  it('v1 with the combined cpu,cpuacct mount and cpu/cpuacct symlinks (cgroupfs naming)', () => {
    const n = node();
    writeTree(n.root, {
      'cgroup/memory/kubepods/besteffort/hadoop-yarn/': '',
      'cgroup/cpu,cpuacct/kubepods/besteffort/hadoop-yarn/': '',
      'cgroup/systemd/': '',
      'proc/mounts': mountsText({
        [`${n.cg}/memory`]: 'memory',
        [`${n.cg}/cpu,cpuacct`]: 'cpu,cpuacct',
        [`${n.cg}/systemd`]: 'xattr,name=systemd',
      }),
    });
    fs.symlinkSync('cpu,cpuacct', path.join(n.cg, 'cpu'));
    fs.symlinkSync('cpu,cpuacct', path.join(n.cg, 'cpuacct'));
    const layout = detectCgroupLayout({ cgroupRoot: n.cg, procRoot: n.proc, filesystem: 'simulated' });
    expect(layout.mode).toBe('v1');
    expect(layout.source).toBe('mounts');
    expect(layout.controllerDirs).toEqual({ memory: `${n.cg}/memory`, cpu: `${n.cg}/cpu,cpuacct`, cpuacct: `${n.cg}/cpu,cpuacct` });
    expect(layout.hierarchies).toHaveLength(2);
    expect(layout.unified).toBeUndefined();
    const cgs = NodeCgroups.open({ cgroupRoot: n.cg, procRoot: n.proc, yarnCgroupPath: 'kubepods/besteffort/hadoop-yarn', filesystem: 'simulated' });
    expect(cgs.describe()).toMatchObject({ mode: 'v1', naming: 'cgroupfs', yarnParentDirs: [`${n.cg}/memory/kubepods/besteffort/hadoop-yarn`, `${n.cg}/cpu,cpuacct/kubepods/besteffort/hadoop-yarn`] });
  });

  it('v1 with systemd naming, and a hint when the configured naming is the other one', () => {
    const n = node();
    const sd = 'kubepods.slice/kubepods-besteffort.slice/hadoop-yarn';
    writeTree(n.root, {
      [`cgroup/memory/${sd}/`]: '',
      [`cgroup/cpu/${sd}/`]: '',
      [`cgroup/cpuacct/${sd}/`]: '',
      'proc/mounts': mountsText({ [`${n.cg}/memory`]: 'memory', [`${n.cg}/cpu`]: 'cpu', [`${n.cg}/cpuacct`]: 'cpuacct' }),
    });
    const good = NodeCgroups.open({ cgroupRoot: n.cg, procRoot: n.proc, yarnCgroupPath: sd, filesystem: 'simulated' });
    expect(good.describe()).toMatchObject({ mode: 'v1', naming: 'systemd' });
    expect(good.describe().yarnParentDirs).toHaveLength(3);
    expect(good.describe().hint).toBeUndefined();
    const wrong = NodeCgroups.open({ cgroupRoot: n.cg, procRoot: n.proc, yarnCgroupPath: 'kubepods/besteffort/hadoop-yarn', filesystem: 'simulated' });
    expect(wrong.describe().yarnParentDirs).toEqual([]);
    expect(wrong.describe().hint).toContain(`--yarn-cgroup-path ${sd}`);
  });

  it('hybrid like this project\'s nodes: separate cpu and cpuacct mounts plus unified', () => {
    const n = node();
    writeTree(n.root, {
      'cgroup/cpu/': '', 'cgroup/cpuacct/': '', 'cgroup/memory/': '', 'cgroup/pids/': '',
      'cgroup/unified/cgroup.controllers': 'hugetlb\n',
      'proc/mounts': mountsText(
        { [`${n.cg}/cpu`]: 'cpu', [`${n.cg}/cpuacct`]: 'cpuacct', [`${n.cg}/memory`]: 'memory', [`${n.cg}/pids`]: 'pids', [`${n.cg}/systemd`]: 'name=systemd' },
        `${n.cg}/unified`,
      ),
    });
    const layout = detectCgroupLayout({ cgroupRoot: n.cg, procRoot: n.proc, filesystem: 'simulated' });
    expect(layout.mode).toBe('hybrid');
    expect(layout.unified).toMatchObject({ version: 2, dir: `${n.cg}/unified`, controllers: ['hugetlb'] });
    expect(layout.controllerDirs).toMatchObject({ cpu: `${n.cg}/cpu`, cpuacct: `${n.cg}/cpuacct`, memory: `${n.cg}/memory`, hugetlb: `${n.cg}/unified` });
    expect(hierarchyFor(layout, 'memory')?.version).toBe(1);
    expect(hierarchyFor(layout, 'io')).toBeUndefined(); // not offered by the unified tree here
  });

  it('pure v2: every controller from the root', () => {
    const n = node();
    writeTree(n.root, {
      'cgroup/cgroup.controllers': 'cpuset cpu io memory hugetlb pids rdma misc\n',
      'proc/mounts': mountsText({}, n.cg),
    });
    const layout = detectCgroupLayout({ cgroupRoot: n.cg, procRoot: n.proc, filesystem: 'simulated' });
    expect(layout.mode).toBe('v2');
    expect(layout.source).toBe('mounts');
    expect(layout.controllerDirs.memory).toBe(n.cg);
    expect(hierarchyFor(layout, 'cpuacct')?.dir).toBe(n.cg);
  });

  it('mounts that do not mention the root fall back to probing (agent reading the host\'s mounts)', () => {
    const n = node();
    writeTree(n.root, {
      'cgroup/memory/': '', 'cgroup/cpu,cpuacct/': '',
      'proc/mounts': mountsText({ '/sys/fs/cgroup/memory': 'memory', '/sys/fs/cgroup/cpu,cpuacct': 'cpu,cpuacct' }),
    });
    fs.symlinkSync('cpu,cpuacct', path.join(n.cg, 'cpu'));
    const layout = detectCgroupLayout({ cgroupRoot: n.cg, procRoot: n.proc, filesystem: 'simulated' });
    expect(layout.source).toBe('probe');
    expect(layout.mode).toBe('v1');
    // the real combined dir wins over the cpu symlink; one hierarchy, not two
    expect(layout.controllerDirs).toEqual({ 'cpu': `${n.cg}/cpu,cpuacct`, 'cpuacct': `${n.cg}/cpu,cpuacct`, memory: `${n.cg}/memory` });
    expect(layout.hierarchies).toHaveLength(2);
  });

  it('mounts naming the real path of a symlinked root are re-rooted onto the configured root', () => {
    const n = node();
    writeTree(n.root, { 'real/memory/': '', 'proc/mounts': '' });
    fs.symlinkSync(path.join(n.root, 'real'), n.cg);
    fs.writeFileSync(path.join(n.proc, 'mounts'), mountsText({ [`${fs.realpathSync(n.root)}/real/memory`]: 'memory' }));
    const layout = detectCgroupLayout({ cgroupRoot: n.cg, procRoot: n.proc, filesystem: 'simulated' });
    expect(layout.source).toBe('mounts');
    expect(layout.controllerDirs.memory).toBe(`${n.cg}/memory`);
  });
});

describe('layout by probing (no <proc-root>/mounts)', () => {
  it('cgroup.controllers at root ⇒ v2', () => {
    const n = node();
    writeTree(n.root, { 'cgroup/cgroup.controllers': 'cpu memory io\n' });
    const l = detectCgroupLayout({ cgroupRoot: n.cg, procRoot: n.proc, filesystem: 'simulated' });
    expect([l.mode, l.source, l.unified?.dir]).toEqual(['v2', 'probe', n.cg]);
  });

  it('unified/cgroup.controllers ⇒ hybrid', () => {
    const n = node();
    writeTree(n.root, { 'cgroup/unified/cgroup.controllers': '\n', 'cgroup/memory/': '', 'cgroup/cpu/': '', 'cgroup/cpuacct/': '', 'cgroup/systemd/': '' });
    const l = detectCgroupLayout({ cgroupRoot: n.cg, procRoot: n.proc, filesystem: 'simulated' });
    expect(l.mode).toBe('hybrid');
    expect(l.unified).toMatchObject({ version: 2, dir: `${n.cg}/unified`, controllers: [] });
    expect(Object.keys(l.controllerDirs).sort()).toEqual(['cpu', 'cpuacct', 'memory']);
  });

  it('memory/ ⇒ v1', () => {
    const n = node();
    writeTree(n.root, { 'cgroup/memory/': '', 'cgroup/cpu,cpuacct/': '' });
    expect(detectCgroupLayout({ cgroupRoot: n.cg, procRoot: n.proc, filesystem: 'simulated' }).mode).toBe('v1');
  });

  it('nothing recognisable ⇒ a clear layout error', () => {
    const n = node();
    writeTree(n.root, { 'cgroup/something/': '' });
    expect(() => detectCgroupLayout({ cgroupRoot: n.cg, procRoot: n.proc, filesystem: 'simulated' })).toThrow(CgroupLayoutError);
    expect(() => detectCgroupLayout({ cgroupRoot: path.join(n.root, 'missing'), procRoot: n.proc, filesystem: 'simulated' })).toThrow(/--cgroup-root/);
  });
});

describe('what the hierarchies are proven to be', () => {
  it('a tree that is not cgroupfs is refused unless it is declared a simulator\'s', () => {
    const n = node();
    writeTree(n.root, { 'cgroup/cgroup.controllers': 'cpu memory\n', 'cgroup/kubepods/besteffort/hadoop-yarn/': '' });
    expect(() => detectCgroupLayout({ cgroupRoot: n.cg, procRoot: n.proc })).toThrow(/not a cgroup2 filesystem .*--simulated-cgroups/);
    expect(() => NodeCgroups.open({ cgroupRoot: n.cg, procRoot: n.proc, yarnCgroupPath: 'kubepods/besteffort/hadoop-yarn' })).toThrow(CgroupLayoutError);
    const l = detectCgroupLayout({ cgroupRoot: n.cg, procRoot: n.proc, filesystem: 'simulated' });
    expect(l.unified?.anchor).toMatchObject({ filesystem: 'simulated', version: 2, real: fs.realpathSync(n.cg) });
    expect(l.unified?.anchor.mountId).toBeGreaterThan(0);
  });

  it('a cgroup mount inside another hierarchy is a bind mount, not a hierarchy', () => {
    const n = node();
    writeTree(n.root, {
      'cgroup/memory/kubepods/besteffort/hadoop-yarn/': '',
      'cgroup/cpu,cpuacct/': '',
      'proc/mounts': mountsText({
        [`${n.cg}/memory`]: 'memory',
        [`${n.cg}/cpu,cpuacct`]: 'cpu,cpuacct',
        [`${n.cg}/memory/kubepods/besteffort/hadoop-yarn`]: 'memory',
      }),
    });
    const l = detectCgroupLayout({ cgroupRoot: n.cg, procRoot: n.proc, filesystem: 'simulated' });
    expect(l.hierarchies.map((h) => h.dir)).toEqual([`${n.cg}/memory`, `${n.cg}/cpu,cpuacct`]);
    expect(l.nestedMounts).toEqual([`${n.cg}/memory/kubepods/besteffort/hadoop-yarn`]);
  });
});
