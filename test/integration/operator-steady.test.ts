/**
 * With nothing changing, the operator makes zero RM resizes and zero Node patches over 30 s of its
 * own (simulated) time, while it keeps polling (one node list per poll). The world is the seeded
 * one (batch pods, two running YARN apps), with the stand-ins off so that nothing moves. Time is
 * the operator's injected clock: the test moves it poll by poll and waits, after each step, until
 * everything the operator observed has been processed.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ManualClock } from '../../clock/clock.js';
import { SimWorld } from '../../sim/world.js';
import { DEFAULT_CLUSTER_ID } from '../../kube/wire.js';
import { GIB, claimOf, metricValue, metricsText, runOperator, setOrigin, settingsFor, waitFor } from './operator-helpers.js';

const POLL_MS = 500;

describe('steady state', () => {
  let world: SimWorld;
  let op: Awaited<ReturnType<typeof runOperator>>;
  const clock = new ManualClock();

  beforeAll(async () => {
    world = await SimWorld.start({ nodes: 3, standIns: false, seed: true, rmResizeDelayMs: 0 });
    for (const n of ['node-1', 'node-2', 'node-3']) setOrigin(world, n, 12_000, 40 * GIB);
    // Default hysteresis and grow interval, as in production.
    op = await runOperator(settingsFor(world, { pollSeconds: POLL_MS / 1000, growIntervalSeconds: 10, hysteresisCpuMilli: 1000, hysteresisMemoryBytes: GIB, hysteresisPercent: 5 }), undefined, { clock });
    await waitFor(() => ['node-1', 'node-2', 'node-3'].every((n) => claimOf(world, n) !== undefined), 5000, 'claims written');
    // Every reaction to our own writes (watch echoes, the next polls, the grow interval) is over.
    await op.controller.settled(world.kube.store.resourceVersion);
    for (let t = 0; t < 12_000; t += POLL_MS) {
      await clock.advance(POLL_MS);
      await op.controller.settled(world.kube.store.resourceVersion);
    }
  });

  afterAll(async () => {
    await op?.stop();
    await world?.stop();
  });

  test('30 s with nothing changing: no RM resize, no Node patch, polls keep running', async () => {
    expect(world.yarn.cluster.liveContainers().length).toBeGreaterThan(0);
    const counters = world.yarn.cluster.counters;
    counters.reset();
    world.kube.stats.reset();
    const polls0 = op.controller.pollCount(DEFAULT_CLUSTER_ID);
    const writes0 = op.controller.writes.length;
    const m0 = await metricsText(op.metricsUrl);
    for (let t = 0; t < 30_000; t += POLL_MS) {
      await clock.advance(POLL_MS);
      await op.controller.settled(world.kube.store.resourceVersion);
    }
    expect(counters.get('rm.resize')).toBe(0);
    expect(world.kube.stats.count({ verb: 'patch', resource: 'nodes' })).toBe(0);
    expect(world.kube.stats.count({ verb: 'update', resource: 'nodes' })).toBe(0);
    expect(op.controller.writes.length).toBe(writes0);
    // Alive: one poll per period, each exactly one node list (plus nothing else per poll).
    const polls = op.controller.pollCount(DEFAULT_CLUSTER_ID) - polls0;
    expect(polls).toBe(30_000 / POLL_MS);
    expect(counters.get('rm.nodes')).toBe(polls);
    expect(counters.get('rm.node')).toBe(0);
    const m1 = await metricsText(op.metricsUrl);
    expect(metricValue(m1, 'loom_rm_resizes_total')).toBe(metricValue(m0, 'loom_rm_resizes_total'));
    expect(metricValue(m1, 'loom_node_patches_total')).toBe(metricValue(m0, 'loom_node_patches_total'));
  });
});
