/**
 * `loom status` against the simulated cluster, through the real command line (`main`): it reads
 * exactly the settings its help lists, exits non-zero naming each YARN cluster whose RM is down,
 * and says it was Kubernetes when the API server cannot be reached.
 */
import { copyFileSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimWorld } from '../../sim/world.js';
import { main } from '../../cli/main.js';
import { commandSettingSpecs } from '../../cli/command-settings.js';
import { resolveSettings } from '../../settings/settings.js';
import { runStatusCommand } from '../../operator/status-command.js';
import { writeKubeconfig } from '../../sim/kube/kubeconfig.js';

let world: SimWorld;
let kubeconfig: string;
let confDir: string;

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Run with stdout and stderr captured. */
async function captured(run: () => Promise<number>): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const w1 = process.stdout.write.bind(process.stdout);
  const w2 = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((c: string) => { out.push(String(c)); return true; }) as typeof process.stdout.write;
  process.stderr.write = ((c: string) => { err.push(String(c)); return true; }) as typeof process.stderr.write;
  try {
    return { code: await run(), stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
  }
}

beforeAll(async () => {
  world = await SimWorld.start({ nodes: 2 });
  const d = world.describe();
  kubeconfig = d.kubeconfig;
  confDir = d.hadoopConfDir!;
}, 60_000);

afterAll(async () => {
  await world?.stop();
});

describe('loom status', () => {
  it('reads every setting its help lists, and no other', async () => {
    const specs = commandSettingSpecs.status;
    const values = resolveSettings({ specs, flags: { kubeconfig, hadoopConfDir: confDir, logLevel: 'silent' }, env: {} });
    const read = new Set<string>();
    const watched = new Proxy(values, { get: (t, k) => { if (typeof k === 'string') read.add(k); return t[k as string]; } });
    const r = await captured(() => runStatusCommand(watched));
    expect(r.code).toBe(0);
    // logLevel and logFormat are applied by the command line itself before the command runs.
    const listed = specs.map((s) => s.key).filter((k) => k !== 'logLevel' && k !== 'logFormat');
    expect([...read].sort()).toEqual([...listed].sort());
  });

  it('--help lists no operator-only flag', async () => {
    const r = await captured(() => main(['status', '--help']));
    expect(r.code).toBe(0);
    const flags = [...r.stdout.matchAll(/^\s+(?:-h, )?(--[a-z-]+)/gm)].map((m) => m[1]);
    expect(flags).toEqual([
      '--config', '--kubeconfig', '--hadoop-conf-dir', '--policy', '--headroom-share', '--safety-margin-percent', '--vcores-per-core',
      '--rm-user', '--rm-ca-file', '--rm-delegation-token-file', '--kerberos-principal', '--kerberos-keytab', '--kerberos-ticket-cache', '--kerberos-service-principal',
      '--rm-timeout-ms', '--event-namespace', '--output', '--log-level', '--log-format', '--help',
    ]);
  });

  it('exits 0 with a row per node when everything answers', async () => {
    const r = await captured(() => main(['status', '--kubeconfig', kubeconfig, '--hadoop-conf-dir', confDir]));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['node-1', 'node-2']);
  });

  it('exits 1 when a ResourceManager is down, still prints the table, and names the cluster', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loom-status-conf-'));
    for (const f of readdirSync(confDir).filter((n) => n.endsWith('.xml'))) copyFileSync(join(confDir, f), join(dir, f));
    const port = await closedPort();
    writeFileSync(join(dir, 'dead.yarn-site.xml'), `<configuration><property><name>yarn.resourcemanager.webapp.address</name><value>127.0.0.1:${port}</value></property></configuration>`);
    const r = await captured(() => main(['status', '--kubeconfig', kubeconfig, '--hadoop-conf-dir', dir, '--rm-timeout-ms', '1000']));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^NODE\s+ORIGIN/);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^loom status: YARN cluster dead: ResourceManager unavailable: .*127\\.0\\.0\\.1:${port}`));
    expect(lines[0]).not.toMatch(/cluster dead: cluster dead/);
  });

  it("reads the operator's own settings file (LOOM_CONFIG, as in the operator's pod, or --config): its policy decides the drift, operator-only keys are accepted", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loom-status-file-'));
    const file = join(dir, 'loom.yaml');
    // An operator's file as the chart renders it: ledger policy plus keys that mean nothing to status.
    writeFileSync(file, 'policy: partitioned\nheadroomShare: 0.2\nsafetyMarginPercent: 10\npollSeconds: 5\nleaderElection: false\nhysteresis:\n  cpuMilli: 500\nmetricsAddr: 127.0.0.1:0\noverCommitTimeoutMs: -1\n');
    const base = ['status', '--kubeconfig', kubeconfig, '--hadoop-conf-dir', confDir, '--output', 'json'];
    const drift = (out: string) => (JSON.parse(out) as { node: string; drift?: unknown }[]).map((r) => [r.node, r.drift]);
    const byFlags = await captured(() => main([...base, '--headroom-share', '0.2', '--safety-margin-percent', '10']));
    const byDefault = await captured(() => main(base));
    expect(byFlags.code).toBe(0);
    expect(drift(byFlags.stdout)).not.toEqual(drift(byDefault.stdout));
    const byConfig = await captured(() => main([...base, '--config', file]));
    expect(byConfig.stderr).toBe('');
    expect(byConfig.code).toBe(0);
    expect(drift(byConfig.stdout)).toEqual(drift(byFlags.stdout));
    process.env.LOOM_CONFIG = file;
    try {
      const byEnv = await captured(() => main(base));
      expect(byEnv.stderr).toBe('');
      expect(drift(byEnv.stdout)).toEqual(drift(byFlags.stdout));
    } finally {
      delete process.env.LOOM_CONFIG;
    }
    // A misspelt key is still refused, naming it and the key it resembles.
    writeFileSync(file, 'pollSecond: 5\n');
    const typo = await captured(() => main([...base, '--config', file]));
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/pollSecond.*unknown key \(did you mean "pollSeconds"\?\)/);
  });

  it('against a dead API server says it was Kubernetes that could not be reached', async () => {
    const port = await closedPort();
    const dead = await writeKubeconfig(mkdtempSync(join(tmpdir(), 'loom-status-kc-')), `http://127.0.0.1:${port}`, 't');
    const r = await captured(() => main(['status', '--kubeconfig', dead, '--hadoop-conf-dir', confDir]));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`loom status: Kubernetes API server http://127.0.0.1:${port} unreachable: connection refused (ECONNREFUSED) on GET /api/v1/nodes\n`);
  });
});

describe('help fits the terminal', () => {
  it.each(['', 'demo', 'operator', 'agent', 'sim', 'status'])('loom %s --help: every line ≤ 100 columns', async (sub) => {
    const r = await captured(() => main([...(sub ? [sub] : []), '--help']));
    expect(r.code).toBe(0);
    const long = r.stdout.split('\n').filter((l) => l.length > 100);
    expect(long).toEqual([]);
  });
});
