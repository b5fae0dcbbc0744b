/** The simulated RM HA pair: standby redirects, the exempt info path, failover and no-active cases. */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, type YarnSim, startYarnSim } from '../../sim/yarn/index.js';
import { get, http, json, postJson, refused, resizePath } from './yarn-sim-helpers.js';

const N1 = 'worker-1:45454';
let sim: YarnSim | undefined;

afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

async function pair() {
  const clock = new ManualClock();
  sim = await startYarnSim({ ha: true, clock, heartbeatMs: 0, nmServers: false, nodes: [{ host: 'worker-1', rpcPort: 45454, memoryMiB: 8192, vcores: 8 }] });
  const [rm1, rm2] = sim.resourceManagers;
  return { sim, clock, rm1: rm1!, rm2: rm2! };
}

describe('RM HA pair', () => {
  it('the standby answers 307 with Location = active base + path + query and a plain-text body', async () => {
    const { rm1, rm2 } = await pair();
    const r = await get(`${rm2.url}/ws/v1/cluster/nodes?states=RUNNING`);
    expect(r.status).toBe(307);
    expect(r.headers.get('location')).toBe(`${rm1.url}/ws/v1/cluster/nodes?states=RUNNING`);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(r.text).toContain('This is standby RM. The redirect url is: ');
    // The bare alias and writes are redirected too (307 keeps method and body).
    expect((await get(`${rm2.url}/ws/v1/cluster`)).status).toBe(307);
    const w = await postJson(`${rm2.url}${resizePath(N1)}`, { resource: { memory: 1024, vCores: 1 }, overCommitTimeout: -1 });
    expect(w.status).toBe(307);
    expect(w.headers.get('location')).toBe(`${rm1.url}${resizePath(N1)}`);
    expect(sim!.cluster.node(N1)!.total.memoryMiB).toBe(8192);
    // Following it by hand reaches the active RM.
    const followed = await postJson(w.headers.get('location')!, { resource: { memory: 1024, vCores: 1 }, overCommitTimeout: -1 });
    expect(followed.status).toBe(200);
    expect(sim!.cluster.counters.get('rm.redirect')).toBe(3);
  });

  it('the exact path /ws/v1/cluster/info is served by the standby with haState STANDBY', async () => {
    const { rm1, rm2 } = await pair();
    expect(json(await get(`${rm2.url}/ws/v1/cluster/info`)).clusterInfo.haState).toBe('STANDBY');
    expect(json(await get(`${rm1.url}/ws/v1/cluster/info`)).clusterInfo.haState).toBe('ACTIVE');
    expect((await get(`${rm2.url}/ws/v1/cluster/info/`)).status).toBe(307);
    const isActive = await get(`${rm2.url}/isActive`);
    expect(isActive.status).toBe(405);
    expect(isActive.text).toBe('I am not Active!');
  });

  it('with no active RM the standby answers 307 with Refresh and without Location; a stopped RM refuses connections', async () => {
    const { rm1, rm2 } = await pair();
    await rm1.stop();
    expect(await refused(`${rm1.url}/ws/v1/cluster/info`)).toBe('ECONNREFUSED');
    const r = await get(`${rm2.url}/ws/v1/cluster/nodes`);
    expect(r.status).toBe(307);
    expect(r.headers.get('location')).toBeNull();
    expect(r.headers.get('refresh')).toMatch(/^5;url=.*next\.refresh\.interval=1/);
    expect(r.text).toContain('Can not find any active RM. Will retry in next 5 seconds.');
  });

  it('failover swaps roles; the new active has a new id and has forgotten every override', async () => {
    const { rm1, rm2, clock } = await pair();
    await postJson(`${rm1.url}${resizePath(N1)}`, { resource: { memory: 4096, vCores: 4 }, overCommitTimeout: -1 });
    const before = json(await get(`${rm1.url}/ws/v1/cluster/info`)).clusterInfo.id;
    clock.advance(1000);
    sim!.failover();
    expect(json(await get(`${rm2.url}/ws/v1/cluster/info`)).clusterInfo).toMatchObject({ haState: 'ACTIVE', id: before + 1000 });
    expect(json(await get(`${rm1.url}/ws/v1/cluster/info`)).clusterInfo.haState).toBe('STANDBY');
    const r = await get(`${rm1.url}/ws/v1/cluster/nodes/${N1}`);
    expect(r.headers.get('location')).toBe(`${rm2.url}/ws/v1/cluster/nodes/${N1}`);
    expect(json(await get(r.headers.get('location')!)).node.totalResource).toMatchObject({ memory: 8192, vCores: 8 });
  });

  it('setHaState can leave both RMs standby', async () => {
    const { rm2 } = await pair();
    sim!.setHaState('rm1', 'STANDBY');
    const r = await http(`${rm2.url}/ws/v1/cluster/metrics`);
    expect(r.status).toBe(307);
    expect(r.headers.get('location')).toBeNull();
    expect(sim!.activeResourceManager()).toBeUndefined();
  });
});
