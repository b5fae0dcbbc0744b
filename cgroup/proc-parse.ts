/**
 * Pure parsers for the two proc files the cgroup layer depends on: `/proc/mounts` (which
 * hierarchies exist where) and `/proc/<pid>/cgroup` (which cgroup a process is in).
 */
import { CgroupParseError } from './errors.js';
import { splitLines } from './parse.js';

/** Resource controllers a v1 hierarchy can carry (named hierarchies like `name=systemd` are not). */
export const V1_CONTROLLERS: readonly string[] = [
  'cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids',
  'net_cls', 'net_prio', 'perf_event', 'hugetlb', 'rdma', 'misc',
];
const KNOWN = new Set(V1_CONTROLLERS);

export interface CgroupMount {
  /** Mount point as the kernel prints it, octal escapes decoded. */
  mountPoint: string;
  version: 1 | 2;
  /** v1: the resource controllers in the mount options (`cpu`, `cpuacct` …); v2: empty. */
  controllers: string[];
}

/**
 * The cgroup / cgroup2 mounts of a `/proc/mounts` (or `/proc/<pid>/mounts`) text, in file order.
 * Non-cgroup mounts are ignored; a line without the four leading fields is a parse error.
 */
export function parseCgroupMounts(text: string, file: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const [i, line] of splitLines(text).entries()) {
    if (line.trim() === '') continue;
    const fields = line.split(/\s+/);
    if (fields.length < 4) throw new CgroupParseError(file, `line ${i + 1} has fewer than 4 fields`);
    const [, rawPoint, fstype, options] = fields as [string, string, string, string];
    if (fstype === 'cgroup2') {
      out.push({ mountPoint: unescapeMount(rawPoint), version: 2, controllers: [] });
    } else if (fstype === 'cgroup') {
      const controllers = options.split(',').filter((o) => KNOWN.has(o));
      // A v1 mount with only `name=…` carries no resource controller; it cannot hold stats.
      if (controllers.length > 0) out.push({ mountPoint: unescapeMount(rawPoint), version: 1, controllers });
    }
  }
  return out;
}

/** `/proc/mounts` escapes space, tab, newline and backslash as `\ooo`. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** One line of `/proc/<pid>/cgroup`: `hierarchy-id:controllers:path`. */
export interface ProcCgroupEntry {
  hierarchyId: number;
  /** v1 controllers of the hierarchy (`["cpu","cpuacct"]`, `["name=systemd"]`); empty for v2 (`0::`). */
  controllers: string[];
  /** The cgroup path relative to the hierarchy root, starting with `/`. */
  path: string;
}

export function parseProcPidCgroup(text: string, file: string): ProcCgroupEntry[] {
  const out: ProcCgroupEntry[] = [];
  for (const [i, line] of splitLines(text).entries()) {
    const a = line.indexOf(':');
    const b = a < 0 ? -1 : line.indexOf(':', a + 1);
    if (a < 0 || b < 0) throw new CgroupParseError(file, `line ${i + 1} is not "id:controllers:path"`);
    const idText = line.slice(0, a);
    if (!/^\d+$/.test(idText)) throw new CgroupParseError(file, `line ${i + 1} has hierarchy id ${JSON.stringify(idText)}`);
    const path = line.slice(b + 1);
    if (!path.startsWith('/')) throw new CgroupParseError(file, `line ${i + 1} has a relative path`);
    const list = line.slice(a + 1, b);
    out.push({ hierarchyId: Number(idText), controllers: list === '' ? [] : list.split(','), path });
  }
  return out;
}

/**
 * Whether a process's cgroup entries put it at `/<cgroupPath>` or below, in the hierarchy that
 * carries `controller` (v1) or in the unified hierarchy (`controller` = undefined).
 * Pure: the kill path calls it on a fresh read just before signalling.
 */
export function procIsInCgroup(
  entries: readonly ProcCgroupEntry[],
  cgroupPath: string,
  controller: string | undefined,
): boolean {
  const want = '/' + cgroupPath.replace(/^\/+|\/+$/g, '');
  return entries.some((e) => {
    const sameHierarchy = controller === undefined
      ? e.hierarchyId === 0 && e.controllers.length === 0
      : e.controllers.includes(controller);
    // A path with " (deleted)" or any other suffix does not start with want + '/', so it fails.
    return sameHierarchy && (e.path === want || e.path.startsWith(want + '/'));
  });
}
