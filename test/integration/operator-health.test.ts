/**
 * Honest operations on the operator side: bounded waits, true health, quiet normal states, and
 * messages that say each thing once.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { SimWorld, yarnSiteXml } from '../../sim/world.js';
import { kubeconfigYaml } from '../../sim/kube/kubeconfig.js';
import { startFaultProxy, type FaultProxy } from '../faults/fault-proxy.js';
import { GIB, captureLogs, metricValue, metricsText, runOperator, setOrigin, settingsFor, waitFor } from './operator-helpers.js';

const cwd = new URL('../..', import.meta.url).pathname;

function runCli(args: string[]): Promise<{ code: number | null; stderr: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], { cwd, env: { ...process.env, LOOM_LOG_LEVEL: 'error' } });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stderr, ms: performance.now() - t0 }));
  });
}

describe('operator health and bounded waits', () => {
  let world: SimWorld | undefined;
  let op: Awaited<ReturnType<typeof runOperator>> | undefined;
  const proxies: FaultProxy[] = [];
  afterEach(async () => {
    for (const p of proxies) p.releaseHung();
    await op?.stop();
    await Promise.all(proxies.splice(0).map((p) => p.close()));
    await world?.stop();
    op = undefined;
    world = undefined;
  });

  test('--once with the Kubernetes API unreachable gives up after --timeout with one line naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loom-once-'));
    writeFileSync(join(dir, 'kubeconfig'), kubeconfigYaml('http://127.0.0.1:1', 't'));
    writeFileSync(join(dir, 'yarn-site.xml'), yarnSiteXml(['http://127.0.0.1:1']));
    const r = await runCli(['operator', '--once', '--timeout', '1', '--kubeconfig', join(dir, 'kubeconfig'), '--hadoop-conf-dir', dir]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/--once: timed out after 1 s waiting for the Kubernetes API at http:\/\/127\.0\.0\.1:1/);
  });

  /** The chart's operator rules, with `drop` ("verb resource") taken out. */
  const operatorRbac = (drop: string): string => {
    const rules = [['nodes', ['get', 'list', 'watch', 'patch']], ['pods', ['list', 'watch']]] as const;
    const kept = rules.map(([res, verbs]) => `  - apiGroups: [""]\n    resources: [${res}]\n    verbs: [${verbs.filter((v) => `${v} ${res}` !== drop).join(', ')}]`);
    return [
      'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: loom-operator, namespace: loom-system}',
      `apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: loom-operator}\nrules:\n${kept.join('\n')}`,
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: loom-operator}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: loom-operator}\nsubjects: [{kind: ServiceAccount, name: loom-operator, namespace: loom-system}]',
    ].join('\n---\n');
  };

  for (const [verb, resource] of [['list', 'nodes'], ['list', 'pods']] as const) {
    test(`--once with ${verb} on ${resource} forbidden (403) exits at once, non-zero, with one line naming both`, { timeout: 60_000 }, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'loom-once-403-'));
      writeFileSync(join(dir, 'rbac.yaml'), operatorRbac(`${verb} ${resource}`));
      world = await SimWorld.start({ nodes: 1, standIns: false, seed: false, rbac: join(dir, 'rbac.yaml') });
      setOrigin(world, 'node-1', 9000, 17 * GIB);
      // A --timeout far beyond the test's own: a run that waits for it fails the test.
      const r = await runCli(['operator', '--once', '--timeout', '600', '--kubeconfig', world.serviceAccountKubeconfigs!['loom-system/loom-operator']!, '--hadoop-conf-dir', world.hadoopConfDir]);
      expect(r.code, r.stderr).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^loom operator --once: Kubernetes RBAC forbids ${verb} on ${resource}: grant it`));
      expect(world.kube.rbac!.denials.length).toBeGreaterThan(0);
    });
  }

  test('--once lists without watching: a forbidden watch does not concern it', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loom-once-403-'));
    writeFileSync(join(dir, 'rbac.yaml'), operatorRbac('watch nodes').replace('verbs: [list, watch]', 'verbs: [list]'));
    world = await SimWorld.start({ nodes: 1, standIns: false, seed: false, rbac: join(dir, 'rbac.yaml') });
    setOrigin(world, 'node-1', 9000, 17 * GIB);
    const r = await runCli(['operator', '--once', '--dry-run', '--timeout', '600', '--kubeconfig', world.serviceAccountKubeconfigs!['loom-system/loom-operator']!, '--hadoop-conf-dir', world.hadoopConfDir]);
    expect(r.code, r.stderr).toBe(0);
    expect(world.kube.rbac!.denials, JSON.stringify(world.kube.rbac!.denials)).toEqual([]);
  });

  test('long-running, a forbidden list is retried with backoff and reported not ready, naming verb and resource; ready once granted', async () => {
    world = await SimWorld.start({ nodes: 1, standIns: false, seed: false });
    setOrigin(world, 'node-1', 9000, 17 * GIB);
    const api = await startFaultProxy(world.kube.url);
    proxies.push(api);
    const listNodes = (r: { method: string; path: string }) => r.method === 'GET' && /^\/api\/v1\/nodes(\?|$)/.test(r.path) && !r.path.includes('watch=');
    api.rules.push({ match: listNodes, kind: 'status', value: 403 });
    const dir = mkdtempSync(join(tmpdir(), 'loom-ready-403-'));
    writeFileSync(join(dir, 'kubeconfig'), kubeconfigYaml(api.url, world.kube.token));
    const logs = captureLogs();
    op = await runOperator(settingsFor({ kube: { kubeconfigPath: join(dir, 'kubeconfig') }, hadoopConfDir: world.hadoopConfDir }), logs);
    const o = op;
    await waitFor(() => o.controller.informerStats.nodes.errors >= 3, 15_000, 'three refused lists (retried)');
    const r = await fetch(`${op.metricsUrl}/readyz`);
    expect(r.status).toBe(503);
    expect(await r.text()).toMatch(/FAIL nodes informer: not synced \(Kubernetes RBAC forbids list on nodes/);
    expect(logs.find(/Kubernetes RBAC forbids list on nodes/)).toHaveLength(1);
    api.rules.length = 0;
    await waitFor(async () => (await fetch(`${o.metricsUrl}/readyz`)).status === 200, 15_000, 'ready once the list is allowed');
  });

  test('/readyz: 503 with per-check detail while the API server is unreachable, 200 once synced; /healthz false once stopped', async () => {
    world = await SimWorld.start({ nodes: 1, standIns: false, seed: false });
    setOrigin(world, 'node-1', 9000, 17 * GIB);
    const api = await startFaultProxy(world.kube.url);
    proxies.push(api);
    api.rules.push({ match: () => true, kind: 'reset' });
    const dir = mkdtempSync(join(tmpdir(), 'loom-ready-'));
    writeFileSync(join(dir, 'kubeconfig'), kubeconfigYaml(api.url, world.kube.token));
    op = await runOperator(settingsFor({ kube: { kubeconfigPath: join(dir, 'kubeconfig') }, hadoopConfDir: world.hadoopConfDir }));
    const o = op;
    await waitFor(() => o.controller.informerStats.nodes.errors > 0, 5000, 'a failed list');
    let r = await fetch(`${op.metricsUrl}/readyz`);
    expect(r.status).toBe(503);
    const body = await r.text();
    expect(body).toMatch(/FAIL nodes informer: not synced/);
    expect(body).toMatch(/FAIL pods informer: not synced/);
    expect((await fetch(`${op.metricsUrl}/healthz`)).status).toBe(200);
    api.rules.length = 0;
    await waitFor(async () => (await fetch(`${o.metricsUrl}/readyz`)).status === 200, 8000, 'ready');
    r = await fetch(`${op.metricsUrl}/readyz`);
    expect(await r.text()).toMatch(/ok nodes informer: synced, watching; ok pods informer: synced, watching; ok role: leader \(term 1\); ok cluster __default_yarn_cluster__: polled \d+ ms ago/);
    // A cut watch is not "watching" until it is back.
    await op.controller.stop();
    expect(op.controller.healthy()).toMatchObject({ ok: false, detail: 'loop: stopped' });
  });

  test('/readyz: 503 naming the cluster when its RM has not answered within N polls', { timeout: 40_000 }, async () => {
    world = await SimWorld.start({ nodes: 1, standIns: false, seed: false });
    setOrigin(world, 'node-1', 9000, 17 * GIB);
    const rm = await startFaultProxy(world.yarn.resourceManagers[0]!.url);
    proxies.push(rm);
    const conf = mkdtempSync(join(tmpdir(), 'loom-rmready-'));
    writeFileSync(join(conf, 'yarn-site.xml'), yarnSiteXml([rm.url]));
    op = await runOperator(settingsFor({ kube: world.kube, hadoopConfDir: conf }, { pollSeconds: 0.1, rmTimeoutMs: 100 }));
    const o = op;
    await waitFor(async () => o.controller.views.get('__default_yarn_cluster__')?.status === 'ok' && (await fetch(`${o.metricsUrl}/readyz`)).status === 200, 5000, 'ready');
    rm.rules.push({ match: () => true, kind: 'reset' });
    // 3 polls, at least 5 s without a usable answer.
    await waitFor(async () => (await fetch(`${o.metricsUrl}/readyz`)).status === 503, 15_000, 'not ready');
    expect(await (await fetch(`${op.metricsUrl}/readyz`)).text()).toMatch(/FAIL cluster __default_yarn_cluster__: polled \d+ ms ago/);
  });

  test('a normal start counts no input error; an unavailable RM says "cluster X" once; no key twice in a line', async () => {
    world = await SimWorld.start({ nodes: 3, standIns: false, seed: false });
    for (const n of ['node-1', 'node-2', 'node-3']) setOrigin(world, n, 9000, 17 * GIB);
    const logs = captureLogs();
    op = await runOperator(settingsFor(world, { pollSeconds: 0.1, rmTimeoutMs: 200 }), logs);
    const o = op;
    await waitFor(() => o.controller.writes.length >= 6, 5000, 'converged');
    await op.controller.settled();
    let m = await metricsText(op.metricsUrl);
    expect(metricValue(m, 'loom_input_errors_total', { source: 'rm-unavailable' }) || 0).toBe(0);
    expect(metricValue(m, 'loom_input_errors_total', { source: 'rm-pending' }) || 0).toBe(0);
    // Now the RM goes away and a node changes: the unavailability is counted and said once.
    await world.yarn.resourceManagers[0]!.stop();
    await waitFor(() => o.controller.views.get('__default_yarn_cluster__')?.status === 'unavailable', 5000, 'RM seen down');
    setOrigin(world, 'node-1', 11_000, 17 * GIB);
    await op.controller.settled(world.kube.store.resourceVersion);
    m = await metricsText(op.metricsUrl);
    expect(metricValue(m, 'loom_input_errors_total', { source: 'rm-unavailable' })).toBeGreaterThan(0);
    const raw = logs.raw();
    expect(raw.filter((l) => /cluster __default_yarn_cluster__: cluster __default_yarn_cluster__/.test(l))).toEqual([]);
    expect(raw.filter((l) => (l.match(/"cluster":/g) ?? []).length > 1), raw.filter((l) => (l.match(/"cluster":/g) ?? []).length > 1).join("\n")).toEqual([]);
    expect(raw.some((l) => /ResourceManager unavailable/.test(l))).toBe(true);
  });

  test('dry-run decision lines are short and do not say "applied"', async () => {
    world = await SimWorld.start({ nodes: 1, standIns: false, seed: false });
    setOrigin(world, 'node-1', 9000, 17 * GIB);
    const logs = captureLogs();
    op = await runOperator(settingsFor(world, { dryRun: true }), logs);
    const o = op;
    await waitFor(() => logs.raw().some((l) => /dry run/.test(l)), 5000, 'a dry-run decision');
    await o.controller.settled();
    const lines = logs.raw().filter((l) => /ledger decision/.test(l));
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) {
      expect(l.length, l).toBeLessThan(400);
      expect(l).not.toMatch(/"applied"/);
    }
    expect(o.controller.writes).toEqual([]);
  });
});
