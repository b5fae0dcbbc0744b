/** The demo's pure parts: the scenario a seed gives, round chart ticks, the burst summary. */
import { describe, expect, it } from 'vitest';
import { buildScenario, burstBytes } from '../../demo/scenario.js';
import { niceTicks } from '../../demo/report.js';
import { burstSummary, type DemoEvent, type NodeSample, type Sample } from '../../demo/runner.js';
import { burstText } from '../../demo/burst-text.js';

const shares = (seed: number) => {
  const s = buildScenario({ durationSec: 60, nodes: 4, seed });
  return s.nodes.flatMap((_, i) => Array.from({ length: 61 }, (_, t) => s.onlineShare(i, t)));
};

describe('demo scenario', () => {
  it('is a pure function of the seed: same steps and online load for the same seed, other load for another', () => {
    const a = buildScenario({ durationSec: 60, nodes: 4, seed: 42 });
    const b = buildScenario({ durationSec: 60, nodes: 4, seed: 42 });
    expect(a.steps).toEqual(b.steps);
    expect([a.spikeNode, a.restartNode]).toEqual([b.spikeNode, b.restartNode]);
    expect(shares(42)).toEqual(shares(42));
    expect(shares(43)).not.toEqual(shares(42));
  });

  it('holds the burst node\'s online load still during the burst', () => {
    const s = buildScenario({ durationSec: 60, nodes: 4, seed: 42 });
    const i = s.nodes.indexOf(s.spikeNode);
    const from = s.steps.find((x) => x.kind === 'memory-spike')!.at;
    const to = s.steps.find((x) => x.kind === 'memory-spike-end')!.at;
    expect(s.onlineShare(i, from + 1)).toBe(s.onlineShare(i, from));
    expect(s.onlineShare(i, to - 0.1)).toBe(s.onlineShare(i, from));
    expect(s.onlineShare(i, to + 1)).not.toBe(s.onlineShare(i, from));
  });
});

describe('chart ticks', () => {
  it.each([
    [35, [0, 10, 20, 30, 40]], [26.1, [0, 10, 20, 30]], [8.7, [0, 2.5, 5, 7.5, 10]], [60, [0, 20, 40, 60]],
    [0.3, [0, 0.1, 0.2, 0.3]], [100, [0, 25, 50, 75, 100]], [0, [0, 1e-9]], [1, [0, 0.25, 0.5, 0.75, 1]],
  ])('niceTicks(%s)', (max, ticks) => {
    const got = niceTicks(max, 4);
    if (max === 0) { expect(got[0]).toBe(0); return; }
    expect(got).toEqual(ticks);
  });
});

const node = (memoryUsedPercent: number, nonYarnMemoryPercent: number, yarnContainers = 4): NodeSample => ({
  origin: { cpu: 0, memory: 0 }, k8s: { cpu: 0, memory: 0 }, yarnCapacity: { cpu: 0, memory: 0 },
  yarnUsed: { cpu: 4000, memory: 7 * 2 ** 30 }, claim: { cpu: 0, memory: 0 }, doubleBooked: { cpu: 0, memory: 0 },
  memoryUsedPercent, evictions: 0, inForce: true, yarnContainers, nonYarnMemoryPercent,
});

describe('burst summary', () => {
  const events: DemoEvent[] = [
    { t: 10, node: 'node-2', kind: 'memory-spike', detail: '' },
    { t: 11, node: 'node-2', kind: 'eviction', detail: '' },
    { t: 11.5, node: 'node-2', kind: 'eviction', detail: '' },
    { t: 20, node: 'node-2', kind: 'memory-spike-end', detail: '' },
  ];
  const run = (pcts: [number, number][]): Sample[] => pcts.map(([p, n], i) => ({ t: 9 + i, settled: true, nodes: { 'node-2': node(p, n) } }));

  it('says when the node was back under the threshold and how high it went after', () => {
    const b = burstSummary(run([[40, 30], [72, 64], [71, 64], [69, 64], [67.5, 64], [68, 64]]), events, 'node-2', 70)!;
    expect(b).toMatchObject({ startPercent: 72, peakPercent: 72, evictions: 2, backUnderAfterSec: 2, highestAfterPercent: 69, yarnContainersAtStart: 4, yarnGiBAtStart: 7 });
    expect(burstText(b)).toContain('under the 70 % threshold again 2 s after the burst began, at most 69 %');
  });

  it('says so when the burst could not take the node over the threshold', () => {
    const b = burstSummary(run([[40, 30], [68, 66], [68.3, 66]]), events, 'node-2', 70)!;
    expect(burstText(b)).toContain('the burst stayed under the 70 % threshold (YARN held too little there');
  });

  it('says so when everything but YARN is over the threshold', () => {
    const b = burstSummary(run([[40, 30], [78, 71], [77, 71], [75, 71]]), events, 'node-2', 70)!;
    expect(b.backUnderAfterSec).toBeNull();
    expect(burstText(b)).toContain('no eviction of YARN containers can bring the node under it');
  });
});

describe('burst size', () => {
  const G = 2 ** 30;
  const node = (usedGiB: number, yarnGiB: number) => ({ memoryTotalBytes: 64 * G, memoryUsedBytes: usedGiB * G, yarnWorkingSetBytes: yarnGiB * G });
  const after = (usedGiB: number, yarnGiB: number) => (usedGiB * G + burstBytes(node(usedGiB, yarnGiB), 0.76)) / (64 * G) * 100;
  const nonYarnAfter = (usedGiB: number, yarnGiB: number) => after(usedGiB, yarnGiB) - (yarnGiB / 64) * 100;
  it('takes the node to 76 % when YARN holds enough, everything else staying at most 64 %', () => {
    expect(after(20, 10)).toBeCloseTo(76, 6);
    expect(after(20, 5)).toBeCloseTo(64 + (5 / 64) * 100, 6);
    expect(nonYarnAfter(20, 5)).toBeCloseTo(64, 6);
  });
  it('takes the node just past 70 % when YARN holds little, everything else at most 68 %', () => {
    expect(after(20, 2.5)).toBeCloseTo(70.5, 6);
    expect(nonYarnAfter(20, 2.5)).toBeLessThanOrEqual(68);
    expect(after(20, 0.5)).toBeLessThan(70);
  });
});
