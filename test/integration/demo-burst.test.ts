/**
 * The demo's memory burst on a simulated node: sized so that everything but YARN stays under the
 * agent's 70 % threshold as the agent counts it (MemTotal − MemAvailable, less YARN's working
 * set), whatever page cache YARN holds — so evicting YARN can always bring the node back under it.
 */
import fs from 'node:fs';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { makeSimTempDir, SimulatedNode } from '../../sim/node/index.js';
import { burstBytes, nonYarnMemoryBytes } from '../../demo/scenario.js';

const GiB = 2 ** 30;
const C1 = 'container_1700000000000_0001_01_000002';
let tmp: string;
let node: SimulatedNode | undefined;
beforeEach(() => { tmp = makeSimTempDir('loom-demo-burst-'); });
afterEach(async () => { await node?.stop(); node = undefined; fs.rmSync(tmp, { recursive: true, force: true }); });

it('YARN holding mostly page cache: the burst leaves everything but YARN under 70 %, and evicting YARN gets the node there', () => {
  node = SimulatedNode.create({ name: 'node-b', dir: tmp, layout: 'v2', driver: 'systemd', cpuCores: 4, memoryBytes: 16 * GiB });
  node.syncContainers([{ id: C1, memoryMiB: 2048, vcores: 1 }]);
  node.setContainerUsage(C1, { memoryBytes: 0.5 * GiB, cacheBytes: 1.5 * GiB });
  node.step(1000);
  const total = node.snapshot().memoryTotalBytes;
  node.setMemorySpike(burstBytes(node.snapshot(), 0.76));
  node.step(1000);
  const during = node.snapshot();
  // The burst takes the node over the threshold (YARN's containers are what takes it over)…
  expect(during.memoryUsedBytes / total).toBeGreaterThanOrEqual(0.70);
  // …while everything else stays under it, as the demo reports it…
  const nonYarn = nonYarnMemoryBytes(during);
  expect(nonYarn / total).toBeLessThanOrEqual(0.68);
  // …and YARN's page cache coming and going does not move that figure.
  node.setContainerUsage(C1, { cacheBytes: 0.2 * GiB });
  node.step(1000);
  expect(nonYarnMemoryBytes(node.snapshot())).toBe(nonYarn);
  // Every YARN container evicted: the node is left with exactly that figure, under the threshold.
  node.syncContainers([]);
  node.step(1000);
  expect(node.snapshot().memoryUsedBytes).toBe(nonYarn);
  expect(node.snapshot().memoryUsedBytes / total).toBeLessThan(0.70);
});
