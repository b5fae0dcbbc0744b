/**
 * A clean way out, on the simulated node: `loom agent` (a real process) against a node of
 * `loom sim` sets a CPU limit on the YARN parent cgroup; on SIGTERM it puts back exactly what it
 * found there (unlimited on the v2 node, a limit someone else had set on the v1 node), unless
 * `--keep-limits-on-exit`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, test } from 'vitest';
import { NodeCgroups } from '../../cgroup/index.js';
import { until } from '../integration/process-wait.js';

const CLI = ['--import', 'tsx', 'cli/main.ts'];
const cwd = join(import.meta.dirname, '..', '..');

interface SimNode { name: string; nodeManager: string; cgroupRoot: string; procRoot: string; yarnCgroupPath: string }

const children: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'loom-agent-exit-'));

function exited(p: ChildProcess): Promise<number | null> {
  return p.exitCode !== null ? Promise.resolve(p.exitCode) : new Promise((r) => p.once('exit', (code) => r(code)));
}

async function startSim(layout: 'v1' | 'v2'): Promise<{ sim: ChildProcess; node: SimNode }> {
  const sim = spawn(process.execPath, [...CLI, 'sim', '--nodes', '1', '--layout', layout], { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(sim);
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: sim.stdout! }).once('line', resolve);
    sim.once('exit', (code) => reject(new Error(`loom sim exited ${code}`)));
  });
  return { sim, node: (JSON.parse(line) as { nodes: SimNode[] }).nodes[0]! };
}

/** The YARN parent's CPU bandwidth files, raw, as the kernel (here: the simulator) shows them. */
function cpuFiles(node: SimNode): () => string {
  const d = NodeCgroups.open({ cgroupRoot: node.cgroupRoot, procRoot: node.procRoot, yarnCgroupPath: node.yarnCgroupPath, filesystem: 'simulated' }).yarnParent().cpu!;
  return d.hierarchy.version === 1
    ? () => `${readFileSync(join(d.dir, 'cpu.cfs_quota_us'), 'utf8').trim()} ${readFileSync(join(d.dir, 'cpu.cfs_period_us'), 'utf8').trim()}`
    : () => readFileSync(join(d.dir, 'cpu.max'), 'utf8').trim();
}

function startAgent(node: SimNode, name: string, extra: string[] = []): { agent: ChildProcess; log: () => string } {
  let log = '';
  const agent = spawn(process.execPath, [...CLI, 'agent',
    '--node-name', node.name, '--nm-url', node.nodeManager, '--cgroup-root', node.cgroupRoot, '--proc-root', node.procRoot, '--simulated-cgroups',
    '--yarn-cgroup-path', node.yarnCgroupPath, '--socket', join(dir, `${name}.sock`), '--metrics-addr', '127.0.0.1:0',
    '--tick-millis', '100',
    // A low threshold: the idle simulated node's own use makes the suppression rule limit YARN at once.
    '--cpu-suppress-threshold-percent', '10', '--memory-evict-threshold-percent', '99', ...extra,
  ], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOOM_LOG_LEVEL: 'info' } });
  children.push(agent);
  agent.stdout!.on('data', (c) => { log += String(c); });
  agent.stderr!.on('data', (c) => { log += String(c); });
  return { agent, log: () => log };
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(children.map(exited));
  rmSync(dir, { recursive: true, force: true });
});

describe('the agent leaves no CPU limit behind on exit (simulated node)', () => {
  test('v2: cpu.max goes back to "max" on SIGTERM', async () => {
    const { sim, node } = await startSim('v2');
    const cpu = cpuFiles(node);
    const found = cpu();
    expect(found).toBe('max 100000');
    const { agent, log } = startAgent(node, 'v2');
    await until(() => cpu() !== found, `a CPU limit on the YARN parent; agent log:\n${log().slice(-1500)}`, 20_000);
    expect(cpu()).toMatch(/^\d+ 100000$/);
    agent.kill('SIGTERM');
    expect(await exited(agent)).toBe(0);
    expect(cpu()).toBe(found);
    const restored = log().split('\n').filter((l) => l.includes('restored')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(restored).toHaveLength(1);
    expect(restored[0]).toMatchObject({ component: 'agent.cpu', restored: { quotaUs: null, periodUs: 100000 } });
    sim.kill('SIGTERM');
    expect(await exited(sim)).toBe(0);
  }, 60_000);

  test('v1: a limit someone else had set is put back exactly; --keep-limits-on-exit leaves ours', async () => {
    const { sim, node } = await startSim('v1');
    const cpu = cpuFiles(node);
    const d = NodeCgroups.open({ cgroupRoot: node.cgroupRoot, procRoot: node.procRoot, yarnCgroupPath: node.yarnCgroupPath, filesystem: 'simulated' }).yarnParent().cpu!;
    // An administrator's 7.5-core cap with a 50 ms period, written before the agent starts.
    writeFileSync(join(d.dir, 'cpu.cfs_period_us'), '50000');
    writeFileSync(join(d.dir, 'cpu.cfs_quota_us'), '375000');
    const found = cpu();
    expect(found).toBe('375000 50000');

    const first = startAgent(node, 'v1a');
    await until(() => cpu() !== found, `a CPU limit on the YARN parent; agent log:\n${first.log().slice(-1500)}`, 20_000);
    first.agent.kill('SIGTERM');
    expect(await exited(first.agent)).toBe(0);
    expect(cpu()).toBe(found);

    const second = startAgent(node, 'v1b', ['--keep-limits-on-exit']);
    await until(() => cpu() !== found, `a CPU limit on the YARN parent; agent log:\n${second.log().slice(-1500)}`, 20_000);
    const ours = cpu();
    second.agent.kill('SIGTERM');
    expect(await exited(second.agent)).toBe(0);
    expect(cpu()).toBe(ours);
    expect(second.log()).toMatch(/--keep-limits-on-exit/);
    sim.kill('SIGTERM');
    expect(await exited(sim)).toBe(0);
  }, 60_000);
});
