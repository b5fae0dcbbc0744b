/**
 * The YARN parent's memory limit for the kernel backstop: v2 `memory.high` (over it the kernel
 * throttles and reclaims the group, it never OOM-kills for it), v1 `memory.limit_in_bytes` (over
 * it the kernel reclaims, then OOM-kills inside the group — only YARN processes). Read and written
 * like the CPU limit: every write proves the directory afresh and goes through its descriptor.
 */
import path from 'node:path';
import { CgroupNotFoundError, CgroupParseError } from './errors.js';
import { readCgroupFile } from './io.js';
import { parseUint } from './parse.js';
import { writeProvenControlFile } from './proof.js';
import type { CgroupDir, CgroupDirs } from './resolve.js';

/** Bytes, or no limit (v2 `max`, v1 `-1` — read back as PAGE_COUNTER_MAX pages, ~2^63). */
export type MemoryLimit = number | 'unlimited';

/** v1 reads "no limit" as a page-rounded 2^63 − 1; anything at or above 2^62 counts as none. */
const V1_UNLIMITED_FROM = 2 ** 62;

/** The file that holds the limit in this directory's hierarchy. */
export function memoryLimitFile(d: CgroupDir): string {
  return path.join(d.dir, d.hierarchy.version === 1 ? 'memory.limit_in_bytes' : 'memory.high');
}

/** Pure: a limit file's text. */
export function parseMemoryLimit(text: string, version: 1 | 2, file: string): MemoryLimit {
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  if (version === 2 && body === 'max') return 'unlimited';
  if (body === '') throw new CgroupParseError(file, 'empty file');
  const v = parseUint(body, file, 'limit');
  return version === 1 && v >= V1_UNLIMITED_FROM ? 'unlimited' : v;
}

/** Pure: what to write for a limit. */
export function memoryLimitText(limit: MemoryLimit, version: 1 | 2): string {
  if (limit === 'unlimited') return version === 1 ? '-1' : 'max';
  if (!Number.isSafeInteger(limit) || limit <= 0) throw new RangeError(`memory limit must be a positive whole number of bytes, got ${limit}`);
  return String(limit);
}

export function readMemoryLimit(cg: CgroupDirs): MemoryLimit {
  const d = cg.memory;
  if (!d) throw new CgroupNotFoundError(cg.cgroupPath, 'memory');
  const file = memoryLimitFile(d);
  return parseMemoryLimit(readCgroupFile(file), d.hierarchy.version, file);
}

export interface MemoryLimitWrite {
  file: string;
  value: string;
  previous: MemoryLimit;
}

/** Set the limit (nothing written when it is already in place, or in dry-run). Throws CgroupPathError / CgroupIoError. */
export function setMemoryLimit(cg: CgroupDirs, limit: MemoryLimit, opts: { dryRun?: boolean } = {}): MemoryLimitWrite & { applied: boolean } {
  const d = cg.memory;
  if (!d) throw new CgroupNotFoundError(cg.cgroupPath, 'memory');
  const previous = readMemoryLimit(cg);
  const file = memoryLimitFile(d);
  const value = memoryLimitText(limit, d.hierarchy.version);
  if (previous === limit || opts.dryRun) return { file, value, previous, applied: false };
  writeProvenControlFile(d.hierarchy.anchor, d.dir, d.rel, path.basename(file), value);
  return { file, value, previous, applied: true };
}
