/** The simulated NodeManager web service and NM lifecycle (restart loses the RM override). */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, type YarnSim, startYarnSim } from '../../sim/yarn/index.js';
import { get, json, parseXml, postJson, refused, resizePath } from './yarn-sim-helpers.js';

const N1 = 'worker-1:45454';
let sim: YarnSim | undefined;

afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

async function withNm(opts: Parameters<typeof startYarnSim>[0] = {}) {
  const clock = new ManualClock();
  sim = await startYarnSim({
    clock, heartbeatMs: 0,
    nodes: [{ host: 'worker-1', rpcPort: 45454, memoryMiB: 8192, vcores: 8 }],
    cluster: { nmRetainFinishedMs: 3000 },
    ...opts,
  });
  const nm = sim.nodeManagers.get(N1)!;
  return { sim, clock, nm, rm: sim.resourceManagers[0]!.url };
}

describe('NM web service', () => {
  it('serves node info under /ws/v1/node and /ws/v1/node/info', async () => {
    const { nm, clock } = await withNm();
    for (const path of ['/ws/v1/node', '/ws/v1/node/info']) {
      const info = json(await get(`${nm.url}${path}`)).nodeInfo;
      expect(info).toMatchObject({ id: N1, nodeHostName: 'worker-1', nmStartupTime: clock.now(), totalVCoresAllocatedContainers: 8, totalPmemAllocatedContainersMB: 8192, nodeHealthy: true });
      // 3.x: the resource types as ResourceTypeInfo.toString() joined with ", ".
      expect(info.resourceTypes).toBe('name: memory-mb, units: Mi, type: COUNTABLE, name: vcores, units: , type: COUNTABLE');
    }
    expect(parseXml(await get(`${nm.url}/ws/v1/node/info`, 'application/xml')).nodeInfo.id).toBe(N1);
  });

  it('advertises its real web port as the RM nodeHTTPAddress', async () => {
    const { nm, rm } = await withNm();
    expect(json(await get(`${rm}/ws/v1/cluster/nodes/${N1}`)).node.nodeHTTPAddress).toBe(`worker-1:${nm.port}`);
  });

  it('lists containers with the upstream field set; empty list is null / <containers/>', async () => {
    const { nm, sim: s } = await withNm();
    expect((await get(`${nm.url}/ws/v1/node/containers`)).text).toBe('{"containers":null}');
    expect((await get(`${nm.url}/ws/v1/node/containers`, 'application/xml')).text).toMatch(/<containers\/>$/);
    const app = s.cluster.submitApp({ user: 'etl', containers: [{ count: 1, memoryMiB: 2048, vcores: 2, executionType: 'OPPORTUNISTIC' }] });
    const list = json(await get(`${nm.url}/ws/v1/node/containers`)).containers.container;
    expect(list).toHaveLength(2);
    const am = list[0];
    expect(Object.keys(am).sort()).toEqual([
      'containerLogFiles', 'containerLogsLink', 'diagnostics', 'executionType', 'exitCode', 'id', 'nodeId', 'state', 'totalMemoryNeededMB',
      'totalVCoresNeeded', 'user',
    ]);
    expect(am).toMatchObject({
      id: `container_${app.clusterTimestamp}_0001_01_000001`, state: 'RUNNING', exitCode: -1000, diagnostics: '', user: 'etl',
      totalMemoryNeededMB: 1024, totalVCoresNeeded: 1, executionType: 'GUARANTEED', nodeId: N1,
    });
    expect(list[1]).toMatchObject({ executionType: 'OPPORTUNISTIC', totalMemoryNeededMB: 2048 });
    const x = parseXml(await get(`${nm.url}/ws/v1/node/containers`, 'application/xml'));
    expect(x.containers.container).toHaveLength(2);
  });

  it('a single-container list is still an array', async () => {
    const { nm, sim: s } = await withNm();
    s.cluster.submitApp();
    const body = json(await get(`${nm.url}/ws/v1/node/containers`));
    expect(Array.isArray(body.containers.container)).toBe(true);
    expect(body.containers.container).toHaveLength(1);
  });

  it('gets one container; 400 for a malformed id, 404 for one not on this NM', async () => {
    const { nm, sim: s } = await withNm();
    const app = s.cluster.submitApp();
    const id = [...app.live.keys()][0]!;
    expect(json(await get(`${nm.url}/ws/v1/node/containers/${id}`)).container.id).toBe(id);
    const bad = await get(`${nm.url}/ws/v1/node/containers/container_bogus`);
    expect(bad.status).toBe(400);
    expect(json(bad).RemoteException.exception).toBe('BadRequestException');
    expect(json(bad).RemoteException.message).toContain('invalid container id, container_bogus');
    const other = 'container_1700000000000_0099_01_000001';
    const missing = await get(`${nm.url}/ws/v1/node/containers/${other}`);
    expect(missing.status).toBe(404);
    expect(json(missing).RemoteException.exception).toBe('NotFoundException');
    expect(json(missing).RemoteException.message).toContain(`container with id, ${other}, not found`);
    expect((await get(`${nm.url}/ws/v1/node/nope`)).status).toBe(404);
  });

  it('an exited container leaves the RM at once, stays listed as EXITED for a while, then is dropped', async () => {
    const { nm, rm, sim: s, clock } = await withNm();
    const app = s.cluster.submitApp({ containers: [{ count: 1, memoryMiB: 2048, vcores: 2 }] });
    const worker = [...app.live.values()].find((c) => !c.isAM)!;
    const ended: string[] = [];
    s.cluster.events.on('containerFinished', (c) => ended.push(c.id));
    s.cluster.containerExited(worker.id, 1, 'task failed');
    expect(ended).toEqual([worker.id]);
    expect(json(await get(`${rm}/ws/v1/cluster/nodes/${N1}`)).node.numContainers).toBe(2); // the failed task was replaced
    const listed = json(await get(`${nm.url}/ws/v1/node/containers/${worker.id}`)).container;
    expect(listed).toMatchObject({ state: 'EXITED_WITH_FAILURE', exitCode: 1, diagnostics: 'task failed' });
    clock.advance(3000);
    expect((await get(`${nm.url}/ws/v1/node/containers/${worker.id}`)).status).toBe(404);
  });
});

describe('NM lifecycle', () => {
  it('restart: refuses connections while down, new nmStartupTime, RM forgets the override, containers survive', async () => {
    const { nm, rm, sim: s, clock } = await withNm();
    s.cluster.submitApp({ containers: [{ count: 2, memoryMiB: 1024, vcores: 1 }] });
    const r = await postJson(`${rm}${resizePath(N1)}`, { resource: { memory: 4096, vCores: 4 }, overCommitTimeout: -1 });
    expect(json(r).resourceInfo).toMatchObject({ memory: 4096, vCores: 4 });
    const started = json(await get(`${nm.url}/ws/v1/node/info`)).nodeInfo.nmStartupTime;
    await nm.stop();
    expect(await refused(`${nm.url}/ws/v1/node/info`)).toBe('ECONNREFUSED');
    // Down but not yet re-registered: the RM still holds the override.
    expect(json(await get(`${rm}/ws/v1/cluster/nodes/${N1}`)).node.totalResource).toMatchObject({ memory: 4096, vCores: 4 });
    clock.advance(5000);
    await nm.start();
    const info = json(await get(`${nm.url}/ws/v1/node/info`)).nodeInfo;
    expect(info.nmStartupTime).toBe(started + 5000);
    const node = json(await get(`${rm}/ws/v1/cluster/nodes/${N1}`)).node;
    expect(node.totalResource).toMatchObject({ memory: 8192, vCores: 8 });
    expect(node.numContainers).toBe(3);
    expect(json(await get(`${nm.url}/ws/v1/node/containers`)).containers.container).toHaveLength(3);
  });

  it('restart() with a new reported capability takes that one', async () => {
    const { nm, rm } = await withNm();
    await postJson(`${rm}${resizePath(N1)}`, { resource: { memory: 4096, vCores: 4 }, overCommitTimeout: -1 });
    await nm.restart({ downMs: 20, reported: { memoryMiB: 16384, vcores: 16 } });
    expect(json(await get(`${rm}/ws/v1/cluster/nodes/${N1}`)).node.totalResource).toMatchObject({ memory: 16384, vCores: 16 });
  });

  it('restartNodeManager with a new RPC port: old NodeId SHUTDOWN, new one RUNNING (both listed)', async () => {
    const { rm, sim: s } = await withNm({ nmServers: false });
    const fresh = s.cluster.restartNodeManager(N1, { rpcPort: 45455 });
    expect(fresh.id).toBe('worker-1:45455');
    const nodes = json(await get(`${rm}/ws/v1/cluster/nodes`)).nodes.node.map((n: any) => [n.id, n.state]);
    expect(nodes).toEqual([['worker-1:45455', 'RUNNING'], [N1, 'SHUTDOWN']]);
    const resize = await postJson(`${rm}${resizePath(N1)}`, { resource: { memory: 1024, vCores: 1 }, overCommitTimeout: -1 });
    expect(resize.status).toBe(500);
  });
});
