/**
 * Which files one cgroup directory holds, per hierarchy and layout, and their contents — the
 * file set the kernel creates on `mkdir`. Pure: a view of the cgroup's numbers in, file sets out.
 *
 * "Control" files are the ones a manager writes (limits, weights, `cgroup.kill`): the simulator
 * writes them once when the cgroup is created and afterwards only reads them back, so what the
 * agent writes stays there.
 */
import path from 'node:path';
import { cgroupDirs, unifiedDir, type CgroupLayout } from './hierarchy.js';
import {
  cgroupEvents,
  cpuacctUsage,
  cpuMax,
  CFS_PERIOD_US,
  pidList,
  psiFile,
  sharesToWeight,
  v1Bytes,
  v1CpuStat,
  v1MemoryStat,
  v2CpuStat,
  v2Max,
  v2MemoryStat,
  type CpuThrottle,
  type MemoryCharge,
  type PageEvents,
  type Psi,
} from './kernel-files.js';

export type PressureResource = 'cpu' | 'memory' | 'io';

/** Everything the files of one cgroup are made from. */
export interface CgroupView {
  rel: string;
  isRoot: boolean;
  /** a container cgroup: no children, so no controllers delegated further */
  isLeaf: boolean;
  own: MemoryCharge;
  total: MemoryCharge;
  ownEvents: PageEvents;
  totalEvents: PageEvents;
  memoryLimitBytes: number | null;
  usageNs: number;
  throttle: CpuThrottle;
  shares: number;
  /** pids directly in this cgroup */
  pids: readonly number[];
  /** pids in this cgroup and below */
  subtreePids: number;
  psi: Readonly<Record<PressureResource, Psi>>;
}

export interface FileSet {
  dir: string;
  files: Record<string, string>;
  control: ReadonlySet<string>;
}

/** Controllers a v2 root offers, and those the kubelet/NM enable for children. */
const V2_ROOT_CONTROLLERS = 'cpuset cpu io memory hugetlb pids rdma misc\n';
const V2_DELEGATED = 'cpuset cpu io memory pids\n';

const V1_MEMORY_CONTROL = new Set(['memory.limit_in_bytes']);
const V1_CPU_CONTROL = new Set(['cpu.cfs_quota_us', 'cpu.cfs_period_us', 'cpu.shares']);
const V1_PIDS_CONTROL = new Set(['pids.max']);
const V2_CONTROL = new Set(['cgroup.subtree_control', 'cgroup.kill', 'memory.max', 'memory.high', 'cpu.max', 'cpu.weight', 'pids.max']);
const HYBRID_UNIFIED_CONTROL = new Set(['cgroup.subtree_control', 'cgroup.kill']);

const psiFiles = (v: CgroupView): Record<string, string> => ({
  'cpu.pressure': psiFile(v.psi.cpu),
  'memory.pressure': psiFile(v.psi.memory),
  'io.pressure': psiFile(v.psi.io),
});

const charged = (m: MemoryCharge): number => m.anon + m.file;

function v1Sets(layout: CgroupLayout, root: string, v: CgroupView): FileSet[] {
  const dirs = cgroupDirs(layout, root, v.rel).v1;
  const procs = pidList(v.pids);
  const common = { 'cgroup.procs': procs, tasks: procs, notify_on_release: '0\n' };
  const sets: FileSet[] = [];
  const mem = dirs.get('memory');
  if (mem) {
    sets.push({
      dir: mem,
      control: V1_MEMORY_CONTROL,
      files: {
        ...common,
        'memory.usage_in_bytes': v1Bytes(charged(v.total)),
        'memory.limit_in_bytes': v1Bytes(v.memoryLimitBytes),
        'memory.stat': v1MemoryStat(v.own, v.ownEvents, v.total, v.totalEvents, v.memoryLimitBytes),
      },
    });
  }
  const cpu = dirs.get('cpu,cpuacct');
  if (cpu) {
    sets.push({
      dir: cpu,
      control: V1_CPU_CONTROL,
      files: {
        ...common,
        'cpuacct.usage': cpuacctUsage(v.usageNs),
        'cpu.stat': v1CpuStat(v.throttle),
        'cpu.cfs_quota_us': '-1\n',
        'cpu.cfs_period_us': `${CFS_PERIOD_US}\n`,
        'cpu.shares': `${v.shares}\n`,
      },
    });
  }
  const pids = dirs.get('pids');
  if (pids) {
    const files: Record<string, string> = { ...common, 'pids.current': `${v.subtreePids}\n` };
    if (!v.isRoot) files['pids.max'] = 'max\n';
    sets.push({ dir: pids, control: V1_PIDS_CONTROL, files });
  }
  return sets;
}

/** The full v2 tree (layout v2): controllers enabled all the way down. */
function v2Set(dir: string, v: CgroupView): FileSet {
  const files: Record<string, string> = {
    'cgroup.controllers': v.isRoot ? V2_ROOT_CONTROLLERS : V2_DELEGATED,
    'cgroup.subtree_control': v.isLeaf ? '\n' : V2_DELEGATED,
    'cgroup.procs': pidList(v.pids),
    'cpu.stat': v2CpuStat(v.usageNs, v.isRoot ? undefined : v.throttle),
    'memory.stat': v2MemoryStat(v.total, v.totalEvents),
    ...psiFiles(v),
  };
  if (!v.isRoot) {
    Object.assign(files, {
      'cgroup.events': cgroupEvents(v.subtreePids > 0),
      'cgroup.kill': '',
      'memory.current': `${charged(v.total)}\n`,
      'memory.max': v2Max(v.memoryLimitBytes),
      'memory.high': 'max\n',
      'cpu.max': cpuMax(null),
      'cpu.weight': `${sharesToWeight(v.shares)}\n`,
      'pids.current': `${v.subtreePids}\n`,
      'pids.max': 'max\n',
    });
  }
  return { dir, files, control: V2_CONTROL };
}

/** The unified tree of a hybrid host: no controllers bound, only the core files and PSI. */
function hybridUnifiedSet(dir: string, v: CgroupView): FileSet {
  const files: Record<string, string> = {
    'cgroup.controllers': '\n',
    'cgroup.subtree_control': '\n',
    'cgroup.procs': pidList(v.pids),
    'cpu.stat': v2CpuStat(v.usageNs),
    ...psiFiles(v),
  };
  if (!v.isRoot) {
    files['cgroup.events'] = cgroupEvents(v.subtreePids > 0);
    files['cgroup.kill'] = '';
  }
  return { dir, files, control: HYBRID_UNIFIED_CONTROL };
}

/** Every directory (one per hierarchy) and file of one cgroup. */
export function cgroupFileSets(layout: CgroupLayout, cgroupRoot: string, v: CgroupView): FileSet[] {
  const sets = layout === 'v2' ? [] : v1Sets(layout, cgroupRoot, v);
  const u = unifiedDir(layout);
  if (u !== undefined) {
    const dir = path.join(cgroupRoot, u, v.rel);
    sets.push(layout === 'v2' ? v2Set(dir, v) : hybridUnifiedSet(dir, v));
  }
  return sets;
}

/** Parses a CFS quota as milli-cores: v1 `cpu.cfs_quota_us` + `cpu.cfs_period_us`, or v2 `cpu.max`. */
export function parseCpuQuota(v1Quota: string | undefined, v1Period: string | undefined, v2CpuMax: string | undefined): number | undefined {
  if (v2CpuMax !== undefined) {
    const m = /^\s*(max|\d+)(?:\s+(\d+))?\s*$/.exec(v2CpuMax);
    if (!m || m[1] === 'max') return undefined;
    const period = m[2] ? Number(m[2]) : CFS_PERIOD_US;
    return period > 0 ? (Number(m[1]) * 1000) / period : undefined;
  }
  if (v1Quota === undefined) return undefined;
  const q = Number(v1Quota.trim());
  const p = v1Period === undefined ? CFS_PERIOD_US : Number(v1Period.trim());
  if (!Number.isFinite(q) || q < 0 || !Number.isFinite(p) || p <= 0) return undefined;
  return (q * 1000) / p;
}
