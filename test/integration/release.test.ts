/**
 * `loom release` against the simulators (a Kubernetes API server, a YARN RM with a NodeManager per
 * node, YARN applications holding containers): after the operator has converged, release shrinks
 * every NodeManager to exactly what YARN uses — every resize sent with overCommitTimeout −1, seen
 * on the wire by a recording proxy in front of the RM — and sets each claim to match, leaving the
 * other entries of thirdPartyAllocations byte for byte; `--dry-run` writes nothing; a running
 * operator holding the leader Lease makes it refuse, naming the holder; `--remove-claims` removes
 * the claims only where YARN holds nothing, and says which nodes still hold YARN containers.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SimWorld, yarnSiteXml } from '../../sim/world.js';
import { ANNOTATION_THIRD_PARTY } from '../../kube/wire.js';
import { resolveSettings } from '../../settings/settings.js';
import { releaseSettingSpecs } from '../../operator/release-settings.js';
import { runRelease, toReleaseSettings } from '../../operator/release.js';
import { ManualClock } from '../../sim/yarn/clock.js';
import { allocationsOf, annotationOf, captureLogs, claimOf, GIB, MIB, runOperator, setOrigin, settingsFor, waitFor, worldRmNode } from './operator-helpers.js';

const NODES = ['node-1', 'node-2', 'node-3'];
const FOREIGN = { name: 'spark-operator', priority: 'koord-batch', resources: { 'kubernetes.io/batch-cpu': '1500', 'kubernetes.io/batch-memory': '2Gi' } };

describe('loom release', () => {
  let world: SimWorld;
  let proxy: Server;
  let confDir: string;
  const resizes: { path: string; body: string }[] = [];

  const release = async (flags: Record<string, unknown>) => {
    const values = resolveSettings({
      specs: releaseSettingSpecs,
      flags: { kubeconfig: world.kube.kubeconfigPath, hadoopConfDir: confDir, leaseNamespace: 'loom-system', identity: 'release-test', ...flags },
      env: {},
    });
    const logs = captureLogs();
    const report = await runRelease(toReleaseSettings(values, {}), logs.logger);
    return { ...report, logs };
  };

  /** What Kubernetes and YARN hold, per node: the raw annotation and the RM figures. */
  const state = async () => Object.fromEntries(await Promise.all(NODES.map(async (n) => [n, { annotation: annotationOf(world, n), rm: await worldRmNode(world, n) }] as const)));

  beforeAll(async () => {
    world = await SimWorld.start({ nodes: 3 });
    // A recording proxy in front of the RM: release talks to it, it forwards everything.
    const rm = new URL(world.yarn.activeResourceManager()!.url);
    proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (req.method === 'POST' && /\/resource$/.test(req.url ?? '')) resizes.push({ path: req.url!, body: body.toString('utf8') });
        const fwd = httpRequest({ host: rm.hostname, port: rm.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        });
        fwd.on('error', () => res.writeHead(502).end());
        fwd.end(body);
      });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    confDir = mkdtempSync(join(tmpdir(), 'loom-release-conf-'));
    writeFileSync(join(confDir, 'yarn-site.xml'), yarnSiteXml([`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`]));

    // The operator has run: claims on every node, NodeManagers resized to Loom's capacities.
    await waitFor(() => NODES.every((n) => world.kube.store.get('nodes', undefined, n)?.metadata.annotations?.['node.koordinator.sh/originExtendedAllocatable']), 10_000, 'origins');
    const op = await runOperator(settingsFor(world, { once: true }));
    expect(await op.controller.reconcileAll()).toBe(0);
    await op.stop();
    for (const n of NODES) expect(claimOf(world, n), n).toBeDefined();
    // Another scheduler's entry beside Loom's on two nodes.
    for (const n of ['node-1', 'node-2']) {
      const doc = JSON.parse(annotationOf(world, n)!) as { allocations: unknown[] };
      doc.allocations.push(FOREIGN);
      world.kube.store.patch('nodes', undefined, n, 'merge', { metadata: { annotations: { [ANNOTATION_THIRD_PARTY]: JSON.stringify(doc) } } });
    }
  }, 60_000);

  afterAll(async () => {
    proxy?.closeAllConnections();
    await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
    await world?.stop();
    if (confDir) rmSync(confDir, { recursive: true, force: true });
  });

  test('--dry-run logs every node\'s plan and writes nothing', async () => {
    const before = await state();
    const r = await release({ dryRun: true });
    expect(r.exitCode).toBe(0);
    expect(r.nodes.map((n) => n.node).sort()).toEqual(NODES);
    for (const n of r.nodes) expect(n.actions.map((a) => a.kind), n.node).toContain('resize');
    expect(r.logs.find(/would release/)).toHaveLength(3);
    expect(resizes).toEqual([]);
    expect(await state()).toEqual(before);
    expect(world.kube.store.get('leases', 'loom-system', 'loom-operator')).toBeUndefined();
  });

  test('a running operator holding the leader Lease makes release refuse, naming it, writing nothing', async () => {
    const op = await runOperator(settingsFor(world, { leaderElection: true, leaseNamespace: 'loom-system', identity: 'operator-pod-a', pollSeconds: 5 }));
    try {
      await waitFor(() => op.controller.isLeading, 10_000, 'the operator leads');
      const before = await state();
      const r = await release({ leaseWaitSeconds: 0.3 });
      expect(r.exitCode).toBe(1);
      expect(r.error).toMatch(/operator-pod-a/);
      expect(r.error).toMatch(/loom-system\/loom-operator/);
      expect(resizes).toEqual([]);
      expect(await state()).toEqual(before);
    } finally {
      await op.stop(); // a clean stop hands the Lease over at once
    }
  }, 30_000);

  test('shrinks every NodeManager to what YARN uses with overCommitTimeout -1, claims matching, other entries intact', async () => {
    const foreignBefore = Object.fromEntries(['node-1', 'node-2'].map((n) => [n, JSON.stringify(allocationsOf(world, n).find((a) => a.name === FOREIGN.name))]));
    const r = await release({});
    expect(r.error).toBeUndefined();
    expect(r.exitCode).toBe(0);
    expect(r.nodes.every((n) => n.outcome === 'released')).toBe(true);
    expect(resizes.length).toBe(3);
    for (const { body } of resizes) expect(JSON.parse(body)).toMatchObject({ overCommitTimeout: -1 });
    for (const n of NODES) {
      const rm = await worldRmNode(world, n);
      expect(rm.used.vcores, n).toBeGreaterThan(0);
      expect(rm.total, n).toEqual(rm.used);
      expect(claimOf(world, n), n).toEqual({ cpu: rm.used.vcores * 1000, memory: rm.used.memoryMiB * MIB });
    }
    for (const n of ['node-1', 'node-2']) {
      expect(JSON.stringify(allocationsOf(world, n).find((a) => a.name === FOREIGN.name)), n).toBe(foreignBefore[n]);
      expect(allocationsOf(world, n).map((a) => a.name), n).toEqual(['hadoop-yarn', FOREIGN.name]);
    }
    // The Lease it held is handed back.
    const lease = world.kube.store.get('leases', 'loom-system', 'loom-operator') as unknown as { spec: { holderIdentity?: string } };
    expect(lease.spec.holderIdentity ?? '').toBe('');
    // Nothing left to do: a second run writes nothing.
    resizes.length = 0;
    const again = await release({});
    expect(again.exitCode).toBe(0);
    expect(resizes).toEqual([]);
  }, 30_000);

  test('--remove-claims: claims stay where YARN still holds containers (named), go once it holds nothing', async () => {
    const held = await release({ removeClaims: true });
    expect(held.exitCode).toBe(1);
    for (const n of NODES) expect(held.error, n).toMatch(new RegExp(`${n}.*YARN still holds`));
    for (const n of NODES) expect(claimOf(world, n), n).toBeDefined();

    for (const app of world.yarn.cluster.apps()) world.yarn.cluster.finishApp(app.id);
    await waitFor(async () => (await Promise.all(NODES.map((n) => worldRmNode(world, n)))).every((x) => x.used.vcores === 0 && x.used.memoryMiB === 0), 10_000, 'YARN holds nothing');
    const r = await release({ removeClaims: true });
    expect(r.error).toBeUndefined();
    expect(r.exitCode).toBe(0);
    for (const n of NODES) {
      expect(claimOf(world, n), n).toBeUndefined();
      expect((await worldRmNode(world, n)).total, n).toEqual({ vcores: 0, memoryMiB: 0 });
    }
    for (const n of ['node-1', 'node-2']) expect(allocationsOf(world, n), n).toEqual([FOREIGN]);
    for (const { body } of resizes) expect(JSON.parse(body)).toMatchObject({ overCommitTimeout: -1 });
  }, 30_000);
});

describe('loom release against an RM that applies resizes later than the read-back window', () => {
  let world: SimWorld | undefined;
  afterAll(async () => { await world?.stop(); });

  test('never lowers a claim under a shrink the RM has not shown: the node is named, left as it is, and released by a later run', async () => {
    const yarnClock = new ManualClock();
    world = await SimWorld.start({ nodes: 1, standIns: false, seed: false, rmResizeDelayMs: 1000, yarnClock });
    const w = world;
    // The operator has run: a claim of 8 cores / 16 GiB, exactly what the NodeManager registered with.
    setOrigin(w, 'node-1', 17_000, 33 * GIB);
    const op = await runOperator(settingsFor(w, { once: true }));
    expect(await op.controller.reconcileAll()).toBe(0);
    await op.stop();
    expect(claimOf(w, 'node-1')).toEqual({ cpu: 8000, memory: 16 * GIB });
    const release = async () => {
      const values = resolveSettings({ specs: releaseSettingSpecs, flags: { kubeconfig: w.kube.kubeconfigPath, hadoopConfDir: w.hadoopConfDir, leaseNamespace: 'loom-system', identity: 'release-test' }, env: {} });
      return runRelease(toReleaseSettings(values, {}), captureLogs().logger);
    };
    // YARN holds nothing: release shrinks the NodeManager to 0 — the RM queues it and does not apply it.
    const first = await release();
    expect(first.exitCode).toBe(1);
    expect(first.error).toMatch(/node-1 \(resize: .*not shown/);
    expect((await worldRmNode(w, 'node-1')).total).toEqual({ vcores: 8, memoryMiB: 16_384 });
    expect(claimOf(w, 'node-1'), 'the claim was lowered under a shrink the RM had not applied').toEqual({ cpu: 8000, memory: 16 * GIB });
    // The queued shrink lands; the next run finds nothing to resize and sets the claim to match.
    yarnClock.advance(1000);
    expect((await worldRmNode(w, 'node-1')).total).toEqual({ vcores: 0, memoryMiB: 0 });
    const second = await release();
    expect(second.error).toBeUndefined();
    expect(claimOf(w, 'node-1')).toEqual({ cpu: 0, memory: 0 });
  }, 30_000);
});
