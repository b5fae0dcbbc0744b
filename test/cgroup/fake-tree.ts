/**
 * Test helper: build fake node trees (`<tmp>/cgroup/…`, `<tmp>/proc/…`) for the cgroup unit
 * tests. Plain files standing in for kernel files; symlinks where a test needs one.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const CID_A = 'container_1700000000000_0001_01_000002';
export const CID_B = 'container_e17_1700000000000_0001_01_000003';

export function tempRoot(prefix = 'loom-cg-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeTree(root: string): void {
  fs.rmSync(root, { recursive: true, force: true });
}

/** Write files under root: key = relative path, value = content; a key ending in `/` makes a dir. */
export function writeTree(root: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(root, rel);
    if (rel.endsWith('/')) {
      fs.mkdirSync(p, { recursive: true });
    } else {
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, content);
    }
  }
}

export function readTree(root: string, rel: string): string {
  return fs.readFileSync(path.join(root, rel), 'utf8');
}

/** A `/proc/mounts` text for v1 controller mounts (each entry `dir name → options`) and an optional cgroup2 mount. */
export function mountsText(v1: Record<string, string>, cgroup2?: string): string {
  const lines = ['sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0', 'tmpfs /sys/fs/cgroup tmpfs ro,nosuid,nodev,noexec,mode=755 0 0'];
  for (const [dir, opts] of Object.entries(v1)) lines.push(`cgroup ${dir} cgroup rw,nosuid,nodev,noexec,relatime,${opts} 0 0`);
  if (cgroup2) lines.push(`cgroup2 ${cgroup2} cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0`);
  return lines.join('\n') + '\n';
}

/** Real-format v1 `memory.stat` (captured from kernel 6.18) with chosen hierarchical inactive file. */
export function v1MemoryStat(totalInactiveFile: number, inactiveFile = totalInactiveFile): string {
  return [
    'cache 0', 'rss 0', 'rss_huge 0', 'shmem 0', 'mapped_file 0', 'dirty 0', 'writeback 0',
    'workingset_refault_anon 0', 'workingset_refault_file 0', 'swap 0', 'swapcached 0', 'pgpgin 0',
    'pgpgout 0', 'pgfault 0', 'pgmajfault 0', 'inactive_anon 0', 'active_anon 0',
    `inactive_file ${inactiveFile}`, 'active_file 0', 'unevictable 0',
    'hierarchical_memory_limit 9223372036854771712', 'hierarchical_memsw_limit 9223372036854771712',
    'total_cache 0', 'total_rss 0', 'total_rss_huge 0', 'total_shmem 0', 'total_mapped_file 0',
    'total_dirty 0', 'total_writeback 0', 'total_swap 0', 'total_pgpgin 0', 'total_pgpgout 0',
    'total_pgfault 0', 'total_pgmajfault 0', 'total_inactive_anon 0', 'total_active_anon 0',
    `total_inactive_file ${totalInactiveFile}`, 'total_active_file 0', 'total_unevictable 0',
  ].join('\n') + '\n';
}

/** Real-format v2 `memory.stat` (kernel 6.x field order, abridged). */
export function v2MemoryStat(inactiveFile: number): string {
  return [
    'anon 52428800', 'file 8192000', 'kernel 1490944', 'kernel_stack 49152', 'pagetables 176128',
    'sec_pagetables 0', 'percpu 0', 'sock 0', 'vmalloc 0', 'shmem 0', 'zswap 0', 'zswapped 0',
    'file_mapped 0', 'file_dirty 0', 'file_writeback 0', 'swapcached 0', 'anon_thp 0', 'file_thp 0',
    'shmem_thp 0', 'inactive_anon 52428800', 'active_anon 0', `inactive_file ${inactiveFile}`,
    'active_file 0', 'unevictable 0', 'slab_reclaimable 0', 'slab_unreclaimable 0', 'slab 0',
    'workingset_refault_anon 0', 'workingset_refault_file 0', 'pgscan 0', 'pgsteal 0', 'pgfault 13000',
    'pgmajfault 0', 'thp_fault_alloc 0', 'thp_collapse_alloc 0',
  ].join('\n') + '\n';
}

export const PSI_TEXT = 'some avg10=25.58 avg60=17.37 avg300=6.22 total=29405389\nfull avg10=1.00 avg60=0.50 avg300=0.10 total=1200\n';
export const V2_CPU_STAT = 'usage_usec 120626142\nuser_usec 89113124\nsystem_usec 31513017\nnice_usec 0\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\nnr_bursts 0\nburst_usec 0\n';

export interface FakeContainer {
  usage: number;
  inactiveFile: number;
  cpuUsec: number;
  pids?: number[];
}

export interface FakeNode {
  root: string;
  cgroupRoot: string;
  procRoot: string;
}

/**
 * A fake node with the given layout: v1 (`memory`, `cpu,cpuacct` + symlinks), v2 (root is the
 * unified tree) or hybrid (separate `cpu`, `cpuacct`, `memory` plus `unified`, like this
 * project's machines). The YARN parent and each container get realistic files.
 */
export function buildFakeNode(mode: 'v1' | 'v2' | 'hybrid', yarnPath: string, containers: Record<string, FakeContainer>): FakeNode {
  const root = tempRoot();
  const cg = path.join(root, 'cgroup');
  const proc = path.join(root, 'proc');
  const files: Record<string, string> = {};
  const cpuDir = mode === 'v1' ? 'cpu,cpuacct' : 'cpu';
  const acctDir = mode === 'v1' ? 'cpu,cpuacct' : 'cpuacct';
  const unified = mode === 'v2' ? '' : mode === 'hybrid' ? 'unified' : undefined;
  const v1 = mode !== 'v2';

  const cgroupFiles = (rel: string, c: FakeContainer | undefined): void => {
    const procs = (c?.pids ?? []).map((p) => `${p}\n`).join('');
    if (v1) {
      files[`cgroup/memory/${rel}/memory.usage_in_bytes`] = `${c?.usage ?? 0}\n`;
      files[`cgroup/memory/${rel}/memory.stat`] = v1MemoryStat(c?.inactiveFile ?? 0);
      files[`cgroup/memory/${rel}/cgroup.procs`] = procs;
      files[`cgroup/${cpuDir}/${rel}/cpu.cfs_quota_us`] = '-1\n';
      files[`cgroup/${cpuDir}/${rel}/cpu.cfs_period_us`] = '100000\n';
      files[`cgroup/${cpuDir}/${rel}/cgroup.procs`] = procs;
      files[`cgroup/${acctDir}/${rel}/cpuacct.usage`] = `${(c?.cpuUsec ?? 0) * 1000}\n`;
      files[`cgroup/${acctDir}/${rel}/cgroup.procs`] = procs;
    }
    if (unified !== undefined) {
      const u = unified === '' ? `cgroup/${rel}` : `cgroup/${unified}/${rel}`;
      files[`${u}/cgroup.procs`] = procs;
      files[`${u}/cpu.stat`] = `usage_usec ${c?.cpuUsec ?? 0}\nuser_usec 0\nsystem_usec 0\n`;
      files[`${u}/memory.pressure`] = PSI_TEXT;
      files[`${u}/cpu.pressure`] = 'some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n';
      files[`${u}/io.pressure`] = 'some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n';
      files[`${u}/cgroup.kill`] = '';
      if (mode === 'v2') {
        files[`${u}/memory.current`] = `${c?.usage ?? 0}\n`;
        files[`${u}/memory.stat`] = v2MemoryStat(c?.inactiveFile ?? 0);
        files[`${u}/cpu.max`] = 'max 100000\n';
      }
    }
  };

  cgroupFiles(yarnPath, undefined);
  for (const [id, c] of Object.entries(containers)) cgroupFiles(`${yarnPath}/${id}`, c);
  if (mode === 'v2') files['cgroup/cgroup.controllers'] = 'cpuset cpu io memory pids\n';
  if (mode === 'hybrid') files['cgroup/unified/cgroup.controllers'] = 'hugetlb\n';
  const v1Mounts: Record<string, string> = {};
  if (v1) {
    v1Mounts[`${cg}/memory`] = 'memory';
    v1Mounts[`${cg}/${cpuDir}`] = mode === 'v1' ? 'cpu,cpuacct' : 'cpu';
    if (mode === 'hybrid') v1Mounts[`${cg}/cpuacct`] = 'cpuacct';
  }
  files['proc/mounts'] = mountsText(v1Mounts, unified === undefined ? undefined : unified === '' ? cg : `${cg}/${unified}`);
  writeTree(root, files);
  if (mode === 'v1') {
    fs.symlinkSync('cpu,cpuacct', path.join(cg, 'cpu'));
    fs.symlinkSync('cpu,cpuacct', path.join(cg, 'cpuacct'));
  }
  return { root, cgroupRoot: cg, procRoot: proc };
}
