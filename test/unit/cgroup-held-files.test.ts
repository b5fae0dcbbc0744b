/**
 * Held kernel-file descriptors (cgroup/held-files.ts): one pread per read, the same refusals as
 * io.ts, a replaced file seen on a non-kernel filesystem, the kernel's own files never stat'ed,
 * a bounded number of descriptors; and the allocation-free flat-keyed parser the reads feed.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CgroupIoError, CgroupParseError, flatKeyedValue, HeldFiles, parseFlatKeyed } from '../../cgroup/index.js';

let dir: string;
let files: HeldFiles | undefined;
afterEach(() => {
  vi.restoreAllMocks();
  files?.closeAll();
  files = undefined;
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});
const tmp = (): string => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-held-')));
const replace = (file: string, text: string): void => {
  fs.writeFileSync(`${file}.new`, text);
  fs.renameSync(`${file}.new`, file);
};
const codeOf = (f: () => unknown): string | undefined => {
  try { f(); } catch (e) { return e instanceof CgroupIoError ? e.code : `not CgroupIoError: ${String(e)}`; }
  return undefined;
};

describe('HeldFiles', () => {
  it('opens a file once and reads it by pread; a file replaced by rename is opened again and its new content read', () => {
    const d = tmp();
    const f = path.join(d, 'memory.current');
    fs.writeFileSync(f, '100\n');
    files = new HeldFiles(10);
    const opens = vi.spyOn(fs, 'openSync');
    expect(files.readFile(f)).toBe('100\n');
    expect(files.readFile(f)).toBe('100\n');
    expect(opens).toHaveBeenCalledTimes(1);
    expect(files.size).toBe(1);
    replace(f, '250\n');
    expect(files.readFile(f)).toBe('250\n');
    expect(opens).toHaveBeenCalledTimes(2);
    expect(files.size).toBe(1);
    files.release([f]);
    expect(files.size).toBe(0);
  });

  it("procfs files are the kernel's: held without a stat per read", () => {
    files = new HeldFiles(10);
    const stats = vi.spyOn(fs, 'statSync');
    for (let i = 0; i < 3; i++) expect(files.readFile('/proc/self/stat')).toMatch(/^\d+ \(/);
    expect(files.readFile('/proc/meminfo')).toMatch(/^MemTotal:/);
    expect(stats).not.toHaveBeenCalled();
    expect(files.opens).toBe(2);
  });

  it('refuses what io.ts refuses: a symlink, a FIFO, a missing file, one over the size limit; nothing is held then', () => {
    const d = tmp();
    fs.writeFileSync(path.join(d, 'real'), '1\n');
    fs.symlinkSync(path.join(d, 'real'), path.join(d, 'link'));
    expect(spawnSync('mkfifo', [path.join(d, 'fifo')]).status).toBe(0);
    fs.writeFileSync(path.join(d, 'big'), 'x'.repeat(300 * 1024));
    files = new HeldFiles(10);
    expect(codeOf(() => files!.readFile(path.join(d, 'link')))).toBe('ELOOP');
    expect(codeOf(() => files!.readFile(path.join(d, 'fifo')))).toBe('ENOTREG');
    expect(codeOf(() => files!.readFile(path.join(d, 'missing')))).toBe('ENOENT');
    expect(codeOf(() => files!.readFile(path.join(d, 'big')))).toBe('EFBIG');
    expect(files.size).toBe(0);
  });

  it('reads a file larger than its first buffer whole', () => {
    const d = tmp();
    const text = Array.from({ length: 3000 }, (_, i) => `key${i} ${i}`).join('\n') + '\n'; // ~30 KiB
    fs.writeFileSync(path.join(d, 'memory.stat'), text);
    files = new HeldFiles(10);
    expect(files.readFile(path.join(d, 'memory.stat'))).toBe(text);
    expect(files.readFile(path.join(d, 'memory.stat'))).toBe(text);
  });

  it('holds at most `cap` descriptors: beyond it a file is read and closed, and counted', () => {
    const d = tmp();
    const names = ['a', 'b', 'c'].map((n) => path.join(d, n));
    for (const [i, f] of names.entries()) fs.writeFileSync(f, `${i}\n`);
    files = new HeldFiles(2);
    expect(names.map((f) => files!.readFile(f))).toEqual(['0\n', '1\n', '2\n']);
    expect(files.size).toBe(2);
    expect(files.unheldReads).toBe(1);
    files.release([names[0]!]);
    expect(files.readFile(names[2]!)).toBe('2\n');
    expect(files.size).toBe(2);
    expect(files.unheldReads).toBe(1);
  });

  it('a held file whose path vanished is an error (ENOENT), and it is no longer held', () => {
    const d = tmp();
    const f = path.join(d, 'cpu.stat');
    fs.writeFileSync(f, 'usage_usec 5\n');
    files = new HeldFiles(4);
    files.readFile(f);
    fs.rmSync(f);
    expect(codeOf(() => files!.readFile(f))).toBe('ENOENT');
    expect(files.size).toBe(0);
  });
});

describe('flatKeyedValue', () => {
  const file = '/cg/memory.stat';
  it('the value of one key, the whole file checked like parseFlatKeyed', () => {
    const text = 'anon 10\nfile 20\ninactive_file 30\nactive_file 40\n';
    expect(flatKeyedValue(text, 'inactive_file', file)).toBe(30);
    expect(flatKeyedValue(text, 'file', file)).toBe(parseFlatKeyed(text, file).get('file'));
    expect(flatKeyedValue('usage_usec 7', 'usage_usec', file)).toBe(7); // no final newline
  });
  it.each([
    ['', /empty file/],
    ['\n', /empty file/],
    ['anon 10\n', /missing key inactive_file/],
    ['inactive_file 1\ninactive_file 2\n', /duplicate key inactive_file/],
    ['inactive_file 1\n\nanon 2\n', /line 2/],
    ['inactive_file 1\nanon 2 3\n', /line 2/],
    ['inactive_file 1\nanon\n', /line 2/],
    ['inactive_file 1\n anon 2\n', /line 2/],
    ['inactive_file -1\n', /not a non-negative integer/],
    ['inactive_file 1x\n', /not a non-negative integer/],
    ['inactive_file 123456789012345678901\n', /more than 20 digits/],
    ['anon 1\ninactive_file \n', /line 2/],
  ])('%j is refused (%s)', (text, message) => {
    expect(() => flatKeyedValue(text, 'inactive_file', file)).toThrow(CgroupParseError);
    expect(() => flatKeyedValue(text, 'inactive_file', file)).toThrow(message);
  });
});
