/**
 * A large RM node list is decoded in the worker and answered as the difference from the list the
 * poller holds (only nodes whose state, total or used changed cross back to the event loop). The
 * view the poller builds from differences must equal the one a whole list gives, and its change
 * set must be exactly the nodes that changed. Real RM client, YARN simulator, loopback HTTP.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../clock/clock.js';
import { createLogger } from '../../log/logger.js';
import { ClusterPoller } from '../../operator/rm-poller.js';
import { startYarnSim, type YarnSim } from '../../sim/yarn/index.js';
import { ResourceManagerClient } from '../../yarn/rm-client.js';

const open: { close(): Promise<void> }[] = [];
const sims: YarnSim[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
  await Promise.all(sims.splice(0).map((s) => s.stop()));
});

const NODES = Array.from({ length: 6 }, (_, k) => ({ host: `w${k}`, rpcPort: 45454, memoryMiB: 8192, vcores: 8 }));

async function setup(offThreadBytes: number) {
  const clock = new ManualClock();
  const sim = await startYarnSim({ nodes: NODES, nmServers: false, heartbeatMs: 0, clock });
  sims.push(sim);
  const client = new ResourceManagerClient({ rmUrls: [sim.resourceManagers[0]!.url], timeoutMs: 5000, offThreadBytes });
  open.push(client);
  return { sim, client, clock };
}

describe('RM node list as a difference (decoder worker)', () => {
  it('whole at first, then only the changed nodes and the gone ones; an unknown token gets the whole list', async () => {
    const { sim, client } = await setup(0);
    const first = await client.listNodesSince(undefined);
    expect(first.full).toBe(true);
    expect(first.full && first.nodes).toHaveLength(6);
    expect(first.token).toEqual(expect.any(String));

    const same = await client.listNodesSince(first.token);
    expect(same).toMatchObject({ full: false, changed: [], removed: [] });

    sim.cluster.updateNodeResource('w1:45454', { memoryMiB: 4096, vcores: 4 }, -1);
    sim.cluster.setNodeState('w2:45454', 'LOST'); // gone from the active-state list
    const delta = await client.listNodesSince(same.token);
    expect(delta.full).toBe(false);
    if (delta.full) return;
    expect(delta.changed.map((n) => [n.id, n.totalResource])).toEqual([['w1:45454', { memoryMiB: 4096, vcores: 4 }]]);
    expect(delta.removed).toEqual(['w2:45454']);

    // A token the worker no longer holds (an older one, or a restarted worker) means a whole list.
    const stale = await client.listNodesSince(first.token);
    expect(stale.full).toBe(true);
    expect(stale.full && stale.nodes).toHaveLength(5);
  });

  it('the poller built from differences shows what a poller of whole lists shows, and reports exactly the changed nodes', async () => {
    const { sim, client, clock } = await setup(0);
    const whole = new ResourceManagerClient({ rmUrls: [sim.resourceManagers[0]!.url], timeoutMs: 5000 }); // inline, always whole
    open.push(whole);
    const log = createLogger('test', { level: 'silent' });
    const byDelta = new ClusterPoller('default', client, 2000, log, clock, () => undefined);
    const byWhole = new ClusterPoller('default', whole, 2000, log, clock, () => undefined);
    const viewOf = (p: ClusterPoller) => (p.view.status === 'ok' ? [...p.view.nodes].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => [k, n.state, n.totalResource, n.usedResource]) : p.view.status);

    const r0 = await byDelta.pollOnce();
    await byWhole.pollOnce();
    expect(r0.changed).toHaveLength(6);
    expect(viewOf(byDelta)).toEqual(viewOf(byWhole));

    sim.cluster.updateNodeResource('w3:45454', { memoryMiB: 2048, vcores: 2 }, -1);
    sim.cluster.setNodeState('w4:45454', 'LOST');
    const r1 = await byDelta.pollOnce();
    const w1 = await byWhole.pollOnce();
    expect([...r1.changed].sort()).toEqual(['w3:45454', 'w4:45454']);
    expect([...r1.changed].sort()).toEqual([...w1.changed].sort());
    expect(r1.availabilityChanged).toBe(false);
    expect(viewOf(byDelta)).toEqual(viewOf(byWhole));

    const r2 = await byDelta.pollOnce();
    expect(r2.changed).toEqual([]);
    expect(viewOf(byDelta)).toEqual(viewOf(byWhole));

    // A new term forgets the list: the first poll of it is whole again, every node "changed".
    byDelta.start();
    byDelta.stop();
    const r3 = await byDelta.pollOnce();
    expect(r3.changed).toHaveLength(5);
    expect(viewOf(byDelta)).toEqual(viewOf(byWhole));
  });
});
