/**
 * The real agent on real cgroups: a YARN-like hierarchy under a unique prefix in the node's v1
 * memory/cpu/cpuacct controllers (and the v2 `unified` tree where there is one), real processes
 * in per-container cgroups, one of them really allocating memory. A fake `--proc-root` shows the
 * node above the memory threshold (its `<pid>` entries link to the real `/proc/<pid>`, so the
 * membership proof reads the kernel's own files). With victim order `largest-memory` the agent
 * must kill exactly the allocating container's process; look-alikes outside the hierarchy and the
 * other containers survive. Everything created is removed afterwards, even on failure.
 * Runs only as root with writable cgroups; otherwise skipped with a one-line reason.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CGROUP_ROOT, probeRealCgroups, mkdirsRecorded, removeCgroups, testContainerId } from './real-cgroups.js';
import { startAgent, type AgentHandle } from '../../agent/agent.js';
import { NodeCgroups, readMemory } from '../../cgroup/index.js';
import { createLogger } from '../../log/logger.js';

const probed = probeRealCgroups();
if (!probed.ok) console.log(`skipped (agent on real cgroups): ${probed.reason}`);

const PREFIX = `loom-agent-test-${randomBytes(4).toString('hex')}`;
const YARN = `${PREFIX}/kubepods/besteffort/hadoop-yarn`;
const CID = testContainerId;
const AM = CID(1);
const HOG = CID(2);
const IDLE = CID(3);
const NODE_ID = 'node-real:45454';
const HOG_SCRIPT = "process.stdin.once('data', () => { globalThis.keep = Buffer.alloc(200 * 1024 * 1024, 7); console.log('ready'); setInterval(() => {}, 1e6); });";

describe.skipIf(!probed.ok)('agent on real cgroups', () => {
  let cgs: NodeCgroups;
  let tmp: string;
  let fakeProc: string;
  let nm: http.Server | undefined;
  let agent: AgentHandle | undefined;
  const created: string[] = [];
  const children: ChildProcess[] = [];

  const alive = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null;
  const exited = (c: ChildProcess): Promise<NodeJS.Signals | null> =>
    !alive(c) ? Promise.resolve(c.signalCode) : new Promise((res) => c.once('exit', (_code, sig) => res(sig)));

  const mkdirs = (root: string, rel: string): void => mkdirsRecorded(root, rel, created);

  function start(cmd: string, args: string[], stdin = false): ChildProcess & { pid: number } {
    const c = spawn(cmd, args, { stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'ignore'] });
    children.push(c);
    if (c.pid === undefined) throw new Error(`spawn ${cmd} failed`);
    // The fake proc root shows this pid's real /proc entry (its cgroup file is the kernel's).
    fs.symlinkSync(`/proc/${c.pid}`, path.join(fakeProc, String(c.pid)));
    return c as ChildProcess & { pid: number };
  }

  function enter(id: string, pid: number): void {
    for (const d of cgs.container(id).all) fs.writeFileSync(path.join(d.dir, 'cgroup.procs'), String(pid));
  }

  function writeMeminfo(usedPercent: number): void {
    const total = 1024 * 1024; // kB: a 1 GiB node
    const available = Math.round(total * (1 - usedPercent / 100));
    const tmpFile = path.join(fakeProc, 'meminfo.tmp');
    fs.writeFileSync(tmpFile, `MemTotal:       ${total} kB\nMemFree:        ${available} kB\nMemAvailable:   ${available} kB\n`);
    fs.renameSync(tmpFile, path.join(fakeProc, 'meminfo'));
  }

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-agent-real-'));
    fakeProc = path.join(tmp, 'proc');
    fs.mkdirSync(fakeProc);
    fs.copyFileSync('/proc/mounts', path.join(fakeProc, 'mounts'));
    fs.copyFileSync('/proc/stat', path.join(fakeProc, 'stat'));
    writeMeminfo(50);
    cgs = NodeCgroups.open({ cgroupRoot: CGROUP_ROOT, procRoot: '/proc', yarnCgroupPath: YARN });
    const l = cgs.layout;
    const roots = new Set(['memory', 'cpu', 'cpuacct'].map((c) => l.controllerDirs[c]).filter((d): d is string => d !== undefined));
    if (l.unified) roots.add(l.unified.dir);
    for (const root of roots) for (const id of [AM, HOG, IDLE]) mkdirs(root, `${YARN}/${id}`);

    const list = [AM, HOG, IDLE].map((id) => ({
      id, state: 'RUNNING', exitCode: -1000, diagnostics: '', user: 'etl', totalMemoryNeededMB: 512, totalVCoresNeeded: 1,
      executionType: 'GUARANTEED', containerLogsLink: '', nodeId: NODE_ID, containerLogFiles: [],
    }));
    nm = http.createServer((req, res) => {
      const p = (req.url ?? '').split('?')[0];
      const body = p === '/ws/v1/node/info'
        ? { nodeInfo: { id: NODE_ID, nodeHostName: 'node-real', nmStartupTime: 1 } }
        : p === '/ws/v1/node/containers' ? { containers: { container: list } } : undefined;
      if (!body) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((r) => nm!.listen(0, '127.0.0.1', () => r()));
  });

  afterAll(async () => {
    await agent?.stop().catch(() => undefined);
    if (nm) {
      nm.closeAllConnections();
      await new Promise<void>((r) => nm!.close(() => r()));
    }
    for (const c of children) if (alive(c)) c.kill('SIGKILL');
    await Promise.all(children.map((c) => exited(c)));
    await removeCgroups(created);
    fs.rmSync(tmp, { recursive: true, force: true });
    for (const dir of created) expect(fs.existsSync(dir)).toBe(false);
  });

  it('memory pressure: kills exactly the container that allocates, nothing outside the hierarchy', async () => {
    const amProc = start('sleep', ['300']);
    const idle = start('sleep', ['300']);
    const hog = start(process.execPath, ['-e', HOG_SCRIPT], true);
    const lookSleep = start('sleep', ['300']);
    const lookHog = start(process.execPath, ['-e', HOG_SCRIPT], true); // same command line, never moved
    enter(AM, amProc.pid);
    enter(IDLE, idle.pid);
    enter(HOG, hog.pid); // before allocating: v1 charges pages to the cgroup at fault time
    const ready = new Promise<void>((res) => hog.stdout!.on('data', (b: Buffer) => b.toString().includes('ready') && res()));
    hog.stdin!.write('go\n');
    await ready;
    expect(readMemory(cgs.container(HOG)).workingSet).toBeGreaterThan(150 * 1024 * 1024);

    const lines: Record<string, unknown>[] = [];
    const logger = createLogger('test', { level: 'info' }, { write: (s: string) => { lines.push(JSON.parse(s) as Record<string, unknown>); } });
    agent = await startAgent({
      nodeName: 'node-real', nmUrl: `http://127.0.0.1:${(nm!.address() as AddressInfo).port}`, rmUrls: [],
      cgroupRoot: CGROUP_ROOT, procRoot: fakeProc, yarnCgroupPath: YARN,
      socket: path.join(tmp, 'run', 'copilot.sock'), socketMode: 0o600, metricsAddr: '', dryRun: false,
      tickMillis: 200, fastWatchMillis: 50,
      rules: { memoryEvictThresholdPercent: 70, memoryEvictLowerPercent: 69, victimOrder: 'largest-memory', gracePeriodSeconds: 2 },
    }, { logger });
    const deadline = Date.now() + 5000;
    while (!agent.latest() && Date.now() < deadline) await sleep(20);
    expect(agent.latest()?.containers.filter((c) => c.stats).map((c) => c.nm.id).sort()).toEqual([AM, HOG, IDLE]);
    expect(alive(hog)).toBe(true);

    // 71 % of a 1 GiB node used, lower 69 %: ≈ 21 MiB to release; the largest working set covers it.
    writeMeminfo(71);
    const sig = await Promise.race([exited(hog), sleep(10_000).then(() => 'timeout' as const)]);
    writeMeminfo(50); // the memory came back
    expect(sig).toBe('SIGTERM');
    await agent.settled();
    await sleep(400);
    expect(agent.evictions.map((e) => [e.containerId, e.reason, e.outcome, e.method])).toEqual([[HOG, 'memory', 'stopped', 'SIGTERM']]);
    expect(agent.evictions[0]!.signalledPids).toEqual([hog.pid]);
    for (const c of [amProc, idle, lookSleep, lookHog]) expect(alive(c)).toBe(true);
    expect(lines.some((l) => l.msg === 'evicting YARN container' && l.container === HOG)).toBe(true);
    await agent.stop();
    agent = undefined;
  });
});
