/**
 * Which cgroup hierarchies a node has and where: pure v1, pure v2, or hybrid (v1 controllers plus
 * a v2 tree, usually at `<root>/unified`). Works the same on a real node and on a fake node tree
 * (`sim/` writes one under a temp dir), because every path is taken relative to the configured
 * cgroup root.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CgroupIoError, CgroupLayoutError, CgroupParseError } from './errors.js';
import { readKernelFile } from './io.js';
import { type CgroupMount, parseCgroupMounts, V1_CONTROLLERS } from './proc-parse.js';
import { type Anchor, anchorHierarchy, assertSelfProcfs, type CgroupFilesystem } from './proof.js';

export type CgroupMode = 'v1' | 'v2' | 'hybrid';

/** One mounted hierarchy under the cgroup root. */
export interface Hierarchy {
  version: 1 | 2;
  /** Absolute directory of the hierarchy's root under the configured cgroup root. */
  dir: string;
  /** v1: the controllers bound to this mount; v2: those listed in its `cgroup.controllers`. */
  controllers: readonly string[];
  /** What the root was proven to be at detection (mount id, real path, filesystem). */
  anchor: Anchor;
}

export interface CgroupLayout {
  mode: CgroupMode;
  /** The configured cgroup root, resolved to an absolute path. */
  root: string;
  procRoot: string;
  /** How the layout was found: from `<proc-root>/mounts`, or by probing the directory layout. */
  source: 'mounts' | 'probe';
  /** Every distinct hierarchy: v1 mounts in mount order, then the v2 tree if any. */
  hierarchies: readonly Hierarchy[];
  /** controller → directory of the hierarchy that serves it (v1 mount first, else the v2 tree). */
  controllerDirs: Readonly<Record<string, string>>;
  /** The v2 tree (v2: the root itself; hybrid: usually `<root>/unified`). */
  unified?: Hierarchy;
  filesystem: CgroupFilesystem;
  /**
   * cgroup mounts found *inside* another hierarchy: bind mounts of some cgroup over a directory
   * of the tree, never hierarchies. Ignored here; any directory below one fails its proof.
   */
  nestedMounts: readonly string[];
}

export interface DetectOptions {
  cgroupRoot: string;
  procRoot: string;
  /** Default `kernel`: every hierarchy must be cgroupfs. `simulated` for a simulator's tree. */
  filesystem?: CgroupFilesystem;
}

/** Largest `<proc-root>/mounts` read (a node with thousands of pod mounts stays far below). */
const MAX_MOUNTS_BYTES = 8 * 2 ** 20;

/**
 * Detect the layout from `<procRoot>/mounts`, keeping only cgroup mounts at or below the
 * configured root; when that file is absent or names nothing under the root (an agent in a
 * container reading the host's mounts, a fake tree without one), probe the directories instead.
 */
export function detectCgroupLayout(opts: DetectOptions): CgroupLayout {
  const root = path.resolve(opts.cgroupRoot);
  const procRoot = path.resolve(opts.procRoot);
  const filesystem = opts.filesystem ?? 'kernel';
  assertSelfProcfs();
  const mountsFile = path.join(procRoot, 'mounts');
  let text: string | undefined;
  try {
    text = readKernelFile(mountsFile, { maxBytes: MAX_MOUNTS_BYTES, followSymlink: true });
  } catch (err) {
    if (!(err instanceof CgroupIoError && err.code === 'ENOENT')) throw new CgroupLayoutError(root, `cannot read ${mountsFile}: ${(err as Error).message}`);
  }
  if (text !== undefined) {
    const mounts = rerootMounts(parseCgroupMounts(text, mountsFile), root);
    if (mounts.length > 0) return layoutFromMounts(mounts, root, procRoot, filesystem);
  }
  return probeLayout(root, procRoot, filesystem);
}

/** Pure: mounts that lie strictly inside another cgroup mount (bind mounts over part of a tree). */
export function nestedCgroupMounts(mounts: readonly CgroupMount[]): Set<string> {
  const points = [...new Set(mounts.map((m) => m.mountPoint))];
  const nested = new Set<string>();
  for (const p of points) {
    if (points.some((q) => q !== p && (q === '/' || p.startsWith(q.endsWith('/') ? q : `${q}/`)))) nested.add(p);
  }
  return nested;
}

/**
 * Keep the mounts at or below the root, re-rooted onto the configured spelling of the root (the
 * mounts file may name its real path when the configured root is a symlink).
 */
function rerootMounts(mounts: readonly CgroupMount[], root: string): CgroupMount[] {
  const bases = new Set([root]);
  try {
    bases.add(fs.realpathSync(root));
  } catch {
    // root missing: the probe below reports it
  }
  const out: CgroupMount[] = [];
  for (const m of mounts) {
    for (const base of bases) {
      const rel = path.relative(base, path.resolve(m.mountPoint));
      if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) {
        out.push({ ...m, mountPoint: path.join(root, rel) });
        break;
      }
    }
  }
  return out;
}

/** From the mounts (plus reading `cgroup.controllers` of the v2 tree and anchoring each root). */
function layoutFromMounts(all: readonly CgroupMount[], root: string, procRoot: string, filesystem: CgroupFilesystem): CgroupLayout {
  const nested = nestedCgroupMounts(all);
  const mounts = all.filter((m) => !nested.has(m.mountPoint));
  const v1: Hierarchy[] = [];
  const seen = new Set<string>();
  for (const m of mounts) {
    if (m.version !== 1 || seen.has(m.mountPoint)) continue;
    seen.add(m.mountPoint);
    v1.push({ version: 1, dir: m.mountPoint, controllers: m.controllers, anchor: anchorHierarchy(m.mountPoint, 1, filesystem) });
  }
  const v2Mounts = mounts.filter((m) => m.version === 2);
  const v2 = v2Mounts.find((m) => m.mountPoint === root) ?? v2Mounts[0];
  const unified = v2 ? unifiedHierarchy(v2.mountPoint, filesystem) : undefined;
  return assemble(v1, unified, root, procRoot, 'mounts', filesystem, [...nested]);
}

/** The fallback: `cgroup.controllers` at root ⇒ v2; `unified/cgroup.controllers` ⇒ hybrid; `memory/` ⇒ v1. */
function probeLayout(root: string, procRoot: string, filesystem: CgroupFilesystem): CgroupLayout {
  if (isFile(path.join(root, 'cgroup.controllers'))) {
    return assemble([], unifiedHierarchy(root, filesystem), root, procRoot, 'probe', filesystem, []);
  }
  if (isFile(path.join(root, 'unified', 'cgroup.controllers'))) {
    return assemble(probeV1(root, filesystem), unifiedHierarchy(path.join(root, 'unified'), filesystem), root, procRoot, 'probe', filesystem, []);
  }
  if (isDir(path.join(root, 'memory'))) {
    return assemble(probeV1(root, filesystem), undefined, root, procRoot, 'probe', filesystem, []);
  }
  throw new CgroupLayoutError(root, 'no cgroup.controllers, unified/cgroup.controllers or memory/ found (is --cgroup-root right?)');
}

/**
 * v1 hierarchies from directory names (`memory`, `cpu,cpuacct`, …). Real directories win over
 * symlinks (`cpu` → `cpu,cpuacct`), so a combined mount is one hierarchy, not two.
 */
function probeV1(root: string, filesystem: CgroupFilesystem): Hierarchy[] {
  const known = new Set(V1_CONTROLLERS);
  const entries = fs.readdirSync(root, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
  const real: Hierarchy[] = [];
  const aliases: Hierarchy[] = [];
  for (const e of entries) {
    const controllers = e.name.split(',');
    if (!controllers.every((c) => known.has(c))) continue;
    const dir = path.join(root, e.name);
    if (e.isDirectory()) real.push({ version: 1, dir, controllers, anchor: anchorHierarchy(dir, 1, filesystem) });
    else if (e.isSymbolicLink() && isDir(dir)) aliases.push({ version: 1, dir, controllers, anchor: anchorHierarchy(dir, 1, filesystem) });
  }
  const covered = new Set(real.flatMap((h) => h.controllers));
  return [...real, ...aliases.filter((h) => h.controllers.some((c) => !covered.has(c)))];
}

function unifiedHierarchy(dir: string, filesystem: CgroupFilesystem): Hierarchy {
  const anchor = anchorHierarchy(dir, 2, filesystem);
  const file = path.join(dir, 'cgroup.controllers');
  let controllers: string[] = [];
  try {
    const text = readKernelFile(file).trim();
    controllers = text === '' ? [] : text.split(/\s+/);
  } catch (err) {
    if (!(err instanceof CgroupIoError && err.code === 'ENOENT')) throw new CgroupParseError(file, `unreadable: ${(err as Error).message}`);
  }
  return { version: 2, dir, controllers, anchor };
}

function assemble(
  v1: readonly Hierarchy[],
  unified: Hierarchy | undefined,
  root: string,
  procRoot: string,
  source: 'mounts' | 'probe',
  filesystem: CgroupFilesystem,
  nestedMounts: readonly string[],
): CgroupLayout {
  if (v1.length === 0 && !unified) throw new CgroupLayoutError(root, 'no cgroup hierarchy mounted under the root');
  const controllerDirs: Record<string, string> = {};
  for (const h of v1) for (const c of h.controllers) controllerDirs[c] ??= h.dir;
  if (unified) for (const c of unified.controllers) controllerDirs[c] ??= unified.dir;
  const mode: CgroupMode = v1.length === 0 ? 'v2' : unified ? 'hybrid' : 'v1';
  const hierarchies = unified ? [...v1, unified] : [...v1];
  const layout: CgroupLayout = { mode, root, procRoot, source, hierarchies, controllerDirs, filesystem, nestedMounts };
  if (unified) layout.unified = unified;
  return layout;
}

/**
 * The hierarchy that serves a controller for reading and limiting. v1 mounts win; on pure v2 the
 * unified tree serves everything (the controller may still need enabling in `subtree_control`);
 * on hybrid the unified tree only serves what its `cgroup.controllers` lists.
 */
export function hierarchyFor(layout: CgroupLayout, controller: string): Hierarchy | undefined {
  const v1 = layout.hierarchies.find((h) => h.version === 1 && h.controllers.includes(controller));
  if (v1) return v1;
  if (layout.unified && (layout.mode === 'v2' || layout.unified.controllers.includes(controller))) return layout.unified;
  return undefined;
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
