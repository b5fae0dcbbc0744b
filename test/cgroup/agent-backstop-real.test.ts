/**
 * The kernel backstop on real v1 memory cgroups: the agent (in this process, ticks driven by the
 * test) sets the YARN parent's `memory.limit_in_bytes` to YARN's allowed share of a node whose
 * `meminfo` the test controls, follows it when the share moves past the hysteresis, and puts
 * "no limit" back when it stops; the kernel reads the values back. Everything created is removed.
 * Runs only as root with writable cgroups; otherwise skipped with a one-line reason.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CGROUP_ROOT, mkdirsRecorded, probeRealCgroups, removeCgroups } from './real-cgroups.js';
import { startAgent } from '../../agent/agent.js';
import { NodeCgroups, readMemoryLimit } from '../../cgroup/index.js';
import { createLogger } from '../../log/logger.js';

const probed = probeRealCgroups();
if (!probed.ok) console.log(`skipped (memory backstop on real cgroups): ${probed.reason}`);

const YARN = `loom-backstop-test-${randomBytes(4).toString('hex')}/kubepods/besteffort/hadoop-yarn`;
const MiB = 2 ** 20;
const TOTAL = 1024 * MiB;

describe.skipIf(!probed.ok)('memory backstop on real v1 cgroups', () => {
  let tmp: string;
  let fakeProc: string;
  let nm: http.Server | undefined;
  const created: string[] = [];

  const writeMeminfo = (usedPercent: number): void => {
    const total = TOTAL / 1024;
    const available = Math.round(total * (1 - usedPercent / 100));
    fs.writeFileSync(path.join(fakeProc, 'meminfo.tmp'), `MemTotal:       ${total} kB\nMemFree:        ${available} kB\nMemAvailable:   ${available} kB\n`);
    fs.renameSync(path.join(fakeProc, 'meminfo.tmp'), path.join(fakeProc, 'meminfo'));
  };

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-backstop-real-'));
    fakeProc = path.join(tmp, 'proc');
    fs.mkdirSync(fakeProc);
    fs.copyFileSync('/proc/mounts', path.join(fakeProc, 'mounts'));
    fs.copyFileSync('/proc/stat', path.join(fakeProc, 'stat'));
    const l = NodeCgroups.open({ cgroupRoot: CGROUP_ROOT, procRoot: '/proc', yarnCgroupPath: YARN }).layout;
    for (const c of ['memory', 'cpu', 'cpuacct']) {
      const root = l.controllerDirs[c];
      if (root && !created.some((d) => d.startsWith(`${root}/`))) mkdirsRecorded(root, YARN, created);
    }
    nm = http.createServer((req, res) => {
      const p = (req.url ?? '').split('?')[0];
      const body = p === '/ws/v1/node/info'
        ? { nodeInfo: { id: 'node-real:45454', nodeHostName: 'node-real', nmStartupTime: 1 } }
        : p === '/ws/v1/node/containers' ? { containers: {} } : undefined;
      if (!body) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((r) => nm!.listen(0, '127.0.0.1', () => r()));
  });

  afterAll(async () => {
    if (nm) {
      nm.closeAllConnections();
      await new Promise<void>((r) => nm!.close(() => r()));
    }
    await removeCgroups(created);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('sets memory.limit_in_bytes to the share, follows it, and puts "no limit" back on stop', async () => {
    const cgs = NodeCgroups.open({ cgroupRoot: CGROUP_ROOT, procRoot: fakeProc, yarnCgroupPath: YARN });
    const parent = cgs.yarnParent();
    expect(parent.memory?.hierarchy.version).toBe(1);
    expect(readMemoryLimit(parent)).toBe('unlimited');
    writeMeminfo(30);
    let now = 1_700_000_000_000;
    const agent = await startAgent({
      nodeName: 'node-real', nmUrl: `http://127.0.0.1:${(nm!.address() as AddressInfo).port}`, rmUrls: [], cgroupRoot: CGROUP_ROOT, procRoot: fakeProc,
      yarnCgroupPath: YARN, socket: path.join(tmp, 'run', 'agent.sock'), socketMode: 0o600, metricsAddr: '', dryRun: false, tickMillis: 1000,
      fastWatchMillis: 100, memoryBackstop: true, rules: { memoryEvictThresholdPercent: 70 },
    }, { logger: createLogger('test', { level: 'warn' }), manual: true, clock: () => now });
    try {
      await agent.tick();
      const yarn = agent.latest()!.yarn!.memoryUsed!; // an empty group: ~0
      const share = (used: number): number => Math.floor((Math.floor(TOTAL * 0.7) - (used - yarn)) / 4096) * 4096;
      const used30 = agent.latest()!.node!.memoryUsed;
      expect(readMemoryLimit(cgs.yarnParent())).toBe(share(used30));
      // 10 points more online use: 102 MiB less for YARN, past the hysteresis.
      writeMeminfo(40);
      now += 1000;
      await agent.tick();
      expect(readMemoryLimit(cgs.yarnParent())).toBe(share(agent.latest()!.node!.memoryUsed));
      expect(readMemoryLimit(cgs.yarnParent())).toBeLessThan(share(used30) - 100 * MiB);
    } finally {
      await agent.stop();
    }
    expect(readMemoryLimit(cgs.yarnParent())).toBe('unlimited');
  });
});
