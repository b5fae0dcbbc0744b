/**
 * The operator bench's simulator processes (bench/operator-sims.ts): a change stamped by the kube
 * process and the resize stamped by the YARN process as it lands compare on one clock, the
 * convergence check follows the resizes, and the Node events the bench wrote are counted — what
 * the bench's change→RM latency and anchor count rest on. Real processes, real RM client.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { forkSim, monotonicMs } from '../../bench/operator-sims.js';
import { makeSimTempDir } from '../../sim/node/temp-dir.js';
import { ResourceManagerClient } from '../../yarn/rm-client.js';
import { mib, vcores } from '../../yarn/resource.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('bench simulator processes', () => {
  it('a change stamped in the kube process and its resize stamped in the YARN process compare on one clock', async () => {
    const dir = makeSimTempDir('loom-bench-sims-');
    mkdirSync(dir, { recursive: true });
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const kube = forkSim('kube');
    const yarn = forkSim('yarn');
    cleanup.push(() => kube.close(), () => yarn.close());
    expect(kube.pid).not.toBe(process.pid);
    const [seeded, rm] = await Promise.all([kube.start(3, 6, dir), yarn.start(3)]);
    expect(seeded.pods).toBe(3 * 6);
    expect(seeded.desired.map(([id]) => id)).toEqual(['node-00001:8041', 'node-00002:8041', 'node-00003:8041']);
    await yarn.setDesired(seeded.desired);
    // The NodeManagers registered at 1 vcore / 1 GiB: none is where the ledger wants it.
    expect(await yarn.converged()).toEqual({ converged: false, done: 0 });

    await yarn.record(true);
    await kube.counting(true);
    const change = await kube.change(1, 'origin-raised');
    expect(change.nodeId).toBe('node-00002:8041');
    expect(change.desired).not.toEqual(seeded.desired[1]![1]);
    expect(await yarn.landedAfter([[change.nodeId, change.t0]])).toEqual([null]);

    const client = new ResourceManagerClient({ rmUrls: rm.rmUrls, timeoutMs: 5000 });
    cleanup.push(() => client.close());
    const before = monotonicMs();
    await client.updateNodeResource(change.nodeId, { memoryMiB: mib(change.desired.memoryMiB), vcores: vcores(change.desired.vcores) }, -1);
    const after = monotonicMs();
    await yarn.setDesired([[change.nodeId, change.desired]]);
    const [at] = await yarn.landedAfter([[change.nodeId, change.t0]]);
    expect(at).not.toBeNull();
    expect(change.t0).toBeLessThanOrEqual(before);
    expect(at!).toBeGreaterThanOrEqual(before);
    expect(at!).toBeLessThanOrEqual(after);
    expect(await yarn.converged()).toEqual({ converged: false, done: 1 });
    expect(await yarn.counter('rm.resize')).toBe(1);
    // The origin write is one Node MODIFIED event, the bench's.
    const counts = await kube.counts();
    expect(counts.nodeModifiedByBench).toBe(1);
    expect(counts.nodeModified).toBeGreaterThanOrEqual(1);
  });
});
