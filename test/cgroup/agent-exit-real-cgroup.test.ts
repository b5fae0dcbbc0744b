/**
 * A clean way out, on real cgroups: `loom agent` (a real process, the node's real /proc) limits
 * the CPU of a real YARN parent cgroup built under a unique prefix; on SIGTERM the kernel's files
 * show exactly what was there before it started (unlimited, or an administrator's limit with its
 * own period), and `--keep-limits-on-exit` leaves the agent's limit in place.
 *
 * The CPU limit lives wherever this machine's cpu controller is: v1 `cpu.cfs_quota_us` /
 * `cpu.cfs_period_us` on v1 and hybrid hosts, v2 `cpu.max` on unified hosts. Runs only as root
 * with writable cgroups; otherwise skipped with a one-line reason.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CGROUP_ROOT, mkdirsRecorded, probeRealCgroups, removeCgroups } from './real-cgroups.js';
import { NodeCgroups } from '../../cgroup/index.js';
import { until } from '../integration/process-wait.js';

const probed = probeRealCgroups();
if (!probed.ok) console.log(`skipped (agent exit on real cgroups): ${probed.reason}`);
const unifiedControllers = (() => {
  try {
    return fs.readFileSync(path.join(CGROUP_ROOT, 'unified', 'cgroup.controllers'), 'utf8').trim().split(/\s+/);
  } catch {
    return undefined;
  }
})();
if (probed.ok && unifiedControllers && !unifiedControllers.includes('cpu')) {
  console.log('agent exit on real cgroups: the cpu controller is bound to cgroup v1 on this hybrid host, so the real test covers v1 cpu.cfs_quota_us; the simulated v2 node covers cpu.max');
}

const CLI = ['--import', 'tsx', 'cli/main.ts'];
const cwd = path.join(import.meta.dirname, '..', '..');
const YARN = `loom-exit-test-${randomBytes(4).toString('hex')}/kubepods/besteffort/hadoop-yarn`;

describe.skipIf(!probed.ok)('the agent leaves no CPU limit behind on exit (real cgroups)', () => {
  const created: string[] = [];
  const children: ChildProcess[] = [];
  let tmp: string;
  let nm: http.Server;
  let nmUrl: string;
  let cpuDir: string;
  let version: 1 | 2;

  const exited = (p: ChildProcess): Promise<number | null> =>
    p.exitCode !== null ? Promise.resolve(p.exitCode) : new Promise((r) => p.once('exit', (code) => r(code)));

  /** The raw bandwidth as "quota period", straight from the kernel's files. */
  const bandwidth = (): string => (version === 1
    ? `${fs.readFileSync(path.join(cpuDir, 'cpu.cfs_quota_us'), 'utf8').trim()} ${fs.readFileSync(path.join(cpuDir, 'cpu.cfs_period_us'), 'utf8').trim()}`
    : fs.readFileSync(path.join(cpuDir, 'cpu.max'), 'utf8').trim().replace(/^max/, '-1'));

  const setBandwidth = (quota: number, period: number): void => {
    if (version === 1) {
      fs.writeFileSync(path.join(cpuDir, 'cpu.cfs_quota_us'), '-1');
      fs.writeFileSync(path.join(cpuDir, 'cpu.cfs_period_us'), String(period));
      fs.writeFileSync(path.join(cpuDir, 'cpu.cfs_quota_us'), String(quota));
    } else {
      fs.writeFileSync(path.join(cpuDir, 'cpu.max'), `${quota < 0 ? 'max' : quota} ${period}`);
    }
  };

  function startAgent(name: string, extra: string[] = []): { agent: ChildProcess; log: () => string } {
    let log = '';
    const agent = spawn(process.execPath, [...CLI, 'agent',
      '--node-name', 'node-real', '--nm-url', nmUrl, '--cgroup-root', CGROUP_ROOT, '--proc-root', '/proc',
      '--yarn-cgroup-path', YARN, '--socket', path.join(tmp, `${name}.sock`), '--metrics-addr', '127.0.0.1:0', '--tick-millis', '100',
      // 10 % of the node minus its other use is below one core: the rule sets the one-core hard minimum whatever the load.
      '--cpu-suppress-threshold-percent', '10', '--memory-evict-threshold-percent', '99', ...extra,
    ], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOOM_LOG_LEVEL: 'info' } });
    children.push(agent);
    agent.stdout!.on('data', (c) => { log += String(c); });
    agent.stderr!.on('data', (c) => { log += String(c); });
    return { agent, log: () => log };
  }

  async function limitedThenStopped(name: string, extra: string[] = []): Promise<{ during: string; after: string; log: string }> {
    const before = bandwidth();
    const { agent, log } = startAgent(name, extra);
    await until(() => bandwidth() !== before, `the agent's CPU limit; agent log:\n${log().slice(-1500)}`, 20_000);
    const during = bandwidth();
    agent.kill('SIGTERM');
    expect(await exited(agent)).toBe(0);
    return { during, after: bandwidth(), log: log() };
  }

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-exit-real-'));
    const cgs = NodeCgroups.open({ cgroupRoot: CGROUP_ROOT, procRoot: '/proc', yarnCgroupPath: YARN });
    const l = cgs.layout;
    const roots = new Set(['memory', 'cpu', 'cpuacct'].map((c) => l.controllerDirs[c]).filter((d): d is string => d !== undefined));
    if (l.unified) roots.add(l.unified.dir);
    for (const root of roots) mkdirsRecorded(root, YARN, created);
    const cpu = cgs.yarnParent().cpu!;
    cpuDir = cpu.dir;
    version = cpu.hierarchy.version;
    nm = http.createServer((req, res) => {
      const p = (req.url ?? '').split('?')[0];
      const body = p === '/ws/v1/node/info' ? { nodeInfo: { id: 'node-real:45454', nodeHostName: 'node-real', nmStartupTime: 1 } }
        : p === '/ws/v1/node/containers' ? { containers: null } : undefined;
      if (!body) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((r) => nm.listen(0, '127.0.0.1', () => r()));
    nmUrl = `http://127.0.0.1:${(nm.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await Promise.all(children.map(exited));
    nm?.closeAllConnections();
    await new Promise<void>((r) => (nm ? nm.close(() => r()) : r()));
    await removeCgroups(created);
    fs.rmSync(tmp, { recursive: true, force: true });
    for (const dir of created) expect(fs.existsSync(dir)).toBe(false);
  });

  it('unlimited before: unlimited again after SIGTERM', async () => {
    expect(bandwidth()).toBe('-1 100000');
    const r = await limitedThenStopped('unlimited');
    expect(r.during).toBe('100000 100000'); // one core
    expect(r.after).toBe('-1 100000');
    expect(r.log).toMatch(/YARN parent CPU limit restored to what the agent found/);
  }, 40_000);

  it("an administrator's limit (1.5 cores at a 50 ms period): exactly that again after SIGTERM", async () => {
    setBandwidth(75_000, 50_000);
    const r = await limitedThenStopped('admin');
    expect(r.during).toBe('50000 50000'); // one core, the period kept
    expect(r.after).toBe('75000 50000');
  }, 40_000);

  it('--keep-limits-on-exit: the agent\'s limit stays', async () => {
    setBandwidth(-1, 100_000);
    const r = await limitedThenStopped('keep', ['--keep-limits-on-exit']);
    expect(r.after).toBe(r.during);
    expect(r.after).toBe('100000 100000');
    setBandwidth(-1, 100_000);
  }, 40_000);
});
