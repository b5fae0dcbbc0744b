/**
 * Pure, strict parsers for cgroup (v1 and v2) file contents. Each takes the file text plus the
 * file name (for the error message) and either returns typed numbers or throws
 * {@link CgroupParseError}: garbage, negative, non-numeric or truncated content never turns
 * into NaN or a silent zero, because every eviction decision downstream trusts these numbers.
 */
import { CgroupParseError } from './errors.js';

const UINT = /^\d+$/;
/** The kernel writes at most u64; 20 digits is the longest legal value. */
const MAX_DIGITS = 20;

/** A non-negative decimal integer as the kernel prints it (no sign, no spaces, no exponent). */
export function parseUint(token: string, file: string, what = 'value'): number {
  if (!UINT.test(token) || token.length > MAX_DIGITS) {
    throw new CgroupParseError(file, `${what} ${JSON.stringify(truncate(token))} is not a non-negative integer`);
  }
  // Counters beyond 2^53 (ns of CPU after ~104 CPU-days) lose only their last digits here;
  // callers take differences of values this size, where that rounding is noise.
  return Number(token);
}

/** A file holding one unsigned integer and a newline (`memory.usage_in_bytes`, `cpuacct.usage`, `memory.current`). */
export function parseSingleUint(text: string, file: string): number {
  const body = stripFinalNewline(text);
  if (body === '') throw new CgroupParseError(file, 'empty file');
  return parseUint(body.trim(), file);
}

/**
 * A flat-keyed file (`memory.stat`, v2 `cpu.stat`): one `key value` pair per line, values unsigned.
 * Every line must be well formed — a malformed line means a truncated or foreign file.
 */
export function parseFlatKeyed(text: string, file: string): ReadonlyMap<string, number> {
  const out = new Map<string, number>();
  const lines = splitLines(text);
  if (lines.length === 0) throw new CgroupParseError(file, 'empty file');
  for (const [i, line] of lines.entries()) {
    const parts = line.split(' ');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
      throw new CgroupParseError(file, `line ${i + 1} ${JSON.stringify(truncate(line))} is not "key value"`);
    }
    const [key, value] = parts as [string, string];
    if (out.has(key)) throw new CgroupParseError(file, `duplicate key ${key}`);
    out.set(key, parseUint(value, file, key));
  }
  return out;
}

/**
 * One key of a flat-keyed file, with the whole file checked as {@link parseFlatKeyed} checks it
 * (every line `key value`, values unsigned, the key once) but without building a map: the
 * collector reads `memory.stat` of every container each tick for one value.
 */
export function flatKeyedValue(text: string, key: string, file: string): number {
  let end = text.length;
  if (end > 0 && text.charCodeAt(end - 1) === 0x0a) end--;
  if (end === 0) throw new CgroupParseError(file, 'empty file');
  let found: number | undefined;
  let start = 0;
  let lineNo = 0;
  while (start <= end) {
    let nl = text.indexOf('\n', start);
    if (nl < 0 || nl > end) nl = end;
    lineNo++;
    const sp = text.indexOf(' ', start);
    let ok = sp > start && sp < nl - 1;
    for (let i = sp + 1; ok && i < nl; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x20) ok = false; // a second space: not "key value"
      else if (c < 0x30 || c > 0x39) {
        throw new CgroupParseError(file, `${text.slice(start, sp)} ${JSON.stringify(truncate(text.slice(sp + 1, nl)))} is not a non-negative integer`);
      }
    }
    if (!ok) throw new CgroupParseError(file, `line ${lineNo} ${JSON.stringify(truncate(text.slice(start, nl)))} is not "key value"`);
    if (nl - sp - 1 > MAX_DIGITS) throw new CgroupParseError(file, `${text.slice(start, sp)} is not a non-negative integer (more than ${MAX_DIGITS} digits)`);
    if (sp - start === key.length && text.startsWith(key, start)) {
      if (found !== undefined) throw new CgroupParseError(file, `duplicate key ${key}`);
      found = Number(text.slice(sp + 1, nl));
    }
    start = nl + 1;
  }
  if (found === undefined) throw new CgroupParseError(file, `missing key ${key}`);
  return found;
}

/** The value of `key` in a flat-keyed map, or a parse error naming the missing key. */
export function requireKey(map: ReadonlyMap<string, number>, key: string, file: string): number {
  const v = map.get(key);
  if (v === undefined) throw new CgroupParseError(file, `missing key ${key}`);
  return v;
}

/** One PSI line: stall percentages over 10 s / 60 s / 300 s and the cumulative stall time. */
export interface PsiLine {
  avg10: number;
  avg60: number;
  avg300: number;
  /** Cumulative stall time in microseconds. */
  totalUsec: number;
}

/** A PSI file (`memory.pressure`, `cpu.pressure`, `io.pressure`, `/proc/pressure/*`). */
export interface Psi {
  some: PsiLine;
  /** Absent in CPU pressure on kernels before 5.13. */
  full?: PsiLine;
}

const PSI_LINE = /^(some|full) avg10=(\d+\.\d+) avg60=(\d+\.\d+) avg300=(\d+\.\d+) total=(\d+)$/;

export function parsePsi(text: string, file: string): Psi {
  const lines = splitLines(text);
  let some: PsiLine | undefined;
  let full: PsiLine | undefined;
  for (const line of lines) {
    const m = PSI_LINE.exec(line);
    if (!m) throw new CgroupParseError(file, `malformed PSI line ${JSON.stringify(truncate(line))}`);
    const entry: PsiLine = {
      avg10: percent(m[2]!, file),
      avg60: percent(m[3]!, file),
      avg300: percent(m[4]!, file),
      totalUsec: parseUint(m[5]!, file, 'total'),
    };
    if (m[1] === 'some') {
      if (some) throw new CgroupParseError(file, 'duplicate "some" line');
      some = entry;
    } else {
      if (full) throw new CgroupParseError(file, 'duplicate "full" line');
      full = entry;
    }
  }
  if (!some) throw new CgroupParseError(file, 'missing "some" line');
  return full ? { some, full } : { some };
}

/** `cgroup.procs` / `tasks`: one pid per line (v1 may repeat and not sort; we dedupe and sort). */
export function parseProcs(text: string, file: string): number[] {
  const pids = new Set<number>();
  for (const line of splitLines(text)) {
    const pid = parseUint(line, file, 'pid');
    if (pid === 0) throw new CgroupParseError(file, 'pid 0');
    pids.add(pid);
  }
  return [...pids].sort((a, b) => a - b);
}

/** A CPU bandwidth limit: `quotaUs` null means unlimited. */
export interface CpuBandwidth {
  quotaUs: number | null;
  periodUs: number;
}

/** v2 `cpu.max`: `"max 100000"` or `"50000 100000"` (the period may be omitted when written, never when read). */
export function parseCpuMax(text: string, file: string): CpuBandwidth {
  const body = stripFinalNewline(text);
  const parts = body.split(' ');
  if (parts.length !== 2) throw new CgroupParseError(file, `expected "quota period", got ${JSON.stringify(truncate(body))}`);
  const [q, p] = parts as [string, string];
  const periodUs = parseUint(p, file, 'period');
  if (periodUs === 0) throw new CgroupParseError(file, 'period 0');
  const quotaUs = q === 'max' ? null : parseUint(q, file, 'quota');
  return { quotaUs, periodUs };
}

/** v1 `cpu.cfs_quota_us`: `-1` (unlimited) or a positive number of microseconds. */
export function parseCfsQuota(text: string, file: string): number | null {
  const body = stripFinalNewline(text).trim();
  if (body === '-1') return null;
  if (body === '') throw new CgroupParseError(file, 'empty file');
  return parseUint(body, file, 'quota');
}

/** v1 `cpu.cfs_period_us`: a positive number of microseconds. */
export function parseCfsPeriod(text: string, file: string): number {
  const v = parseSingleUint(text, file);
  if (v === 0) throw new CgroupParseError(file, 'period 0');
  return v;
}

// ---- small helpers shared with the proc parsers -------------------------------------------

/** Lines of a kernel file without the final newline; no blank lines allowed in between. */
export function splitLines(text: string): string[] {
  const body = stripFinalNewline(text);
  return body === '' ? [] : body.split('\n');
}

function stripFinalNewline(text: string): string {
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

function percent(token: string, file: string): number {
  const v = Number(token);
  if (!Number.isFinite(v) || v < 0 || v > 100) throw new CgroupParseError(file, `PSI average ${token} out of range`);
  return v;
}

function truncate(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
