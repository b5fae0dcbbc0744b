/**
 * From a container id to its cgroup directories, and nothing else: the id must match the YARN
 * container id shape, the path is `<hierarchy dir>/<yarn-cgroup-path>/<id>`, and every directory
 * that exists must really be there — its realpath equal to the one built from the hierarchy's
 * realpath — so a symlinked container dir or a symlinked parent pointing elsewhere is refused
 * before anything reads from, writes to or kills through it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type CgroupLayout, type Hierarchy, hierarchyFor } from './detect.js';
import { CgroupPathError, errnoCode } from './errors.js';
import { containerComponent, type YarnHierarchy } from './yarn-path.js';

/** One existing directory of a cgroup in one hierarchy. */
export interface CgroupDir {
  hierarchy: Hierarchy;
  dir: string;
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
  const all = layout.hierarchies.map((hierarchy) => ({ hierarchy, dir: hierarchy.dir }));
  return pickRoles(layout, '', all);
}

function resolveDirs(layout: CgroupLayout, rel: string): CgroupDirs {
  assertRelativeClean(rel);
  const all: CgroupDir[] = [];
  const seenReal = new Set<string>();
  for (const hierarchy of layout.hierarchies) {
    const found = existingDir(hierarchy, rel);
    if (!found || seenReal.has(found.real)) continue; // a bind mount seen twice is one hierarchy
    seenReal.add(found.real);
    all.push({ hierarchy, dir: found.dir });
  }
  return pickRoles(layout, rel, all);
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
 * The directory of `rel` in one hierarchy if it exists, after proving its realpath is the
 * hierarchy's realpath joined with `rel` (the hierarchy root itself may be a symlink, e.g.
 * `cpu` → `cpu,cpuacct`; nothing below it may be).
 */
function existingDir(hierarchy: Hierarchy, rel: string): { dir: string; real: string } | undefined {
  const dir = path.join(hierarchy.dir, rel);
  try {
    fs.lstatSync(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
    throw err;
  }
  let real: string;
  let expected: string;
  try {
    real = fs.realpathSync(dir);
    expected = path.join(fs.realpathSync(hierarchy.dir), rel);
  } catch (err) {
    // A dangling symlink (realpath fails although lstat succeeded) is as suspicious as an escape.
    throw new CgroupPathError('escapes-yarn-parent', dir, `cannot resolve (${errnoCode(err)}); dangling symlink?`);
  }
  if (real !== expected) {
    throw new CgroupPathError('escapes-yarn-parent', dir, `resolves to ${real}, outside ${expected} (symlink in the YARN hierarchy)`);
  }
  if (!fs.statSync(real).isDirectory()) throw new CgroupPathError('not-a-directory', dir, 'not a directory');
  return { dir, real };
}

/** Defence in depth: whatever built `rel`, it must stay relative and free of `.`/`..`. */
function assertRelativeClean(rel: string): void {
  if (rel === '') return;
  if (path.isAbsolute(rel) || rel.split('/').some((c) => c === '' || c === '.' || c === '..')) {
    throw new CgroupPathError('invalid-component', rel, 'absolute path or "."/".."/empty component');
  }
}
