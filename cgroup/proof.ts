/**
 * Proofs that a path is what it claims to be, made on an open file descriptor so that what is
 * proven is what is then used:
 *
 * - a **hierarchy anchor**: each hierarchy root is opened once; its mount id (`mnt_id` of
 *   `/proc/self/fdinfo/<fd>`) and its real path are kept; with `filesystem: 'kernel'` its
 *   filesystem must be cgroupfs (statfs magic 0x27e0eb for v1, 0x63677270 for v2).
 * - a **directory** below it (`<yarn-path>`, `<yarn-path>/<id>`): opened `O_DIRECTORY|O_NOFOLLOW`;
 *   the kernel's path of the open descriptor (`readlink /proc/self/fd/<fd>`) must equal the
 *   anchor's real path joined with the relative path (no symlink anywhere below the root), and
 *   its mount id must equal the anchor's (no bind mount over it or over any directory above it).
 * - a **control file** written: opened fd-relative through the proven directory
 *   (`/proc/self/fd/<dirfd>/<name>`, `O_NOFOLLOW|O_NONBLOCK`), it must be a regular file on the
 *   anchor's mount and, with `filesystem: 'kernel'`, on cgroupfs.
 *
 * `/proc/self` is always the agent's own procfs (not `--proc-root`): the descriptors are ours.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CgroupIoError, CgroupLayoutError, CgroupPathError, errnoCode } from './errors.js';

/** `kernel`: every hierarchy, directory and file written must be on cgroupfs. `simulated`: a simulator's file tree (every other proof still applies). */
export type CgroupFilesystem = 'kernel' | 'simulated';

export const CGROUP_SUPER_MAGIC = 0x27e0eb;
export const CGROUP2_SUPER_MAGIC = 0x63677270;

const SELF_FD = '/proc/self/fd';
const SELF_FDINFO = '/proc/self/fdinfo';
const { O_RDONLY, O_WRONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;

/** What a hierarchy root was proven to be when the agent started. */
export interface Anchor {
  /** The hierarchy root with symlinks resolved (`…/cpu` → `…/cpu,cpuacct`). */
  real: string;
  /** Mount id of the hierarchy root: every directory used below it must be on this mount. */
  mountId: number;
  filesystem: CgroupFilesystem;
  version: 1 | 2;
}

/** A directory proven to be `<anchor>/<rel>`, as of `provenAt` (the proof is re-made before every write or kill). */
export interface DirProof {
  mountId: number;
  real: string;
}

/** The agent can prove through its own descriptors (procfs mounted at /proc). */
export function assertSelfProcfs(): void {
  if (!fs.existsSync(SELF_FDINFO)) {
    throw new CgroupLayoutError('/proc', 'the agent proves cgroup directories through /proc/self/fd and /proc/self/fdinfo: mount procfs at /proc');
  }
}

/** Pure: the `mnt_id` of an fdinfo text. */
export function mountIdOfFdinfo(text: string): number | undefined {
  const m = /^mnt_id:\s*(\d+)$/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

function mountIdOf(fd: number, what: string): number {
  let text: string;
  try {
    text = fs.readFileSync(`${SELF_FDINFO}/${fd}`, 'latin1');
  } catch (err) {
    throw new CgroupPathError('unprovable', what, `cannot read ${SELF_FDINFO}/${fd} (${errnoCode(err)})`);
  }
  const id = mountIdOfFdinfo(text);
  if (id === undefined) throw new CgroupPathError('unprovable', what, `${SELF_FDINFO}/${fd} has no mnt_id`);
  return id;
}

const magicOf = (version: 1 | 2): number => (version === 1 ? CGROUP_SUPER_MAGIC : CGROUP2_SUPER_MAGIC);

function fsTypeOfFd(fd: number): number {
  return Number(fs.statfsSync(`${SELF_FD}/${fd}`).type);
}

/** Open, prove and remember a hierarchy root. Throws CgroupLayoutError when it is not usable. */
export function anchorHierarchy(dir: string, version: 1 | 2, filesystem: CgroupFilesystem): Anchor {
  let fd: number;
  try {
    fd = fs.openSync(dir, O_RDONLY | O_DIRECTORY);
  } catch (err) {
    throw new CgroupLayoutError(dir, `cannot open the hierarchy (${errnoCode(err)})`);
  }
  try {
    const real = fs.readlinkSync(`${SELF_FD}/${fd}`);
    if (filesystem === 'kernel') {
      const type = fsTypeOfFd(fd);
      if (type !== magicOf(version)) {
        throw new CgroupLayoutError(dir, `is not a cgroup${version === 2 ? '2' : ''} filesystem (statfs type 0x${type.toString(16)}); for a simulator's tree use --simulated-cgroups`);
      }
    }
    return { real, mountId: mountIdOf(fd, dir), filesystem, version };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Open `dir` (= `<anchor>/<rel>`) and prove it; returns the open descriptor (the caller closes it)
 * or undefined when it does not exist. Throws CgroupPathError when it exists but is not what it
 * claims to be.
 */
export function openProvenDir(anchor: Anchor, dir: string, rel: string): { fd: number; proof: DirProof } | undefined {
  let fd: number;
  try {
    fd = fs.openSync(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new CgroupPathError('escapes-yarn-parent', dir, 'is a symlink (symlink in the YARN hierarchy)');
    if (code === 'ENOTDIR') {
      // The last component is a symlink (O_DIRECTORY|O_NOFOLLOW) or a file, or a component above it is not a directory.
      let st: fs.Stats;
      try {
        st = fs.lstatSync(dir);
      } catch {
        return undefined;
      }
      if (st.isSymbolicLink()) throw new CgroupPathError('escapes-yarn-parent', dir, 'is a symlink (symlink in the YARN hierarchy)');
      if (!st.isDirectory()) throw new CgroupPathError('not-a-directory', dir, 'not a directory');
      return undefined;
    }
    throw new CgroupPathError('unprovable', dir, `cannot open (${code})`);
  }
  try {
    const proof = proveOpenDir(anchor, fd, dir, rel);
    return { fd, proof };
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
}

function proveOpenDir(anchor: Anchor, fd: number, dir: string, rel: string): DirProof {
  const expected = rel === '' ? anchor.real : path.join(anchor.real, rel);
  let real: string;
  try {
    real = fs.readlinkSync(`${SELF_FD}/${fd}`);
  } catch (err) {
    throw new CgroupPathError('unprovable', dir, `cannot read ${SELF_FD}/${fd} (${errnoCode(err)})`);
  }
  if (real !== expected) {
    throw new CgroupPathError('escapes-yarn-parent', dir, `resolves to ${real}, outside ${expected} (symlink in the YARN hierarchy)`);
  }
  const mountId = mountIdOf(fd, dir);
  if (mountId !== anchor.mountId) {
    throw new CgroupPathError('bind-mount', dir, `is on mount ${mountId}, not on the hierarchy's mount ${anchor.mountId}: something is mounted over the YARN hierarchy`);
  }
  return { mountId, real };
}

/** Prove an existing directory again (just before a write or a kill). Throws CgroupPathError; a vanished one is `gone`. */
export function reproveDir(anchor: Anchor, dir: string, rel: string): DirProof | undefined {
  const opened = openProvenDir(anchor, dir, rel);
  if (!opened) return undefined;
  fs.closeSync(opened.fd);
  return opened.proof;
}

/**
 * Write `value` to the control file `name` of a directory proven afresh: opened through the
 * directory's descriptor, never following a symlink, never blocking; a regular file on the
 * hierarchy's mount (cgroupfs with `filesystem: 'kernel'`). Throws CgroupPathError when a proof
 * fails, CgroupIoError when the file is missing or the kernel refuses the write.
 */
export function writeProvenControlFile(anchor: Anchor, dir: string, rel: string, name: string, value: string): void {
  if (name.includes('/') || name === '.' || name === '..') throw new CgroupPathError('invalid-component', name, 'control file name must be one component');
  const opened = openProvenDir(anchor, dir, rel);
  if (!opened) throw new CgroupIoError(path.join(dir, name), 'write', 'ENOENT');
  const file = path.join(dir, name);
  try {
    let ffd: number;
    try {
      ffd = fs.openSync(`${SELF_FD}/${opened.fd}/${name}`, O_WRONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ELOOP') throw new CgroupPathError('escapes-yarn-parent', file, 'is a symlink: refusing to write through it');
      throw new CgroupIoError(file, 'write', code, { cause: err });
    }
    try {
      const st = fs.fstatSync(ffd);
      if (!st.isFile()) throw new CgroupPathError('not-a-regular-file', file, 'is not a regular file: refusing to write');
      const mountId = mountIdOf(ffd, file);
      if (mountId !== anchor.mountId) throw new CgroupPathError('bind-mount', file, `is on mount ${mountId}, not on the hierarchy's mount ${anchor.mountId}: something is mounted over it`);
      if (anchor.filesystem === 'kernel') {
        const type = fsTypeOfFd(ffd);
        if (type !== magicOf(anchor.version)) throw new CgroupPathError('not-cgroupfs', file, `is not on a cgroup filesystem (statfs type 0x${type.toString(16)})`);
      } else {
        fs.ftruncateSync(ffd, 0); // a simulator's regular file, like the shell's `>`
      }
      try {
        fs.writeSync(ffd, value);
      } catch (err) {
        throw new CgroupIoError(file, 'write', errnoCode(err), { cause: err });
      }
    } finally {
      fs.closeSync(ffd);
    }
  } finally {
    fs.closeSync(opened.fd);
  }
}

/** One `<dir>` entry name is a plain directory component (what readdir gives for sub-cgroups). */
export function listSubdirectories(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return []; // removed meanwhile
  }
  return entries.filter((e) => e.isDirectory()).map((e) => e.name);
}
