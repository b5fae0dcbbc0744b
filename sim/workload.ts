/**
 * A moving workload for `loom sim --workload`: online load following a slow wave per node, batch
 * pods and YARN apps arriving and leaving. Seeded, so runs repeat.
 */
import type { SimWorld } from './world.js';

/** Mulberry32: a tiny seeded PRNG, enough for reproducible scenarios. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Online load share (0–1) of a node at simulated time `t` ms: a wave between 15 % and 45 %. */
export function onlineShare(nodeIndex: number, t: number, periodMs = 120_000): number {
  return 0.3 + 0.15 * Math.sin((2 * Math.PI * t) / periodMs + nodeIndex);
}

export function startWorkload(world: SimWorld, seed = 1, everyMs = 5000): () => void {
  const rand = seededRandom(seed);
  const cores = [...world.nodes.values()][0]?.node.snapshot().cpuCapacityMilli ?? 16000;
  const memory = [...world.nodes.values()][0]?.node.snapshot().memoryTotalBytes ?? 64 * 2 ** 30;
  [...world.nodes.keys()].forEach((name, i) => {
    world.setOnlineLoad(name, (t) => ({ cpuMilli: cores * onlineShare(i, t), memoryBytes: memory * onlineShare(i, t), cacheBytes: memory * 0.03 }));
  });
  const pods: string[] = [];
  const timer = setInterval(() => {
    const r = rand();
    if (r < 0.4) pods.push(world.addBatchPod({ cpuMilli: 500 + Math.floor(rand() * 4) * 500, memoryBytes: (1 + Math.floor(rand() * 4)) * 2 ** 30 }));
    else if (r < 0.6 && pods.length > 0) world.deleteBatchPod(pods.shift()!);
    else world.submitApp({ name: `spark-${Math.floor(rand() * 1000)}`, am: { vcores: 1, memoryMiB: 1024 }, containers: [{ count: 1 + Math.floor(rand() * 4), vcores: 1, memoryMiB: 2048 }] });
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
