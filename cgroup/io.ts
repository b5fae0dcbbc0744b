/**
 * Reading small kernel files (cgroup and proc) so that no file can block, flood or redirect the
 * agent: opened `O_NONBLOCK | O_NOFOLLOW` (a FIFO opens at once and a symlinked last component is
 * refused), `fstat` must say regular file (a FIFO, device or socket in place of `memory.stat` is
 * refused), and at most `maxBytes` are read (default 1 MiB; more is an error, not a truncation).
 *
 * Synchronous on purpose — measured on this project's nodes (kernel 6.18, Node 20): open + fstat
 * + read + close of `cgroup.stat` ≈ 10 µs, `readFileSync` ≈ 15 µs, versus ≈ 190 µs through
 * `fs/promises`. At the agent's few hundred reads per second that is ~1 ms of CPU per second.
 *
 * Writes do not live here: every write goes through a directory proven afresh
 * (proof.ts `writeProvenControlFile`).
 */
import fs from 'node:fs';
import { CgroupIoError, errnoCode } from './errors.js';

/** Largest kernel file read by default (a `cgroup.procs` of 150k pids, a `/proc/stat` of 1k CPUs). */
export const DEFAULT_MAX_KERNEL_FILE_BYTES = 2 ** 20;

const { O_RDONLY, O_NONBLOCK, O_NOFOLLOW } = fs.constants;
let scratch = Buffer.allocUnsafe(64 * 1024);

export interface ReadKernelFileOptions {
  maxBytes?: number;
  /** Follow a symlinked last component (`/proc/mounts` → `self/mounts`); never for cgroup files. */
  followSymlink?: boolean;
}

/** Read a kernel file (see the module comment). Throws CgroupIoError (`ENOENT`, `ENOTREG`, `EFBIG`, `ELOOP`, …). */
export function readKernelFile(file: string, maxBytesOrOptions: number | ReadKernelFileOptions = {}): string {
  const o = typeof maxBytesOrOptions === 'number' ? { maxBytes: maxBytesOrOptions } : maxBytesOrOptions;
  const maxBytes = o.maxBytes ?? DEFAULT_MAX_KERNEL_FILE_BYTES;
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDONLY | O_NONBLOCK | (o.followSymlink ? 0 : O_NOFOLLOW));
  } catch (err) {
    throw new CgroupIoError(file, 'read', errnoCode(err), { cause: err });
  }
  try {
    let st: fs.Stats;
    try {
      st = fs.fstatSync(fd);
    } catch (err) {
      throw new CgroupIoError(file, 'read', errnoCode(err), { cause: err });
    }
    if (!st.isFile()) throw new CgroupIoError(file, 'read', 'ENOTREG');
    let len = 0;
    for (;;) {
      if (len === scratch.length) {
        if (scratch.length > maxBytes) break;
        const bigger = Buffer.allocUnsafe(Math.min(scratch.length * 2, maxBytes + 1));
        scratch.copy(bigger, 0, 0, len);
        scratch = bigger;
      }
      let n: number;
      try {
        n = fs.readSync(fd, scratch, len, scratch.length - len, null);
      } catch (err) {
        throw new CgroupIoError(file, 'read', errnoCode(err), { cause: err });
      }
      if (n === 0) break;
      len += n;
      if (len > maxBytes) break;
    }
    if (len > maxBytes) throw new CgroupIoError(file, 'read', 'EFBIG');
    return scratch.toString('utf8', 0, len);
  } finally {
    fs.closeSync(fd);
  }
}

export function readCgroupFile(file: string, maxBytes?: number): string {
  return readKernelFile(file, maxBytes);
}

/** Like {@link readCgroupFile}, but a missing file is `undefined` (optional files: PSI, cgroup.kill). */
export function readOptionalCgroupFile(file: string, maxBytes?: number): string | undefined {
  try {
    return readKernelFile(file, maxBytes);
  } catch (err) {
    if (err instanceof CgroupIoError && err.code === 'ENOENT') return undefined;
    throw err;
  }
}

/** A regular file exists at `file` (a symlink does not count). */
export function fileExists(file: string): boolean {
  try {
    return fs.lstatSync(file).isFile();
  } catch {
    return false;
  }
}
