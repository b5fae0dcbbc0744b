/**
 * Done when #6: with nothing changing, the operator makes zero RM resizes and zero Node patches
 * over 30 s, while it keeps polling (one node list per poll). The world is the seeded one
 * (batch pods, two running YARN apps), with the stand-ins off so that nothing moves.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SimWorld } from '../../sim/world.js';
import { DEFAULT_CLUSTER_ID } from '../../kube/wire.js';
import { GIB, claimOf, metricValue, metricsText, runOperator, setOrigin, settingsFor, sleep, waitFor } from './operator-helpers.js';

describe('steady state', () => {
  let world: SimWorld;
  let op: Awaited<ReturnType<typeof runOperator>>;

  beforeAll(async () => {
    world = await SimWorld.start({ nodes: 3, standIns: false, seed: true });
    for (const n of ['node-1', 'node-2', 'node-3']) setOrigin(world, n, 12_000, 40 * GIB);
    // Default hysteresis and grow interval, as in production; a fast poll.
    op = await runOperator(settingsFor(world, { pollSeconds: 0.5, growIntervalSeconds: 10, hysteresisCpuMilli: 1000, hysteresisMemoryBytes: GIB, hysteresisPercent: 5 }));
    await waitFor(() => ['node-1', 'node-2', 'node-3'].every((n) => claimOf(world, n) !== undefined), 5000, 'claims written');
    // Let every reaction to our own writes settle (watch echoes, a poll or two).
    await sleep(1500);
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
    await sleep(30_000);
    expect(counters.get('rm.resize')).toBe(0);
    expect(world.kube.stats.count({ verb: 'patch', resource: 'nodes' })).toBe(0);
    expect(world.kube.stats.count({ verb: 'update', resource: 'nodes' })).toBe(0);
    expect(op.controller.writes.length).toBe(writes0);
    // Alive: about 60 polls, each exactly one node list (plus nothing else per poll).
    const polls = op.controller.pollCount(DEFAULT_CLUSTER_ID) - polls0;
    expect(polls).toBeGreaterThanOrEqual(20);
    expect(counters.get('rm.nodes')).toBeGreaterThanOrEqual(polls - 1);
    expect(counters.get('rm.nodes')).toBeLessThanOrEqual(polls + 1);
    expect(counters.get('rm.node')).toBe(0);
    const m1 = await metricsText(op.metricsUrl);
    expect(metricValue(m1, 'loom_rm_resizes_total')).toBe(metricValue(m0, 'loom_rm_resizes_total'));
    expect(metricValue(m1, 'loom_node_patches_total')).toBe(metricValue(m0, 'loom_node_patches_total'));
  }, 60_000);
});
