/**
 * `loom agent` as a user runs it: a real process started with only the design's flags against a
 * node of `loom sim` (itself a real process), answering on its unix socket and metrics port, and
 * evicting a container of that node when its memory crosses the threshold.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const CLI = ['--import', 'tsx', 'cli/main.ts'];
const cwd = join(import.meta.dirname, '..', '..');

interface SimLine { nodes: { name: string; nodeManager: string; cgroupRoot: string; procRoot: string; yarnCgroupPath: string }[]; resourceManagers: string[] }

let sim: ChildProcess;
let agent: ChildProcess;
let line: SimLine;
const dir = mkdtempSync(join(tmpdir(), 'loom-agent-cli-'));
const socket = join(dir, 'copilot.sock');
let agentLog = '';

function exited(p: ChildProcess): Promise<number | null> {
  return p.exitCode !== null ? Promise.resolve(p.exitCode) : new Promise((r) => p.once('exit', (code) => r(code)));
}

function socketGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath: socket, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (c) => { body += String(c); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; agent log:\n${agentLog.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  sim = spawn(process.execPath, [...CLI, 'sim', '--nodes', '2'], { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
  line = JSON.parse(await new Promise<string>((resolve, reject) => {
    createInterface({ input: sim.stdout! }).once('line', resolve);
    sim.once('exit', (code) => reject(new Error(`loom sim exited ${code}`)));
  })) as SimLine;
  const n = line.nodes[0]!;
  agent = spawn(process.execPath, [...CLI, 'agent',
    '--node-name', n.name, '--nm-url', n.nodeManager, '--cgroup-root', n.cgroupRoot, '--proc-root', n.procRoot, '--simulated-cgroups',
    '--yarn-cgroup-path', n.yarnCgroupPath, '--socket', socket, '--metrics-addr', '127.0.0.1:0',
    // The simulated node idles far below 70 %; a low threshold makes its steady memory use a pressure.
    '--memory-evict-threshold-percent', '5', '--memory-evict-lower-percent', '4.9', '--memory-emergency-percent', '99',
    '--max-evictions-per-minute', '1',
  ], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOOM_LOG_LEVEL: 'info' } });
  agent.stdout!.on('data', (c) => { agentLog += String(c); });
  agent.stderr!.on('data', (c) => { agentLog += String(c); });
}, 60_000);

afterAll(async () => {
  agent?.kill('SIGTERM');
  sim?.kill('SIGTERM');
  await Promise.all([agent && exited(agent), sim && exited(sim)]);
  rmSync(dir, { recursive: true, force: true });
});

describe('loom agent against loom sim', () => {
  it('serves the yarn-copilot API on its socket with the node\'s live containers', async () => {
    const info = await waitFor(async () => {
      const r = await socketGet('/information');
      return r.status === 200 ? r.body : undefined;
    }, 30_000, 'the agent socket');
    expect(JSON.parse(info)).toEqual({ name: 'yarn', version: 'v1' });
    expect((await socketGet('/health')).status).toBe(200);
    // The socket answers before the first collection has finished: wait for the list to fill.
    const list = await waitFor(async () => {
      const l = JSON.parse((await socketGet('/v1/containers')).body) as { name: string; namespace: string; cgroupDir: string }[];
      return l.length > 0 ? l : undefined;
    }, 30_000, 'a non-empty container list');
    for (const c of list) {
      expect(c.name).toMatch(/^container_(e\d+_)?\d+_\d+_\d+_\d+$/);
      expect(c.namespace).toBe('yarn');
      expect(c.cgroupDir).toBe(`kubepods/besteffort/hadoop-yarn/${c.name}`);
    }
  }, 40_000);

  it('evicts a YARN container of its node under memory pressure, never an ApplicationMaster', async () => {
    const evicted = await waitFor(() => {
      const m = /"component":"agent\.evictor"[^\n]*"container":"(container_[0-9_e]+)"[^\n]*"msg":"YARN container stopped"/.exec(agentLog);
      return m ? m[1] : undefined;
    }, 30_000, 'an eviction log line');
    expect(evicted).not.toMatch(/_000001$/);
    expect(agent.exitCode).toBeNull();
  }, 40_000);

  it('stops on SIGTERM with exit 0 and removes its socket; loom sim does too', async () => {
    agent.kill('SIGTERM');
    expect(await exited(agent)).toBe(0);
    await expect(socketGet('/health')).rejects.toThrow();
    sim.kill('SIGTERM');
    expect(await exited(sim)).toBe(0);
  }, 30_000);
});
