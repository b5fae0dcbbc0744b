/**
 * The only two syscalls-with-a-path the cgroup layer makes for data: read a small kernel file,
 * write a small kernel file. Synchronous on purpose — measured on this project's nodes
 * (kernel 6.18, Node 20): `readFileSync` of `memory.stat` ≈ 14 µs, of `memory.usage_in_bytes`
 * ≈ 7 µs, versus ≈ 190 µs through `fs/promises`. A cached fd with `pread` at offset 0 is faster
 * still (≈ 1–8 µs) but ties fds to cgroups that disappear with their container; at the agent's
 * few hundred reads per second the difference is ~1 ms of CPU per second, not worth stale fds.
 */
import fs from 'node:fs';
import { CgroupIoError, errnoCode } from './errors.js';

export function readCgroupFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CgroupIoError(file, 'read', errnoCode(err), { cause: err });
  }
}

/** Like {@link readCgroupFile}, but a missing file is `undefined` (optional files: PSI, cgroup.kill). */
export function readOptionalCgroupFile(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw new CgroupIoError(file, 'read', errnoCode(err), { cause: err });
  }
}

/**
 * Write a value the way `echo value > file` does, in one write(2). The file must exist: cgroup
 * control files are created by the kernel, so creating one means we are on the wrong path.
 */
export function writeCgroupFile(file: string, value: string): void {
  let fd: number;
  try {
    // O_TRUNC like the shell's `>`: harmless on cgroupfs, needed for regular files in fake trees.
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_TRUNC);
  } catch (err) {
    throw new CgroupIoError(file, 'write', errnoCode(err), { cause: err });
  }
  try {
    fs.writeSync(fd, value);
  } catch (err) {
    throw new CgroupIoError(file, 'write', errnoCode(err), { cause: err });
  } finally {
    fs.closeSync(fd);
  }
}

export function fileExists(file: string): boolean {
  try {
    fs.statSync(file);
    return true;
  } catch {
    return false;
  }
}
