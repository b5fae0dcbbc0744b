/**
 * Node memory for the fast watch, read as cheaply as the kernel allows: `/proc/meminfo` stays
 * open and each look is one `pread` into a buffer allocated once, with MemTotal and MemAvailable
 * picked out of the bytes without building a string (the watch looks up to a few hundred times a
 * second; a string and a regexp per line would be most of its cost).
 *
 * The descriptor is kept only when the file is procfs's own (statfs says PROC_SUPER_MAGIC): that
 * inode never changes. Any other file — a simulator's `meminfo`, replaced by rename — is opened
 * afresh on each look (through readKernelFile's guards) so a replaced file is seen.
 *
 * The cheap scan only answers "how full is the node"; whoever acts on a crossing confirms with
 * the strict parser (`confirm()`), so a malformed file never triggers anything by itself.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CgroupIoError, CgroupParseError, errnoCode } from './errors.js';
import { readKernelFile } from './io.js';
import { type NodeMemory, parseMeminfo } from './node-totals.js';

const PROC_SUPER_MAGIC = 0x9fa0;
/** Real meminfo is ~1.5 KiB; a file filling this buffer is refused as too large. */
const BUFFER_BYTES = 16 * 1024;

const MEM_TOTAL = Buffer.from('MemTotal:');
const MEM_AVAILABLE = Buffer.from('MemAvailable:');

/** One look: bytes in use (MemTotal − MemAvailable) and MemTotal, both in bytes. */
export interface MemoryLook {
  total: number;
  used: number;
}

/** Pure: MemTotal and MemAvailable (kB) of meminfo bytes, or undefined when either is missing or malformed. */
export function scanMeminfo(buf: Buffer, len: number): MemoryLook | undefined {
  let total = -1;
  let avail = -1;
  let i = 0;
  while (i < len && (total < 0 || avail < 0)) {
    let key: 0 | 1 | 2 = 0; // 1 = MemTotal, 2 = MemAvailable
    if (startsWith(buf, i, len, MEM_TOTAL)) key = 1;
    else if (startsWith(buf, i, len, MEM_AVAILABLE)) key = 2;
    if (key !== 0) {
      let j = i + (key === 1 ? MEM_TOTAL.length : MEM_AVAILABLE.length);
      while (j < len && buf[j] === 0x20) j++;
      let v = 0;
      let digits = 0;
      while (j < len && buf[j]! >= 0x30 && buf[j]! <= 0x39) {
        v = v * 10 + (buf[j]! - 0x30);
        j++;
        digits++;
      }
      if (digits === 0 || digits > 15) return undefined;
      if (key === 1) total = v;
      else avail = v;
      i = j;
    }
    while (i < len && buf[i] !== 0x0a) i++;
    i++;
  }
  if (total <= 0 || avail < 0 || avail > total) return undefined;
  return { total: total * 1024, used: (total - avail) * 1024 };
}

/** Pure: whether a look is at or over the eviction threshold (percent of MemTotal in use). */
export function atOrOver(look: MemoryLook, thresholdPercent: number): boolean {
  return look.used * 100 >= look.total * thresholdPercent;
}

/** One look; when it is at or over the threshold, `over` is the strict parse of the same bytes. */
export interface ThresholdLook {
  look: MemoryLook;
  over?: NodeMemory;
}

function startsWith(buf: Buffer, at: number, len: number, word: Buffer): boolean {
  if (at + word.length > len) return false;
  for (let k = 0; k < word.length; k++) if (buf[at + k] !== word[k]) return false;
  return true;
}

export class MeminfoWatch {
  readonly file: string;
  private fd: number | undefined;
  private readonly buf = Buffer.allocUnsafe(BUFFER_BYTES);
  private len = 0;
  private kept: boolean | undefined;

  constructor(procRoot: string) {
    this.file = path.join(procRoot, 'meminfo');
  }

  /**
   * One look. Throws CgroupIoError when the file cannot be read, CgroupParseError (from the
   * strict parser, naming the problem) when the two fields are not there as expected.
   */
  look(): MemoryLook {
    this.fill();
    const m = scanMeminfo(this.buf, this.len);
    if (m) return m;
    parseMeminfo(this.buf.toString('latin1', 0, this.len), this.file); // throws the precise error
    throw new CgroupParseError(this.file, 'MemTotal / MemAvailable not in the "Key: value kB" form');
  }

  /**
   * One look against the threshold: under it that is all; at or over it the strict parse of the
   * same bytes confirms (a malformed file never triggers anything by itself). Throws as `look`
   * and `confirm` do.
   */
  lookAt(thresholdPercent: number): ThresholdLook {
    const look = this.look();
    return atOrOver(look, thresholdPercent) ? { look, over: this.confirm() } : { look };
  }

  /** The strict parse of the bytes the last look read (the check before acting on a crossing). */
  confirm(): NodeMemory {
    return parseMeminfo(this.buf.toString('latin1', 0, this.len), this.file);
  }

  close(): void {
    if (this.fd !== undefined) {
      try { fs.closeSync(this.fd); } catch { /* already closed */ }
    }
    this.fd = undefined;
    this.kept = undefined;
  }

  private fill(): void {
    if (this.kept === undefined) this.decide();
    if (this.kept && this.fd !== undefined) {
      let n: number;
      try {
        n = fs.readSync(this.fd, this.buf, 0, BUFFER_BYTES, 0);
      } catch (err) {
        this.close(); // look again from scratch next time
        throw new CgroupIoError(this.file, 'read', errnoCode(err), { cause: err });
      }
      if (n >= BUFFER_BYTES) throw new CgroupIoError(this.file, 'read', 'EFBIG');
      this.len = n;
      return;
    }
    const text = readKernelFile(this.file, BUFFER_BYTES - 1);
    this.len = this.buf.write(text, 0, 'latin1');
  }

  /** Keep a descriptor only on procfs (its meminfo is never replaced). */
  private decide(): void {
    this.kept = false;
    let fd: number;
    try {
      fd = fs.openSync(this.file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    } catch {
      return; // readKernelFile reports the error on the look
    }
    try {
      if (fs.fstatSync(fd).isFile() && Number(fs.statfsSync(`/proc/self/fd/${fd}`).type) === PROC_SUPER_MAGIC) {
        this.fd = fd;
        this.kept = true;
        return;
      }
    } catch {
      // fall through: not kept
    }
    fs.closeSync(fd);
  }
}
