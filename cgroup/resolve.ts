/**
 * From a container id to its cgroup directories, and nothing else: the id must match the YARN
 * container id shape, the path is `<hierarchy dir>/<yarn-cgroup-path>/<id>`, and every directory
 * that exists must really be there (proof.ts): opened without following a symlink, the kernel's
 * path of the open directory equal to the hierarchy's real path joined with the relative path
 * (no symlink anywhere below the root), and on the hierarchy's own mount (no bind mount over it
 * or over the YARN parent). Anything else is refused before anything reads from, writes to or
 * kills through it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type CgroupLayout, type Hierarchy, hierarchyFor } from './detect.js';
import { CgroupPathError } from './errors.js';
import { type DirProof, openProvenDir, reproveDir } from './proof.js';
import { containerComponent, type YarnHierarchy } from './yarn-path.js';

/** One existing directory of a cgroup in one hierarchy, with what it was proven to be. */
export interface CgroupDir {
  hierarchy: Hierarchy;
  dir: string;
  /** The cgroup path relative to the hierarchy root (`''` for the root). */
  rel: string;
  proof: DirProof;
}

/** The directories of one cgroup (the YARN parent, or a container) across the node's hierarchies. */
export interface CgroupDirs {
  /** The cgroup path relative to every hierarchy root, e.g. `kubepods/besteffort/hadoop-yarn/container_…`. */
  cgroupPath: string;
  /** Where memory stats live (v1 memory mount or the v2 tree). */
  memory?: CgroupDir;
  /** Where the CPU bandwidth limit lives (v1 `cpu.cfs_*` or v2 `cpu.max`). */
  cpu?: CgroupDir;
  /** Where cumulative CPU usage lives (v1 `cpuacct.usage` or v2 `cpu.stat`). */
  cpuacct?: CgroupDir;
  /** The v2 directory: PSI files and `cgroup.kill`. */
  unified?: CgroupDir;
  /** Every existing directory, one per distinct hierarchy (kill walks all of them). */
  all: readonly CgroupDir[];
}

export interface ContainerCgroup extends CgroupDirs {
  containerId: string;
}

/** Pure: the relative cgroup path of a container, after validating its id. */
export function containerCgroupPath(yarn: YarnHierarchy, containerId: string): string {
  return `${yarn.path}/${containerComponent(containerId)}`;
}

/** The container's directories; refuses invalid ids and symlink escapes (throws CgroupPathError). */
export function resolveContainerCgroup(layout: CgroupLayout, yarn: YarnHierarchy, containerId: string): ContainerCgroup {
  const rel = containerCgroupPath(yarn, containerId);
  return { containerId, ...resolveDirs(layout, rel) };
}

/** The YARN parent's directories (where the CPU limit for all YARN containers is set). */
export function resolveYarnParent(layout: CgroupLayout, yarn: YarnHierarchy): CgroupDirs {
  return resolveDirs(layout, yarn.path);
}

/** The root cgroup of every hierarchy (node-level cgroup stats). */
export function resolveRootCgroup(layout: CgroupLayout): CgroupDirs {
  const all = layout.hierarchies.map((hierarchy) => ({
    hierarchy, dir: hierarchy.dir, rel: '', proof: { mountId: hierarchy.anchor.mountId, real: hierarchy.anchor.real },
  }));
  return pickRoles(layout, '', all);
}

/**
 * The hierarchies a cgroup's directories are looked up in: those serving memory, cpu and cpuacct,
 * and the v2 tree — what the agent reads, limits and kills through. (Other v1 controllers —
 * freezer, devices … — hold the same processes and are never used.)
 */
export function roleHierarchies(layout: CgroupLayout): Hierarchy[] {
  const out: Hierarchy[] = [];
  for (const h of [hierarchyFor(layout, 'memory'), hierarchyFor(layout, 'cpu'), hierarchyFor(layout, 'cpuacct') ?? layout.unified, layout.unified]) {
    if (h && !out.includes(h)) out.push(h);
  }
  return out;
}

function resolveDirs(layout: CgroupLayout, rel: string): CgroupDirs {
  assertRelativeClean(rel);
  const all: CgroupDir[] = [];
  const seenReal = new Set<string>();
  for (const hierarchy of roleHierarchies(layout)) {
    const found = existingDir(hierarchy, rel);
    if (!found || seenReal.has(found.proof.real)) continue; // one hierarchy reached by two names (`cpu` → `cpu,cpuacct`)
    seenReal.add(found.proof.real);
    all.push({ hierarchy, dir: found.dir, rel, proof: found.proof });
  }
  return pickRoles(layout, rel, all);
}

/**
 * Prove every directory of a cgroup again (before a write or a kill). Throws CgroupPathError when
 * one is no longer what it was; returns the directories still there (a vanished one is gone).
 */
export function reproveDirs(dirs: readonly CgroupDir[]): CgroupDir[] {
  const out: CgroupDir[] = [];
  for (const d of dirs) {
    const proof = reproveDir(d.hierarchy.anchor, d.dir, d.rel);
    if (proof) out.push({ ...d, proof });
  }
  return out;
}

function pickRoles(layout: CgroupLayout, rel: string, all: CgroupDir[]): CgroupDirs {
  const inHierarchy = (h: Hierarchy | undefined): CgroupDir | undefined =>
    h ? all.find((d) => d.hierarchy === h) : undefined;
  const out: CgroupDirs = { cgroupPath: rel, all };
  const memory = inHierarchy(hierarchyFor(layout, 'memory'));
  const cpu = inHierarchy(hierarchyFor(layout, 'cpu'));
  // v2 `cpu.stat` (usage_usec) is a core file, present without the cpu controller.
  const cpuacct = inHierarchy(hierarchyFor(layout, 'cpuacct') ?? layout.unified);
  const unified = inHierarchy(layout.unified);
  if (memory) out.memory = memory;
  if (cpu) out.cpu = cpu;
  if (cpuacct) out.cpuacct = cpuacct;
  if (unified) out.unified = unified;
  return out;
}

/**
 * The directory of `rel` in one hierarchy if it exists, proven (the hierarchy root itself may be
 * a symlink, e.g. `cpu` → `cpu,cpuacct`; nothing below it may be, and nothing may be mounted over it).
 */
function existingDir(hierarchy: Hierarchy, rel: string): { dir: string; proof: DirProof } | undefined {
  const dir = path.join(hierarchy.dir, rel);
  const opened = openProvenDir(hierarchy.anchor, dir, rel);
  if (!opened) return undefined;
  fs.closeSync(opened.fd);
  return { dir, proof: opened.proof };
}

/** Defence in depth: whatever built `rel`, it must stay relative and free of `.`/`..`. */
function assertRelativeClean(rel: string): void {
  if (rel === '') return;
  if (path.isAbsolute(rel) || rel.split('/').some((c) => c === '' || c === '.' || c === '..')) {
    throw new CgroupPathError('invalid-component', rel, 'absolute path or "."/".."/empty component');
  }
}
