/**
 * Kernel files the agent reads every tick, kept open between ticks: each read is one `pread` at
 * offset 0 into a buffer allocated once, instead of open + fstat + read + read + close (five
 * syscalls, ~6 µs each on a nested-virt node). At 200 containers × 3 files a second that is the
 * difference between ~600 and ~3000 syscalls a second.
 *
 * A file is opened the way io.ts opens one (`O_NONBLOCK | O_NOFOLLOW`, a regular file, bounded
 * size) — by the caller right after the directory holding it was proven, so what is held is what
 * was proven. On cgroupfs and procfs (statfs says so when the file is opened) a file is never
 * replaced: an open descriptor keeps reading it, and once its cgroup is removed the kernel answers
 * ENODEV. Any other filesystem (a simulator's tree, rewritten by rename) gets one `stat` of the
 * path per read, and a replaced file is opened afresh.
 *
 * Any read error closes the descriptor (the caller drops its proof too and proves again). At most
 * `cap` descriptors are held; beyond it a file is read the ordinary way (open, read, close) and
 * counted in `unheldReads`.
 */
import fs from 'node:fs';
import { CgroupIoError, errnoCode } from './errors.js';
import { readKernelFile } from './io.js';
import { CGROUP2_SUPER_MAGIC, CGROUP_SUPER_MAGIC } from './proof.js';

const PROC_SUPER_MAGIC = 0x9fa0;
const KERNEL_MAGICS = new Set([CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC, PROC_SUPER_MAGIC]);
/** Largest file held and read by pread (`memory.stat` is ~1.5 KiB, `/proc/stat` of 256 CPUs ~30 KiB). */
export const HELD_FILE_MAX_BYTES = 256 * 1024;
const { O_RDONLY, O_NONBLOCK, O_NOFOLLOW } = fs.constants;

interface Held {
  fd: number;
  /** The kernel's own file (cgroupfs, procfs): never replaced, no stat per read. */
  kernel: boolean;
  dev: number;
  ino: number;
}

/** Reads a file by path, throwing CgroupIoError (ENOENT for a missing one) like io.ts. */
export type FileReader = (file: string) => string;

export class HeldFiles {
  private readonly held = new Map<string, Held>();
  private buf = Buffer.allocUnsafe(16 * 1024);
  /** Reads made the ordinary way because `cap` descriptors were already held. */
  unheldReads = 0;
  /** Descriptors opened (first reads and re-opens of replaced files). */
  opens = 0;

  constructor(readonly cap: number) {}

  get size(): number {
    return this.held.size;
  }

  /** This reader as a function (for the readers of read.ts). */
  readonly read: FileReader = (file) => this.readFile(file);

  readFile(file: string): string {
    let h = this.held.get(file);
    if (h && !h.kernel && !this.sameFile(file, h)) {
      this.close(file);
      h = undefined;
    }
    if (!h) {
      if (this.held.size >= this.cap) {
        this.unheldReads++;
        return readKernelFile(file, HELD_FILE_MAX_BYTES);
      }
      h = this.openFile(file);
    }
    return this.pread(file, h);
  }

  /** Close the descriptors of these files (a container left, or its proof was dropped). */
  release(files: Iterable<string>): void {
    for (const f of files) this.close(f);
  }

  closeAll(): void {
    for (const f of [...this.held.keys()]) this.close(f);
  }

  private close(file: string): void {
    const h = this.held.get(file);
    if (!h) return;
    this.held.delete(file);
    try { fs.closeSync(h.fd); } catch { /* already closed */ }
  }

  private openFile(file: string): Held {
    let fd: number;
    try {
      fd = fs.openSync(file, O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
    } catch (err) {
      throw new CgroupIoError(file, 'read', errnoCode(err), { cause: err });
    }
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) throw new CgroupIoError(file, 'read', 'ENOTREG');
      let kernel = false;
      try {
        kernel = KERNEL_MAGICS.has(Number(fs.statfsSync(`/proc/self/fd/${fd}`).type));
      } catch {
        // unknown filesystem: stat the path on every read
      }
      const h: Held = { fd, kernel, dev: st.dev, ino: st.ino };
      this.held.set(file, h);
      this.opens++;
      return h;
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  /** The path still names the file held (a simulator replaces files by rename). */
  private sameFile(file: string, h: Held): boolean {
    const st = fs.statSync(file, { throwIfNoEntry: false });
    return st !== undefined && st.dev === h.dev && st.ino === h.ino;
  }

  private pread(file: string, h: Held): string {
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(h.fd, this.buf, 0, this.buf.length, 0);
      } catch (err) {
        this.close(file);
        throw new CgroupIoError(file, 'read', errnoCode(err), { cause: err });
      }
      if (n < this.buf.length) return this.buf.toString('latin1', 0, n);
      // Filled the buffer: read again with a larger one (up to the limit), from offset 0.
      if (this.buf.length > HELD_FILE_MAX_BYTES) {
        this.close(file);
        throw new CgroupIoError(file, 'read', 'EFBIG');
      }
      this.buf = Buffer.allocUnsafe(Math.min(this.buf.length * 4, HELD_FILE_MAX_BYTES + 1));
    }
  }
}
