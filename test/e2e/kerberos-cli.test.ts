/**
 * Kerberos end to end with real processes and a real MIT KDC: `loom operator --once` with a keytab
 * converges every node of a kerberized HA pair; no credentials, a stale keytab, an unknown
 * principal and a wrong service principal each stop it with one line naming Kerberos, having
 * written nothing; `loom agent` reads a kerberized NodeManager.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SimWorld } from '../../sim/world.js';
import { SpnegoFilter } from '../../sim/yarn/index.js';
import { claimOf, nodeWrites, waitFor } from '../integration/operator-helpers.js';
import { REALM, TestKdc, kerberosAvailable, kerberosBinding } from '../kdc.js';

const unavailable = kerberosAvailable();
if (unavailable) console.log(`skipping the Kerberos end-to-end suite: ${unavailable}`);

const CLI = ['--import', 'tsx', 'cli/main.ts'];
/** An RM delegation token's URL-safe string (the shape Hadoop's Token.encodeToUrlString writes). */
const TOKEN = 'HgAKbG9vbS1vcGVyYXRvcgRsb29tAIoBjJ2m9sSKAYzBs3rEAQKUT0pS9j8wQnFf0fNBWmMYXb9qTRRSTV9ERUxFR0FUSU9OX1RPS0VOAA';
const cwd = new URL('../..', import.meta.url).pathname;

describe.skipIf(unavailable !== undefined)('loom operator and loom agent against a kerberized YARN', () => {
  let kdc: TestKdc;
  let world: SimWorld;
  let filter: SpnegoFilter;
  let opKeytab: string;
  let agentKeytab: string;
  let staleKeytab: string;
  let ghostKeytab: string;
  const dir = mkdtempSync(join(tmpdir(), 'loom-kerberos-cli-'));
  const envBefore = { ...process.env };

  beforeAll(async () => {
    kdc = await TestKdc.start();
    kdc.addPrincipal('HTTP/localhost');
    kdc.addPrincipal('HTTP/127.0.0.1');
    const httpKeytab = kdc.keytab('HTTP/localhost');
    kdc.addPrincipal('loom/operator');
    opKeytab = kdc.keytab('loom/operator');
    kdc.addPrincipal('loom/agent');
    agentKeytab = kdc.keytab('loom/agent');
    kdc.addPrincipal('loom/stale');
    staleKeytab = kdc.keytab('loom/stale', join(kdc.dir, 'stale-old.keytab'));
    kdc.keytab('loom/stale', join(kdc.dir, 'stale-new.keytab'));
    kdc.addPrincipal('loom/ghost');
    ghostKeytab = kdc.keytab('loom/ghost');
    kdc.kadmin(`delprinc -force loom/ghost@${REALM}`);
    process.env.KRB5_CONFIG = kdc.krb5Conf;
    process.env.KRB5RCACHEDIR = kdc.dir;
    // The RMs also take one delegation token (as an RM that issued it would), owned by Loom's operator principal.
    filter = new SpnegoFilter({ keytab: httpKeytab, clock: { now: () => Date.now() }, binding: kerberosBinding(), delegationTokens: new Map([[TOKEN, `loom/operator@${REALM}`]]) });
    world = await SimWorld.start({ nodes: 3, ha: true, spnego: filter, dir: join(dir, 'world') });
  }, 120_000);

  afterAll(async () => {
    await world?.stop();
    await kdc?.stop();
    for (const k of Object.keys(process.env)) if (!(k in envBefore)) delete process.env[k];
    Object.assign(process.env, envBefore);
    rmSync(dir, { recursive: true, force: true });
  });

  function loom(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const p = spawn(process.execPath, [...CLI, ...args], { cwd, env: { ...process.env, KRB5_CONFIG: kdc.krb5Conf, LOOM_LOG_LEVEL: 'info' } });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
      p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      p.on('error', reject);
      p.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  const operatorArgs = () => ['operator', '--once', '--kubeconfig', world.kube.kubeconfigPath, '--hadoop-conf-dir', world.hadoopConfDir];
  const resizes = () => world.yarn.cluster.counters.get('rm.resize');

  test('each credential problem stops the operator with one line naming Kerberos, and nothing is written', async () => {
    const cases: { args: string[]; message: RegExp }[] = [
      { args: [], message: /^loom operator: Kerberos: http:\/\/localhost:\d+ requires Kerberos \(401 WWW-Authenticate: Negotiate\) and none is configured/ },
      { args: ['--kerberos-principal', `loom/stale@${REALM}`, '--kerberos-keytab', staleKeytab], message: /^loom operator: Kerberos: the keys in .*stale-old\.keytab do not match the KDC's for loom\/stale@LOOM\.TEST/ },
      { args: ['--kerberos-principal', `loom/ghost@${REALM}`, '--kerberos-keytab', ghostKeytab], message: /^loom operator: Kerberos: the KDC does not know the principal loom\/ghost@LOOM\.TEST/ },
      {
        args: ['--kerberos-principal', `loom/operator@${REALM}`, '--kerberos-keytab', opKeytab, '--kerberos-service-principal', 'HTTP/127.0.0.1'],
        message: /^loom operator: Kerberos: http:\/\/localhost:\d+ refused loom\/operator@LOOM\.TEST's ticket for HTTP\/127\.0\.0\.1 \(HTTP 403/,
      },
    ];
    const writesBefore = nodeWrites(world);
    const resizesBefore = resizes();
    for (const c of cases) {
      const r = await loom([...operatorArgs(), ...c.args]);
      const errLines = r.stderr.split('\n').filter(Boolean);
      expect(errLines, r.stderr).toHaveLength(1);
      expect(errLines[0]).toMatch(c.message);
      expect(r.code).toBe(2);
    }
    expect(nodeWrites(world)).toBe(writesBefore);
    expect(resizes()).toBe(resizesBefore);
    for (const n of world.nodes.keys()) expect(claimOf(world, n)).toBeUndefined();
  }, 120_000);

  test('loom operator --once with a keytab converges every node against the kerberized HA pair', async () => {
    const before = filter.counts.negotiated;
    const r = await loom([...operatorArgs(), '--kerberos-principal', `loom/operator@${REALM}`, '--kerberos-keytab', opKeytab]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l.msg === 'Kerberos login')).toMatchObject({ principal: `loom/operator@${REALM}` });
    expect(lines.find((l) => l.msg === 'one reconcile done')).toMatchObject({ nodes: 3, problems: 0 });
    for (const n of world.nodes.keys()) {
      expect(claimOf(world, n), n).toBeDefined();
      const node = world.yarn.cluster.node(world.nodeIdOf(n))!;
      expect(node.total, n).not.toEqual({ vcores: 8, memoryMiB: 16_384 });
    }
    expect(resizes()).toBeGreaterThanOrEqual(3);
    // Both RMs were asked (each its own service), each negotiation once, then cookies.
    expect(filter.counts.negotiated - before).toBe(2);
    expect(filter.counts.cookie).toBeGreaterThan(3);
    expect(filter.counts.refused).toBe(2); // the wrong-service case above, by both RMs
    // `loom status` reads the kerberized RM the same way: every node in sync.
    const st = await loom(['status', '--output', 'json', '--kubeconfig', world.kube.kubeconfigPath, '--hadoop-conf-dir', world.hadoopConfDir,
      '--kerberos-principal', `loom/operator@${REALM}`, '--kerberos-keytab', opKeytab]);
    expect(st.code, st.stderr).toBe(0);
    const rows = JSON.parse(st.stdout) as { node: string; drift?: { vcores: number; memoryMiB: number } }[];
    expect(rows.map((x) => [x.node, x.drift])).toEqual([...world.nodes.keys()].map((n) => [n, { vcores: 0, memoryMiB: 0 }]));
  }, 60_000);

  test('loom agent reads a kerberized NodeManager', async () => {
    const n = world.describe().nodes[0]!;
    expect(n.nodeManager).toMatch(/^http:\/\/localhost:/);
    const socket = join(dir, 'copilot.sock');
    let log = '';
    const agent: ChildProcess = spawn(process.execPath, [...CLI, 'agent',
      '--node-name', n.name, '--nm-url', n.nodeManager, '--cgroup-root', n.cgroupRoot, '--proc-root', n.procRoot,
      '--yarn-cgroup-path', n.yarnCgroupPath, '--simulated-cgroups', '--socket', socket, '--metrics-addr', '127.0.0.1:0', '--dry-run',
      '--kerberos-principal', `loom/agent@${REALM}`, '--kerberos-keytab', agentKeytab,
    ], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KRB5_CONFIG: kdc.krb5Conf, LOOM_LOG_LEVEL: 'info' } });
    agent.stdout!.on('data', (c) => { log += String(c); });
    agent.stderr!.on('data', (c) => { log += String(c); });
    try {
      const names = await waitFor(async () => {
        const list = JSON.parse(await socketGet(socket, '/v1/containers')) as { name: string }[];
        return list.length > 0 ? list.map((c) => c.name).sort() : undefined;
      }, 30_000, `the agent's containers (log: ${log.slice(-500)})`);
      const live = world.yarn.cluster.liveContainers(n.nodeId).map((c) => c.id).sort();
      expect(names).toEqual(live);
      expect(log).toMatch(/"msg":"Kerberos login"/);
      expect(log).not.toMatch(/requires Kerberos|refused/);
    } finally {
      const exited = new Promise((r) => agent.once('exit', r));
      agent.kill('SIGTERM');
      await exited;
    }
  }, 60_000);

  test('an RM delegation token instead of Kerberos: --rm-delegation-token-file for the operator and status; a refused, malformed or doubled credential is one line, nothing written', async () => {
    const tokenFile = join(dir, 'rm.token');
    writeFileSync(tokenFile, `${TOKEN}\n`);
    // The RM's own answer to POST /ws/v1/cluster/delegation-token works as the file too.
    const answerFile = join(dir, 'rm-token.json');
    writeFileSync(answerFile, JSON.stringify({ token: TOKEN, renewer: 'loom', owner: `loom/operator@${REALM}`, kind: 'RM_DELEGATION_TOKEN', 'expiration-time': Date.now() + 86_400_000, 'max-validity': Date.now() + 604_800_000 }));
    const negotiated = filter.counts.negotiated;
    const delegated = filter.counts.delegation;
    const r = await loom([...operatorArgs(), '--rm-delegation-token-file', tokenFile]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l.msg === 'one reconcile done')).toMatchObject({ nodes: 3, problems: 0 });
    expect(lines.find((l) => l.msg === 'Kerberos login')).toBeUndefined();
    // Both RMs probed and the active one's node list read, each with the token; no SPNEGO at all.
    expect(filter.counts.delegation - delegated).toBeGreaterThanOrEqual(3);
    expect(filter.counts.negotiated).toBe(negotiated);
    const st = await loom(['status', '--output', 'json', '--kubeconfig', world.kube.kubeconfigPath, '--hadoop-conf-dir', world.hadoopConfDir, '--rm-delegation-token-file', answerFile]);
    expect(st.code, st.stderr).toBe(0);
    expect((JSON.parse(st.stdout) as { drift?: unknown }[]).map((x) => x.drift)).toEqual([...world.nodes.keys()].map(() => ({ vcores: 0, memoryMiB: 0 })));

    const forged = join(dir, 'forged.token');
    writeFileSync(forged, 'AAAAforgedAAAA');
    const garbage = join(dir, 'garbage.token');
    writeFileSync(garbage, 'not a token!');
    const cases: { args: string[]; message: RegExp }[] = [
      { args: ['--rm-delegation-token-file', forged], message: /^loom operator: http:\/\/localhost:\d+ refused the delegation token from .*forged\.token \(HTTP 403: .*InvalidToken.*\): fetch a new one/ },
      { args: ['--rm-delegation-token-file', garbage], message: /^loom operator: .*garbage\.token: not a delegation token: expected its URL-safe string/ },
      { args: ['--rm-delegation-token-file', join(dir, 'absent.token')], message: /^loom operator: .*absent\.token: cannot read the delegation token file \(ENOENT\)/ },
      { args: ['--rm-delegation-token-file', tokenFile, '--kerberos-principal', `loom/operator@${REALM}`, '--kerberos-keytab', opKeytab], message: /^loom operator: --rm-delegation-token-file: cannot be used together with Kerberos/ },
    ];
    const writesBefore = nodeWrites(world);
    const resizesBefore = resizes();
    for (const c of cases) {
      const bad = await loom([...operatorArgs(), ...c.args]);
      const errLines = bad.stderr.split('\n').filter(Boolean);
      expect(errLines, bad.stderr).toHaveLength(1);
      expect(errLines[0]).toMatch(c.message);
      expect(bad.code).toBe(2);
    }
    expect(nodeWrites(world)).toBe(writesBefore);
    expect(resizes()).toBe(resizesBefore);
  }, 120_000);

  // Last: it hands every node back.
  test('loom release reaches the kerberized RMs with the operator\'s credentials: every NodeManager shrunk to what YARN uses, claims matching', async () => {
    // Without credentials: one line naming Kerberos, nothing written (not a node-by-node "RM unavailable").
    const writesBefore = nodeWrites(world);
    const resizesBefore = resizes();
    const none = await loom(['release', '--kubeconfig', world.kube.kubeconfigPath, '--hadoop-conf-dir', world.hadoopConfDir]);
    expect(none.stderr.split('\n').filter(Boolean)).toEqual([expect.stringMatching(/^loom release: Kerberos: http:\/\/localhost:\d+ requires Kerberos/)]);
    expect(none.code).toBe(2);
    expect(nodeWrites(world)).toBe(writesBefore);
    expect(resizes()).toBe(resizesBefore);

    const negotiated = filter.counts.negotiated;
    const r = await loom(['release', '--kubeconfig', world.kube.kubeconfigPath, '--hadoop-conf-dir', world.hadoopConfDir,
      '--kerberos-principal', `loom/operator@${REALM}`, '--kerberos-keytab', opKeytab]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(filter.counts.negotiated).toBeGreaterThan(negotiated);
    for (const n of world.nodes.keys()) {
      const node = world.yarn.cluster.node(world.nodeIdOf(n))!;
      expect(node.total, n).toEqual(node.used);
      // vcoresPerCore 1: a vcore is a core (1000 m), a MiB is 2^20 bytes.
      expect(claimOf(world, n), n).toEqual({ cpu: node.used.vcores * 1000, memory: node.used.memoryMiB * 2 ** 20 });
    }
    // With the delegation token instead: the RMs take it (nothing left to shrink, so nothing written).
    const tokenFile = join(dir, 'release.token');
    writeFileSync(tokenFile, TOKEN);
    const delegated = filter.counts.delegation;
    const writes = nodeWrites(world);
    const t = await loom(['release', '--kubeconfig', world.kube.kubeconfigPath, '--hadoop-conf-dir', world.hadoopConfDir, '--rm-delegation-token-file', tokenFile]);
    expect(t.stderr).toBe('');
    expect(t.code).toBe(0);
    expect(filter.counts.delegation).toBeGreaterThan(delegated);
    expect(nodeWrites(world)).toBe(writes);
  }, 120_000);
});

function socketGet(socketPath: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ socketPath, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (c) => { body += String(c); });
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}
