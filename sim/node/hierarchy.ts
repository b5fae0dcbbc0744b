/**
 * Where things live on a simulated node: which cgroup hierarchies are mounted, how the kubelet
 * names its cgroups under each driver, and how a cgroup path appears in `/proc/mounts` and
 * `/proc/<pid>/cgroup`. Pure: paths in, paths and file text out.
 *
 * v1 layout choice (documented because real systems differ): `cpu` and `cpuacct` are co-mounted
 * at `<root>/cpu,cpuacct` with `cpu` and `cpuacct` symlinks beside it — what systemd sets up on
 * Debian/Ubuntu/RHEL. `memory` and `pids` are their own hierarchies. Other v1 controllers
 * (cpuset, blkio, devices, freezer, name=systemd) are not simulated.
 */
import path from 'node:path';

export type CgroupLayout = 'v1' | 'v2' | 'hybrid';
export type CgroupDriver = 'cgroupfs' | 'systemd';

/** A v1 hierarchy: its directory under the cgroup root and its id in `/proc/<pid>/cgroup`. */
export interface V1Hierarchy {
  readonly dir: 'cpu,cpuacct' | 'memory' | 'pids';
  readonly hierarchyId: number;
  /** Symlinks next to the mount, pointing at `dir` (as systemd creates them). */
  readonly aliases: readonly string[];
}

export const V1_HIERARCHIES: readonly V1Hierarchy[] = [
  { dir: 'pids', hierarchyId: 6, aliases: [] },
  { dir: 'memory', hierarchyId: 4, aliases: [] },
  { dir: 'cpu,cpuacct', hierarchyId: 3, aliases: ['cpu', 'cpuacct'] },
];

/** Where the v2 tree sits under the cgroup root: the root itself (v2) or `unified` (hybrid). */
export function unifiedDir(layout: CgroupLayout): string | undefined {
  if (layout === 'v2') return '';
  if (layout === 'hybrid') return 'unified';
  return undefined;
}

export const hasV1 = (layout: CgroupLayout): boolean => layout !== 'v2';

/** The YARN hierarchy koordinator's yarn-copilot expects, per kubelet cgroup driver. */
export function defaultYarnCgroupPath(driver: CgroupDriver): string {
  return driver === 'systemd' ? 'kubepods.slice/kubepods-besteffort.slice/hadoop-yarn' : 'kubepods/besteffort/hadoop-yarn';
}

/** A relative cgroup path: no leading/trailing slash, no empty, `.` or `..` segments. */
export function normalizeCgroupPath(raw: string): string {
  const trimmed = raw.replace(/^\/+|\/+$/g, '');
  const parts = trimmed.split('/');
  if (trimmed === '' || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new Error(`invalid cgroup path ${JSON.stringify(raw)}`);
  }
  return parts.join('/');
}

/** The kubelet's QoS cgroups under each driver. */
export interface KubeletCgroups {
  readonly kubepods: string;
  readonly burstable: string;
  readonly besteffort: string;
}

export function kubeletCgroups(driver: CgroupDriver): KubeletCgroups {
  return driver === 'systemd'
    ? {
        kubepods: 'kubepods.slice',
        burstable: 'kubepods.slice/kubepods-burstable.slice',
        besteffort: 'kubepods.slice/kubepods-besteffort.slice',
      }
    : { kubepods: 'kubepods', burstable: 'kubepods/burstable', besteffort: 'kubepods/besteffort' };
}

/** Every ancestor of `rel` (excluding the root `''`), outermost first, then `rel` itself. */
export function withAncestors(rel: string): string[] {
  const parts = rel.split('/');
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** The parent of a relative cgroup path (`''` is the root). */
export function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}

/** The directories one relative cgroup occupies: one per v1 hierarchy plus the v2 one. */
export interface CgroupDirs {
  readonly v1: ReadonlyMap<V1Hierarchy['dir'], string>;
  readonly unified?: string;
}

export function cgroupDirs(layout: CgroupLayout, cgroupRoot: string, rel: string): CgroupDirs {
  const v1 = new Map<V1Hierarchy['dir'], string>();
  if (hasV1(layout)) for (const h of V1_HIERARCHIES) v1.set(h.dir, path.join(cgroupRoot, h.dir, rel));
  const u = unifiedDir(layout);
  return u === undefined ? { v1 } : { v1, unified: path.join(cgroupRoot, u, rel) };
}

/** `/proc/mounts` escapes space, tab, newline and backslash in paths as octal. */
export function escapeMountPath(p: string): string {
  return p.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

const V1_OPTS = 'rw,nosuid,nodev,noexec,relatime';

/**
 * `/proc/mounts` of the fake node: the real format (`dev mountpoint fstype opts 0 0`), with the
 * fake roots as mount points so a detector pointed at `--proc-root` finds `--cgroup-root`.
 */
export function mountsFile(layout: CgroupLayout, cgroupRoot: string, procRoot: string): string {
  const m = (dev: string, at: string, type: string, opts: string): string =>
    `${dev} ${escapeMountPath(at)} ${type} ${opts} 0 0\n`;
  let out = m('/dev/vda1', '/', 'ext4', 'rw,relatime');
  out += m('proc', procRoot, 'proc', 'rw,nosuid,nodev,noexec,relatime');
  out += m('sysfs', '/sys', 'sysfs', 'rw,nosuid,nodev,noexec,relatime');
  if (layout === 'v2') {
    out += m('cgroup2', cgroupRoot, 'cgroup2', 'rw,nosuid,nodev,noexec,relatime,nsdelegate,memory_recursiveprot');
    return out;
  }
  out += m('tmpfs', cgroupRoot, 'tmpfs', 'ro,nosuid,nodev,noexec,size=4096k,nr_inodes=1024,mode=755');
  if (layout === 'hybrid') {
    out += m('cgroup2', path.join(cgroupRoot, 'unified'), 'cgroup2', 'rw,nosuid,nodev,noexec,relatime,nsdelegate');
  }
  for (const h of [...V1_HIERARCHIES].sort((a, b) => a.dir.localeCompare(b.dir))) {
    out += m('cgroup', path.join(cgroupRoot, h.dir), 'cgroup', `${V1_OPTS},${h.dir}`);
  }
  return out;
}

/**
 * `/proc/<pid>/cgroup` of a process in cgroup `rel`: `id:controllers:/path` per v1 hierarchy in
 * descending id order, then `0::/path` when a v2 hierarchy is mounted (hybrid, v2).
 */
export function procPidCgroup(layout: CgroupLayout, rel: string): string {
  const p = `/${rel}`;
  let out = '';
  if (hasV1(layout)) {
    for (const h of [...V1_HIERARCHIES].sort((a, b) => b.hierarchyId - a.hierarchyId)) out += `${h.hierarchyId}:${h.dir}:${p}\n`;
  }
  if (unifiedDir(layout) !== undefined) out += `0::${p}\n`;
  return out;
}
