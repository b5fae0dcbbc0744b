/**
 * The least-privilege agent: `loom agent` as root with exactly CAP_KILL and CAP_DAC_OVERRIDE
 * (everything else out of its bounding set, through util-linux `setpriv`) on real cgroups, laid
 * out as a NodeManager leaves them: the YARN parent and container cgroups (v1 cpu, cpuacct,
 * memory and the v2 unified tree) owned by the NodeManager's user, container processes running
 * as the application's user. With that set the agent collects, suppresses YARN's CPU and evicts
 * under memory pressure. Without CAP_DAC_OVERRIDE it cannot write the YARN parent's CPU limit
 * (a file of the NodeManager's user); without CAP_KILL it cannot SIGTERM a container process of
 * another user. The agent keeps running in every case. Root with writable cgroups only;
 * otherwise skipped with one printed reason.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CGROUP_ROOT, mkdirsRecorded, probeRealCgroups, removeCgroups, testContainerId } from './real-cgroups.js';
import { NodeCgroups } from '../../cgroup/index.js';
import { installDebianPackage } from '../debian-package.js';
import { waitFor } from '../integration/operator-helpers.js';

/** The set this suite proves; the chart's DaemonSet and docs/operations.md "Permissions" must say the same. */
const AGENT_CAPABILITIES = ['KILL', 'DAC_OVERRIDE'];

const HOG = "process.stdin.once('data', () => { globalThis.keep = Buffer.alloc(64 * 1024 * 1024, 7); console.log('ready'); setInterval(() => {}, 1e6); });";
const NM_UID = 1000; // the NodeManager's user: owns the YARN cgroups
const APP_UID = 61001; // the application's user: runs the container processes

function why(): string | undefined {
  const p = probeRealCgroups();
  if (!p.ok) return p.reason;
  if (!fs.existsSync('/usr/bin/setpriv') && installDebianPackage('util-linux')) return 'setpriv (util-linux) is missing and cannot be installed';
  try {
    execFileSync('setpriv', ['--bounding-set=-all,+kill', '--', 'true'], { stdio: 'ignore' });
  } catch (err) {
    return `setpriv cannot shrink the bounding set here: ${(err as Error).message.split('\n')[0]}`;
  }
  return undefined;
}
const skip = why();
if (skip) console.log(`skipped (agent capabilities on real cgroups): ${skip}`);

const PREFIX = `loom-caps-test-${randomBytes(4).toString('hex')}`;
const YARN = `${PREFIX}/kubepods/besteffort/hadoop-yarn`;
const repo = path.join(import.meta.dirname, '..', '..');

describe('the capability set, as the chart and the docs give it', () => {
  it('is the set this suite proves', () => {
    const values = parseYaml(fs.readFileSync(path.join(repo, 'charts', 'loom', 'values.yaml'), 'utf8')) as { agent: { capabilities: string[] } };
    expect([...values.agent.capabilities].sort()).toEqual([...AGENT_CAPABILITIES].sort());
    const docs = fs.readFileSync(path.join(repo, 'docs', 'operations.md'), 'utf8');
    const section = docs.slice(docs.indexOf('### Linux capabilities of the agent'), docs.indexOf('## Kerberos'));
    const table = [...section.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]!);
    expect(table.sort()).toEqual([...AGENT_CAPABILITIES].sort());
    expect(docs).toContain(`as root with the capabilities\n  ${AGENT_CAPABILITIES.map((c) => `\`${c}\``).join(' and ')} only`);
  });
});

describe.skipIf(skip !== undefined)('the agent under exactly its capabilities', () => {
  let tmp: string;
  let cgs: NodeCgroups;
  let nm: http.Server;
  const created: string[] = [];
  const children: ChildProcess[] = [];
  const timers: NodeJS.Timeout[] = [];
  let seq = 10;

  const alive = (c: ChildProcess): boolean => c.exitCode === null && c.signalCode === null;

  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-caps-'));
    cgs = NodeCgroups.open({ cgroupRoot: CGROUP_ROOT, procRoot: '/proc', yarnCgroupPath: YARN });
    nm = http.createServer((req, res) => res.writeHead(404).end());
    await new Promise<void>((r) => nm.listen(0, '127.0.0.1', () => r()));
  });

  afterAll(async () => {
    for (const t of timers) clearInterval(t);
    for (const c of children) if (alive(c)) c.kill('SIGKILL');
    await Promise.all(children.map((c) => (alive(c) ? new Promise((r) => c.once('exit', r)) : undefined)));
    nm?.closeAllConnections();
    await new Promise<void>((r) => nm?.close(() => r()));
    await removeCgroups(created);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** A fresh node: YARN hierarchy owned by the NM user, one container process of the app user, a fake /proc showing memory use. */
  function node(): { id: string; proc: string; victim: ChildProcess & { pid: number }; ready: Promise<void>; cpuQuota: string; usedPercent(p: number): void; containers: unknown[] } {
    const id = testContainerId(seq++);
    const l = cgs.layout;
    const roots = new Set(['memory', 'cpu', 'cpuacct'].map((c) => l.controllerDirs[c]).filter((d): d is string => d !== undefined));
    if (l.unified) roots.add(l.unified.dir);
    for (const root of roots) {
      mkdirsRecorded(root, `${YARN}/${id}`, created);
      // As the NodeManager leaves them: its user owns the YARN parent, each container and their files.
      for (const rel of [YARN, `${YARN}/${id}`]) {
        const dir = path.join(root, rel);
        fs.chownSync(dir, NM_UID, NM_UID);
        for (const f of fs.readdirSync(dir)) {
          const file = path.join(dir, f);
          if (fs.statSync(file).isFile()) fs.chownSync(file, NM_UID, NM_UID);
        }
      }
    }
    const proc = fs.mkdtempSync(path.join(tmp, 'proc-'));
    fs.copyFileSync('/proc/mounts', path.join(proc, 'mounts'));
    // Real CPU times, refreshed (the agent follows no symlink): suppression needs their deltas.
    const copyStat = (): void => {
      fs.writeFileSync(path.join(proc, 'stat.tmp'), fs.readFileSync('/proc/stat'));
      fs.renameSync(path.join(proc, 'stat.tmp'), path.join(proc, 'stat'));
    };
    copyStat();
    const refresh = setInterval(copyStat, 100);
    timers.push(refresh);
    const usedPercent = (p: number): void => {
      const total = 1024 * 1024;
      const available = Math.round(total * (1 - p / 100));
      fs.writeFileSync(path.join(proc, 'meminfo.tmp'), `MemTotal:       ${total} kB\nMemFree:        ${available} kB\nMemAvailable:   ${available} kB\n`);
      fs.renameSync(path.join(proc, 'meminfo.tmp'), path.join(proc, 'meminfo'));
    };
    usedPercent(50);
    const victim = spawn(process.execPath, ['-e', HOG], { uid: APP_UID, gid: APP_UID, stdio: ['pipe', 'pipe', 'ignore'] }) as ChildProcess & { pid: number };
    children.push(victim);
    fs.symlinkSync(`/proc/${victim.pid}`, path.join(proc, String(victim.pid)));
    // In its cgroups before it allocates: v1 charges pages to the cgroup at fault time.
    for (const d of cgs.container(id).all) fs.writeFileSync(path.join(d.dir, 'cgroup.procs'), String(victim.pid));
    const ready = new Promise<void>((res) => victim.stdout!.on('data', (b: Buffer) => b.toString().includes('ready') && res()));
    victim.stdin!.write('go\n');
    const cpuDir = l.controllerDirs.cpu!;
    const containers = [{
      id, state: 'RUNNING', exitCode: -1000, diagnostics: '', user: 'etl', totalMemoryNeededMB: 512, totalVCoresNeeded: 1,
      executionType: 'GUARANTEED', containerLogsLink: '', nodeId: 'node-caps:45454', containerLogFiles: [],
    }];
    return { id, proc, victim, ready, cpuQuota: path.join(cpuDir, YARN, 'cpu.cfs_quota_us'), usedPercent, containers };
  }

  /** `loom agent` as root with exactly `caps` (bounding, permitted and effective), against `n`. */
  async function agentWith(caps: string[], n: ReturnType<typeof node>) {
    nm.removeAllListeners('request');
    nm.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const p = (req.url ?? '').split('?')[0];
      const body = p === '/ws/v1/node/info' ? { nodeInfo: { id: 'node-caps:45454', nodeHostName: 'node-caps', nmStartupTime: 1 } }
        : p === '/ws/v1/node/containers' ? { containers: { container: n.containers } } : undefined;
      if (!body) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    let log = '';
    const bounding = ['-all', ...caps.map((c) => `+${c.toLowerCase()}`)].join(',');
    const agent = spawn('setpriv', [`--bounding-set=${bounding}`, '--inh-caps=-all', '--',
      process.execPath, '--import', 'tsx', 'cli/main.ts', 'agent',
      '--node-name', 'node-caps', '--nm-url', `http://127.0.0.1:${(nm.address() as AddressInfo).port}`,
      '--cgroup-root', CGROUP_ROOT, '--proc-root', n.proc, '--yarn-cgroup-path', YARN,
      '--socket', path.join(n.proc, 'copilot.sock'), '--metrics-addr', '127.0.0.1:0', '--tick-millis', '200',
      '--memory-evict-threshold-percent', '70', '--memory-evict-lower-percent', '69', '--grace-period-seconds', '1', '--victim-order', 'largest-memory',
      '--cpu-suppress-threshold-percent', '40',
    ], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOOM_LOG_LEVEL: 'info' } });
    children.push(agent);
    agent.stdout!.on('data', (c) => { log += String(c); });
    agent.stderr!.on('data', (c) => { log += String(c); });
    const lines = () => log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    await waitFor(() => lines().some((l) => l.msg === 'node agent starting') || agent.exitCode !== null, 30_000, 'the agent to start');
    expect(agent.exitCode, log).toBeNull();
    return {
      agent, lines, log: () => log,
      capEff: () => (fs.readFileSync(`/proc/${agent.pid}/status`, 'utf8').match(/CapEff:\s*(\S+)/)?.[1] ?? ''),
      stop: async () => {
        const exited = new Promise((r) => agent.once('exit', r));
        agent.kill('SIGTERM');
        await exited;
      },
    };
  }

  /** Evict under memory pressure: the victim dies (SIGTERM) or the agent says the eviction failed. */
  async function pressure(n: ReturnType<typeof node>, a: Awaited<ReturnType<typeof agentWith>>): Promise<'evicted' | 'failed'> {
    await n.ready;
    n.usedPercent(72); // of a 1 GiB node: ≈ 30 MiB over the lower mark, which the 64 MiB container covers
    const outcome = await waitFor(() => {
      if (!alive(n.victim)) return 'evicted' as const;
      if (a.lines().some((l) => l.msg === 'eviction failed: the container may be picked again')) return 'failed' as const;
      return undefined;
    }, 30_000, `an eviction outcome (log: ${a.log().slice(-800)})`);
    n.usedPercent(50);
    return outcome;
  }

  it('with CAP_KILL and CAP_DAC_OVERRIDE only: collects, limits YARN\'s CPU and evicts', async () => {
    const n = node();
    const a = await agentWith(AGENT_CAPABILITIES, n);
    try {
      // KILL is bit 5, DAC_OVERRIDE bit 1: 0x22 and nothing else.
      expect(BigInt(`0x${a.capEff()}`)).toBe(0x22n);
      await waitFor(() => fs.readFileSync(n.cpuQuota, 'utf8').trim() !== '-1', 20_000, 'the YARN CPU limit').catch((err: Error) => {
        throw new Error(`${err.message}; agent log: ${a.lines().filter((l) => l.msg !== 'node agent starting').map((l) => JSON.stringify(l)).join('\n').slice(-3000)}`);
      });
      expect(await pressure(n, a)).toBe('evicted');
      expect(n.victim.signalCode).toBe('SIGTERM');
      expect(a.log()).not.toMatch(/EACCES|EPERM/);
      expect(a.agent.exitCode).toBeNull();
    } finally {
      await a.stop();
    }
  }, 90_000);

  it('without CAP_DAC_OVERRIDE it cannot limit YARN\'s CPU (the parent cgroup is the NodeManager user\'s)', async () => {
    const n = node();
    const a = await agentWith(['KILL'], n);
    try {
      await waitFor(() => a.lines().find((l) => l.msg === 'cannot set the YARN parent CPU limit'), 20_000, `the CPU limit failure (log: ${a.log().slice(-800)})`);
      expect(a.log()).toMatch(/EACCES/);
      expect(fs.readFileSync(n.cpuQuota, 'utf8').trim()).toBe('-1');
      expect(a.agent.exitCode).toBeNull();
    } finally {
      await a.stop();
    }
  }, 90_000);

  it('without CAP_KILL it cannot stop a container process of another user', async () => {
    const n = node();
    const a = await agentWith(['DAC_OVERRIDE'], n);
    try {
      await waitFor(() => fs.readFileSync(n.cpuQuota, 'utf8').trim() !== '-1', 20_000, 'the YARN CPU limit');
      expect(await pressure(n, a)).toBe('failed');
      expect(a.log()).toMatch(/EPERM/);
      expect(alive(n.victim)).toBe(true);
      expect(a.agent.exitCode).toBeNull();
    } finally {
      await a.stop();
    }
  }, 90_000);
});
