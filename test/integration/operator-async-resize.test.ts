/**
 * A real RM applies a resize asynchronously: the POST answer and an immediate GET may still show
 * the old total. The operator reads back a few times (bounded, on its clock) before it concludes
 * "not applied" — so a slow-applying RM gets exactly one resize per change, no failure, no Event.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { SimWorld } from '../../sim/world.js';
import {
  claimOf, expectedCapacity, GIB, runOperator, setOrigin, settingsFor, waitFor, worldRmNode,
} from './operator-helpers.js';

const cap = expectedCapacity;

describe('asynchronous resize on the RM', () => {
  let world: SimWorld | undefined;
  let op: Awaited<ReturnType<typeof runOperator>> | undefined;
  afterEach(async () => {
    await op?.stop();
    await world?.stop();
  });

  test('a resize that lands 120 ms after the POST is read back, not repeated, not reported as failed', async () => {
    world = await SimWorld.start({ nodes: 1, standIns: false, seed: false, rmResizeDelayMs: 120 });
    const w = world;
    setOrigin(w, 'node-1', 9000, 17 * GIB);
    op = await runOperator(settingsFor(w, { pollSeconds: 5 }));
    const o = op;
    const want = cap(9000, 17 * GIB);
    await waitFor(async () => JSON.stringify((await worldRmNode(w, 'node-1')).total) === JSON.stringify(want) && claimOf(w, 'node-1')?.cpu === want.vcores * 1000, 5000, 'converged');
    await o.controller.settled();
    setOrigin(w, 'node-1', 13_000, 25 * GIB);
    await o.controller.settled(w.kube.store.resourceVersion);
    expect((await worldRmNode(w, 'node-1')).total).toEqual(cap(13_000, 25 * GIB));
    expect(w.yarn.cluster.counters.get('rm.resize')).toBe(2);
    expect(o.controller.failures).toBe(0);
    expect(o.logs.lines().filter((l) => /resize failed|did not apply/.test(String(l.msg)))).toEqual([]);
    const events = w.kube.store.list('events', { namespace: 'default' }).items as unknown as { reason: string }[];
    expect(events.filter((e) => e.reason === 'YarnResizeFailed')).toEqual([]);
  });

  test('a resize the RM never applies is retried with backoff and reported, and the claim is never lowered under it', async () => {
    world = await SimWorld.start({ nodes: 1, standIns: false, seed: false, rmResizeDelayMs: 60_000 });
    const w = world;
    setOrigin(w, 'node-1', 9000, 17 * GIB);
    op = await runOperator(settingsFor(w, { pollSeconds: 5 }), undefined, { readBack: { attempts: 3, delayMs: 10 } });
    const o = op;
    await waitFor(() => o.controller.failures > 0, 5000, 'a failed resize');
    // The first shrink from the NM's 8 vcores never landed: the claim stays at (at least) the RM's total.
    expect(claimOf(w, 'node-1')!.cpu).toBeGreaterThanOrEqual(8000);
    expect(o.logs.lines().some((l) => /did not apply the resize/.test(String(l.msg)))).toBe(true);
    const events = w.kube.store.list('events', { namespace: 'default' }).items as unknown as { reason: string }[];
    await waitFor(() => (w.kube.store.list('events', { namespace: 'default' }).items as unknown as { reason: string }[]).some((e) => e.reason === 'YarnResizeFailed'), 3000, 'Event');
    expect(events.length).toBeGreaterThanOrEqual(0);
  });
});
