/**
 * The RM poll period stretches with the cost of the last poll (so that polling a large cluster
 * takes at most a set share of a core) and never falls below the configured period. A
 * ClusterPoller with the real RM client against the YARN simulator over loopback HTTP; the
 * injected clock stands in for the time a poll takes and an injected CPU meter for the CPU it
 * costs (both advance while the list is fetched).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../clock/clock.js';
import { createLogger } from '../../log/logger.js';
import { ClusterPoller, MAX_STRETCHED_POLL_MS, MIN_STRETCHING_COST_MS, POLL_CORE_SHARE, pollPeriodAfter, type PollResult } from '../../operator/rm-poller.js';
import { startYarnSim, type YarnSim } from '../../sim/yarn/index.js';
import { ResourceManagerClient } from '../../yarn/rm-client.js';

const open: { close(): Promise<void> }[] = [];
const sims: YarnSim[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
  await Promise.all(sims.splice(0).map((s) => s.stop()));
});

describe('pollPeriodAfter', () => {
  it('is the configured period for cheap polls, cost ÷ share for costly ones, capped', () => {
    expect(pollPeriodAfter(2000, 0)).toBe(2000);
    expect(pollPeriodAfter(2000, 150)).toBe(2000);
    // Below the stretching floor the configured period holds, however short it is.
    expect(pollPeriodAfter(200, MIN_STRETCHING_COST_MS - 1)).toBe(200);
    expect(pollPeriodAfter(200, MIN_STRETCHING_COST_MS)).toBe(MIN_STRETCHING_COST_MS / POLL_CORE_SHARE);
    expect(pollPeriodAfter(2000, 800)).toBeCloseTo(800 / POLL_CORE_SHARE);
    expect(pollPeriodAfter(2000, 1e9)).toBe(MAX_STRETCHED_POLL_MS);
    // A configured period above the cap is kept.
    expect(pollPeriodAfter(120_000, 1e9)).toBe(120_000);
  });
});

describe('ClusterPoller period', () => {
  it('waits cost ÷ share after a costly poll, and the configured period again after a cheap one (the least of the last polls counts)', async () => {
    const clock = new ManualClock();
    const sim = await startYarnSim({ nodes: [{ host: 'w1', rpcPort: 45454, memoryMiB: 8192, vcores: 8 }], nmServers: false, heartbeatMs: 0, clock });
    sims.push(sim);
    const client = new ResourceManagerClient({ rmUrls: [sim.resourceManagers[0]!.url], timeoutMs: 5000 });
    open.push(client);
    let costMs = 1500;
    let cpuMs = 0;
    const list = client.listNodesSince.bind(client);
    // The poll takes and costs costMs: CPU and time alike.
    client.listNodesSince = async (o) => { const r = await list(o); cpuMs += costMs; await clock.advance(costMs); return r; };
    const results: PollResult[] = [];
    let delivered!: () => void;
    let next = new Promise<void>((r) => { delivered = r; });
    const poller = new ClusterPoller('default', client, 2000, createLogger('test', { level: 'silent' }), clock, (r) => {
      results.push(r);
      delivered();
      next = new Promise<void>((r2) => { delivered = r2; });
    }, () => cpuMs);
    poller.start();
    await next;
    await poller.settled();
    await clock.runDue();
    expect(results).toHaveLength(1);
    expect(poller.periodMs).toBe(1500 / POLL_CORE_SHARE);
    // Not due at the configured period …
    await clock.advance(2000);
    expect(poller.polls).toBe(1);
    // … but at cost ÷ share from the poll's start.
    costMs = 0;
    const second = next;
    await clock.advance(1500 / POLL_CORE_SHARE - 1500 - 2000);
    await second;
    expect(poller.polls).toBe(2);
    await poller.settled();
    expect(poller.periodMs).toBe(2000);
    const third = next;
    await clock.advance(2000);
    await third;
    expect(poller.polls).toBe(3);
    poller.stop();
  });

  it('a cheap poll slow only because the machine is busy (long in time, little CPU) does not stretch the period', async () => {
    const clock = new ManualClock();
    const sim = await startYarnSim({ nodes: [{ host: 'w1', rpcPort: 45454, memoryMiB: 8192, vcores: 8 }], nmServers: false, heartbeatMs: 0, clock });
    sims.push(sim);
    const client = new ResourceManagerClient({ rmUrls: [sim.resourceManagers[0]!.url], timeoutMs: 5000 });
    open.push(client);
    let cpuMs = 0;
    const list = client.listNodesSince.bind(client);
    // Each poll takes 1.5 s waiting for a CPU and costs 5 ms of it.
    client.listNodesSince = async (o) => { const r = await list(o); cpuMs += 5; await clock.advance(1500); return r; };
    let delivered!: () => void;
    let next = new Promise<void>((r) => { delivered = r; });
    const poller = new ClusterPoller('default', client, 2000, createLogger('test', { level: 'silent' }), clock, () => {
      delivered();
      next = new Promise<void>((r2) => { delivered = r2; });
    }, () => cpuMs);
    poller.start();
    for (let polls = 1; polls <= 4; polls++) {
      const due = next;
      // The first poll is at once; each next one at the configured period from the last one's start.
      if (polls > 1) await clock.advance(2000 - 1500);
      await due;
      await poller.settled();
      await clock.runDue();
      expect(poller.polls).toBe(polls);
      expect(poller.periodMs).toBe(2000);
    }
    poller.stop();
  });
});
