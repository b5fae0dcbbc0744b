/** `loom sim --workload`: the simulated cluster moves by itself — online load, batch pods, YARN apps. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimWorld, BATCH_NAMESPACE } from '../../sim/world.js';
import { onlineShare, seededRandom, startWorkload } from '../../sim/workload.js';

let world: SimWorld;
let stop: () => void;

beforeAll(async () => {
  world = await SimWorld.start({ nodes: 2, seed: false, speed: 20 });
  stop = startWorkload(world, 3, 100);
});

afterAll(async () => {
  stop();
  await world.stop();
});

describe('sim workload', () => {
  it('is reproducible and keeps the online share within its band', () => {
    const a = seededRandom(9);
    const b = seededRandom(9);
    expect(Array.from({ length: 5 }, a)).toEqual(Array.from({ length: 5 }, b));
    for (let t = 0; t < 240_000; t += 7_000) {
      expect(onlineShare(0, t)).toBeGreaterThanOrEqual(0.15 - 1e-9);
      expect(onlineShare(0, t)).toBeLessThanOrEqual(0.45 + 1e-9);
    }
  });

  it('submits YARN apps and batch pods over time, and the node follows its online load', async () => {
    const deadline = Date.now() + 10_000;
    const batchPods = () => world.kube.store.list('pods', { namespace: BATCH_NAMESPACE }).items.length;
    while (Date.now() < deadline && (world.yarn.cluster.apps().length === 0 || batchPods() === 0)) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(world.yarn.cluster.apps().length).toBeGreaterThan(0);
    expect(batchPods()).toBeGreaterThan(0);
    const snap = world.nodes.get('node-1')!.node.snapshot();
    expect(snap.memoryUsedBytes / snap.memoryTotalBytes).toBeGreaterThan(0.1);
  });
});
