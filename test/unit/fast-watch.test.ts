/** The fast watch's pieces: the allocation-free meminfo scan, the kept-open reader, the headroom-driven period. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CgroupParseError, MeminfoWatch, scanMeminfo } from '../../cgroup/index.js';
import { looksOften, nextLookIn } from '../../agent/watch-period.js';
import { agentSettingSpecs, toAgentSettings } from '../../agent/settings.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const meminfo = (totalKb: number, availKb: number): string =>
  `MemTotal:       ${totalKb} kB\nMemFree:        1 kB\nMemAvailable:   ${availKb} kB\nBuffers:        0 kB\n`;
const scan = (text: string) => { const b = Buffer.from(text, 'latin1'); return scanMeminfo(b, b.length); };

describe('scanMeminfo', () => {
  it('reads MemTotal and MemAvailable (kB) into bytes in use and total', () => {
    expect(scan(meminfo(1000, 250))).toEqual({ total: 1000 * 1024, used: 750 * 1024 });
    expect(scan(`MemAvailable: 1 kB\nMemTotal: 4 kB\n`)).toEqual({ total: 4096, used: 3072 });
  });
  it('says nothing when a field is missing, not a number, or impossible', () => {
    expect(scan('MemTotal: 100 kB\n')).toBeUndefined();
    expect(scan('MemTotal: lots kB\nMemAvailable: 1 kB\n')).toBeUndefined();
    expect(scan('MemTotal: 0 kB\nMemAvailable: 0 kB\n')).toBeUndefined();
    expect(scan('MemTotal: 10 kB\nMemAvailable: 11 kB\n')).toBeUndefined();
    expect(scan(`MemTotal: ${'9'.repeat(20)} kB\nMemAvailable: 1 kB\n`)).toBeUndefined();
  });
});

describe('MeminfoWatch', () => {
  it('keeps /proc/meminfo open and reads the same totals as the strict parser', () => {
    const w = new MeminfoWatch('/proc');
    const a = w.look();
    const strict = w.confirm();
    expect(a.total).toBe(strict.total);
    expect(a.used).toBe(strict.used);
    expect(w.look().total).toBe(a.total);
    w.close();
  });
  it("a simulator's file replaced by rename is seen; bad content is one clear parse error", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-meminfo-'));
    try {
      const file = path.join(dir, 'meminfo');
      fs.writeFileSync(file, meminfo(1000, 900));
      const w = new MeminfoWatch(dir);
      expect(w.look().used).toBe(100 * 1024);
      fs.writeFileSync(`${file}.tmp`, meminfo(1000, 100));
      fs.renameSync(`${file}.tmp`, file);
      expect(w.look().used).toBe(900 * 1024);
      fs.writeFileSync(file, 'MemTotal: lots kB\n');
      expect(() => w.look()).toThrow(CgroupParseError);
      expect(() => w.look()).toThrow(/meminfo/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('MeminfoWatch.lookAt', () => {
  it('under the threshold a look only; at or over it the strict parse of the same bytes', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-meminfo-'));
    try {
      const file = path.join(dir, 'meminfo');
      const w = new MeminfoWatch(dir);
      fs.writeFileSync(file, meminfo(1000, 301)); // 69.9 % in use
      expect(w.lookAt(70)).toEqual({ look: { total: 1000 * 1024, used: 699 * 1024 } });
      fs.writeFileSync(file, meminfo(1000, 300)); // 70 %: at the threshold
      const at = w.lookAt(70);
      expect(at.over).toMatchObject({ total: 1000 * 1024, used: 700 * 1024 });
      // The cheap scan finds both fields, the strict parser refuses the line: nothing is confirmed.
      fs.writeFileSync(file, `${meminfo(1000, 100)}Cached: lots kB\n`);
      expect(() => w.lookAt(70)).toThrow(CgroupParseError);
      expect(w.lookAt(95).over).toBeUndefined(); // under a higher threshold the strict parse is never made
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('looksOften', () => {
  it('the watch moves to its own thread when it looks more often than its longest period, or at a fixed one', () => {
    const p = { minMs: 5, maxMs: 250, growthBytesPerSecond: 2048 * MiB };
    expect(looksOften(250, p)).toBe(false);
    expect(looksOften(249, p)).toBe(true);
    expect(looksOften(5, p)).toBe(true);
    expect(looksOften(5, { ...p, maxMs: 5 })).toBe(true);
  });
});

describe('nextLookIn', () => {
  const p = { minMs: 5, maxMs: 100, growthBytesPerSecond: 2048 * MiB };
  it('follows the headroom under the threshold at the planned growth rate, within the bounds', () => {
    expect(nextLookIn({ total: 128 * GiB, used: 64 * GiB }, 70, p)).toBe(100);
    expect(nextLookIn({ total: 100 * GiB, used: 70 * GiB - 100 * MiB }, 70, p)).toBe(48);
    expect(nextLookIn({ total: 100 * GiB, used: 70 * GiB - MiB }, 70, p)).toBe(5);
  });
  it('looks again at once over the threshold, and after the longest period when the last look failed', () => {
    expect(nextLookIn({ total: 100, used: 80 }, 70, p)).toBe(5);
    expect(nextLookIn(undefined, 70, p)).toBe(100);
    expect(nextLookIn({ total: 100, used: 10 }, 70, { ...p, maxMs: 5 })).toBe(5);
  });
});

describe('the default watch periods', () => {
  // Far under the threshold every look wakes an idle agent (≈ 150 µs on a VM): 4 a second, not 10.
  const defaults = Object.fromEntries(agentSettingSpecs.filter((s) => s.default !== undefined).map((s) => [s.key, s.default]));
  const settings = toAgentSettings(defaults, { NODE_NAME: 'node-a' });
  const p = { minMs: settings.fastWatchMillis, maxMs: settings.fastWatchMaxMillis ?? Number.NaN, growthBytesPerSecond: (settings.fastWatchGrowthMibPerSecond ?? Number.NaN) * MiB };
  it('far under the threshold the watch looks every 250 ms', () => {
    expect(nextLookIn({ total: 64 * GiB, used: 0.48 * 64 * GiB }, 70, p)).toBe(250);
  });
  it('a node growing at the planned 2 GiB/s is still looked at before it can cross, and within 5 ms near the threshold', () => {
    for (const headroomMiB of [600, 400, 100, 10, 1]) {
      const next = nextLookIn({ total: 64 * GiB, used: 0.7 * 64 * GiB - headroomMiB * MiB }, 70, p);
      expect(next).toBeLessThanOrEqual(Math.max(5, (headroomMiB / 2048) * 1000));
    }
    expect(nextLookIn({ total: 64 * GiB, used: 0.7 * 64 * GiB - MiB }, 70, p)).toBe(5);
  });
});
