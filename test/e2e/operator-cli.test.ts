/**
 * End to end with real processes: `loom sim --nodes 3`, then `loom operator --once` (with and
 * without --dry-run) and `loom status` against it. The sim exits 0 on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connect, type KubeConnection } from '../../kube/connection.js';
import { KubeApi, paths, type KubeList, type KubeObject } from '../../kube/api.js';
import { ANNOTATION_THIRD_PARTY } from '../../kube/wire.js';
import { rmNode } from '../integration/operator-helpers.js';

const CLI = ['--import', 'tsx', 'cli/main.ts'];
const cwd = new URL('../..', import.meta.url).pathname;

interface SimLine { kubeconfig: string; apiServer: string; hadoopConfDir?: string; resourceManagers: string[]; nodes: { name: string; nodeId?: string }[] }

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...CLI, ...args], { cwd, env: { ...process.env, LOOM_LOG_LEVEL: 'info' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('loom operator --once against loom sim', () => {
  let sim: ChildProcess;
  let simExit: Promise<number | null>;
  let info: SimLine;
  let conn: KubeConnection;
  let api: KubeApi;
  let confDir: string;

  const state = async () => {
    const nodes = (await api.request<KubeList<KubeObject>>('GET', paths.nodes())).items;
    const out: Record<string, { claim: string | undefined; total: unknown }> = {};
    for (const n of nodes) {
      const name = n.metadata.name;
      out[name] = { claim: n.metadata.annotations?.[ANNOTATION_THIRD_PARTY], total: (await rmNode(info.resourceManagers[0]!, `${name}:8041`)).total };
    }
    return out;
  };

  beforeAll(async () => {
    sim = spawn(process.execPath, [...CLI, 'sim', '--nodes', '3'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    simExit = new Promise((r) => sim.on('exit', (code) => r(code)));
    const rl = createInterface({ input: sim.stdout! });
    info = await new Promise<SimLine>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('loom sim printed no JSON line in 30 s')), 30_000);
      rl.once('line', (l) => { clearTimeout(t); resolve(JSON.parse(l) as SimLine); });
      sim.once('exit', (code) => reject(new Error(`loom sim exited early with ${code}`)));
    });
    confDir = info.hadoopConfDir ?? '';
    expect(confDir).not.toBe('');
    conn = await connect(info.kubeconfig);
    api = new KubeApi(conn);
  }, 60_000);

  afterAll(async () => {
    await conn?.close();
    if (sim && sim.exitCode === null) sim.kill('SIGKILL');
  });

  test('--dry-run writes nothing', async () => {
    const before = await state();
    expect(Object.keys(before)).toHaveLength(3);
    const r = await run(['operator', '--once', '--dry-run', '--kubeconfig', info.kubeconfig, '--hadoop-conf-dir', confDir]);
    expect(r.stderr).not.toMatch(/loom operator:/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/dry run: nothing written/);
    expect(await state()).toEqual(before);
  }, 60_000);

  test('--once converges every node and exits 0', async () => {
    const r = await run(['operator', '--once', '--kubeconfig', info.kubeconfig, '--hadoop-conf-dir', confDir]);
    expect(r.code).toBe(0);
    const done = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'one reconcile done');
    expect(done).toMatchObject({ nodes: 3, problems: 0 });
    expect(done!.writes as number).toBeGreaterThanOrEqual(3);
    const after = await state();
    for (const [name, s] of Object.entries(after)) {
      expect(s.claim, name).toMatch(/hadoop-yarn/);
      expect(s.total, name).not.toEqual({ vcores: 8, memoryMiB: 16_384 });
    }
    // In sync: `loom status` (the ledger from scratch, no hysteresis) sees no drift on any node.
    const st = await run(['status', '--output', 'json', '--kubeconfig', info.kubeconfig, '--hadoop-conf-dir', confDir]);
    expect(st.code).toBe(0);
    const rows = JSON.parse(st.stdout) as { node: string; drift?: { vcores: number; memoryMiB: number }; claim?: unknown }[];
    expect(rows.map((x) => x.node)).toEqual(['node-1', 'node-2', 'node-3']);
    for (const row of rows) {
      expect(row.drift, row.node).toEqual({ vcores: 0, memoryMiB: 0 });
      expect(row.claim, row.node).toBeDefined();
    }
    // A second --once has nothing left to do.
    const again = await run(['operator', '--once', '--kubeconfig', info.kubeconfig, '--hadoop-conf-dir', confDir]);
    expect(again.code).toBe(0);
    const done2 = again.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'one reconcile done');
    expect(done2).toMatchObject({ nodes: 3, problems: 0, writes: 0 });
  }, 60_000);

  test('loom status prints a row per node', async () => {
    const st = await run(['status', '--kubeconfig', info.kubeconfig, '--hadoop-conf-dir', confDir]);
    expect(st.code).toBe(0);
    const lines = st.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NODE\s+ORIGIN/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['node-1', 'node-2', 'node-3']);
  }, 60_000);

  test('the sim exits 0 on SIGTERM', async () => {
    sim.kill('SIGTERM');
    expect(await simExit).toBe(0);
  }, 30_000);
});
