/**
 * The simulated ResourceManager over real loopback HTTP: shapes (JSON and XML), errors, node
 * filters, resize with every overCommitTimeout case, signals, auth, restart.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, type YarnSim, startYarnSim } from '../../sim/yarn/index.js';
import { get, http, json, parseXml, postJson, refused, resizePath } from './yarn-sim-helpers.js';

const N1 = 'worker-1:45454';
let sim: YarnSim | undefined;

afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

async function oneNode(extra: Parameters<typeof startYarnSim>[0] = {}): Promise<{ sim: YarnSim; clock: ManualClock; rm: string }> {
  const clock = new ManualClock();
  sim = await startYarnSim({
    clock, heartbeatMs: 0, nmServers: false,
    nodes: [{ host: 'worker-1', rpcPort: 45454, memoryMiB: 8192, vcores: 8 }],
    ...extra,
  });
  return { sim, clock, rm: sim.resourceManagers[0]!.url };
}

/** AM (1024/1) + 2 GUARANTEED 2048/2 + 2 OPPORTUNISTIC 1024/1, allocated in that order: 7168 MiB / 7 vcores. */
function mixedApp(s: YarnSim) {
  return s.cluster.submitApp({
    containers: [
      { count: 2, memoryMiB: 2048, vcores: 2, executionType: 'GUARANTEED' },
      { count: 2, memoryMiB: 1024, vcores: 1, executionType: 'OPPORTUNISTIC' },
    ],
    replaceFailed: false,
  });
}

const liveSeqs = (s: YarnSim, nodeId = N1): number[] => s.cluster.liveContainers(nodeId).map((c) => c.seq).sort((a, b) => a - b);

describe('RM read endpoints', () => {
  it('serves cluster info as JSON by default and XML by Accept', async () => {
    const { rm, clock } = await oneNode();
    const info = json(await get(`${rm}/ws/v1/cluster/info`)).clusterInfo;
    expect(info).toMatchObject({ id: clock.now(), startedOn: clock.now(), state: 'STARTED', haState: 'ACTIVE' });
    const bare = await get(`${rm}/ws/v1/cluster`);
    expect(json(bare).clusterInfo.haState).toBe('ACTIVE');
    const x = await get(`${rm}/ws/v1/cluster/info`, 'application/xml');
    expect(x.headers.get('content-type')).toMatch(/^application\/xml/);
    expect(parseXml(x).clusterInfo.haState).toBe('ACTIVE');
  });

  it('renders a one-node list as an array in JSON and a single <node> in XML', async () => {
    const { rm } = await oneNode();
    const j = await get(`${rm}/ws/v1/cluster/nodes`);
    expect(j.status).toBe(200);
    expect(j.headers.get('content-type')).toMatch(/^application\/json/);
    const nodes = json(j).nodes.node;
    expect(Array.isArray(nodes)).toBe(true);
    expect(nodes).toHaveLength(1);
    expect(nodes[0]).toMatchObject({
      id: N1, state: 'RUNNING', nodeHostName: 'worker-1', nodeHTTPAddress: 'worker-1:8042', rack: '/default-rack',
      totalResource: { memory: 8192, vCores: 8 }, usedResource: { memory: 0, vCores: 0 }, availableResource: { memory: 8192, vCores: 8 },
    });
    // 21 keys on a fresh node, none of the empty collections (reference §1.2).
    expect(Object.keys(nodes[0])).toHaveLength(21);
    const x = await get(`${rm}/ws/v1/cluster/nodes`, 'application/xml');
    expect(x.text.match(/<node>/g)).toHaveLength(1);
    expect(parseXml(x).nodes.node[0].totalResource).toMatchObject({ memory: 8192, vCores: 8 });
  });

  it('renders an empty list as {"nodes":null} (Jersey 1), {} (MOXy) and <nodes/>', async () => {
    const { rm } = await oneNode();
    expect((await get(`${rm}/ws/v1/cluster/nodes?states=LOST`)).text).toBe('{"nodes":null}');
    expect((await get(`${rm}/ws/v1/cluster/nodes?states=LOST`, 'application/xml')).text).toMatch(/<nodes\/>$/);
    await sim!.stop();
    const moxy = await oneNode({ emptyListStyle: 'empty-object' });
    expect((await get(`${moxy.rm}/ws/v1/cluster/nodes?states=LOST`)).text).toBe('{"nodes":{}}');
  });

  it('filters by states (comma list, case-insensitive); no param returns inactive nodes too', async () => {
    const { rm, sim: s } = await oneNode();
    s.cluster.addNode({ host: 'worker-2', rpcPort: 45454, memoryMiB: 4096, vcores: 4 });
    s.cluster.addNode({ host: 'worker-3', rpcPort: 45454, memoryMiB: 4096, vcores: 4 });
    s.cluster.setNodeState('worker-2:45454', 'LOST');
    s.cluster.setNodeState('worker-3:45454', 'UNHEALTHY');
    const ids = async (q: string) => json(await get(`${rm}/ws/v1/cluster/nodes${q}`)).nodes?.node?.map((n: any) => n.id) ?? [];
    expect(await ids('')).toEqual(['worker-1:45454', 'worker-3:45454', 'worker-2:45454']);
    expect(await ids('?states=running')).toEqual(['worker-1:45454']);
    expect(await ids('?states=Running,UNHEALTHY')).toEqual(['worker-1:45454', 'worker-3:45454']);
    const all = json(await get(`${rm}/ws/v1/cluster/nodes`)).nodes.node;
    const lost = all.find((n: any) => n.id === 'worker-2:45454');
    expect(lost).toMatchObject({ state: 'LOST', nodeHTTPAddress: '' });
    expect(lost.usedResource).toBeUndefined();
  });

  it('rejects an unknown state with 400 IllegalArgumentException', async () => {
    const { rm } = await oneNode();
    for (const q of ['bogusstate', 'RUNNING,BOGUS', '', ' RUNNING']) {
      const r = await get(`${rm}/ws/v1/cluster/nodes?states=${encodeURIComponent(q)}`);
      expect(r.status, q).toBe(400);
      expect(json(r).RemoteException).toMatchObject({ exception: 'IllegalArgumentException', javaClassName: 'java.lang.IllegalArgumentException' });
    }
    expect(json(await get(`${rm}/ws/v1/cluster/nodes?states=bogusstate`)).RemoteException.message).toContain('NodeState.BOGUSSTATE');
  });

  it('answers 400 for a malformed node id and 404 for an unknown one, JSON and XML', async () => {
    const { rm } = await oneNode();
    const ok = await get(`${rm}/ws/v1/cluster/nodes/${N1}`);
    expect(json(ok).node.id).toBe(N1);
    const bad = await get(`${rm}/ws/v1/cluster/nodes/node_invalid_foo`);
    expect(bad.status).toBe(400);
    expect(json(bad).RemoteException).toEqual({
      exception: 'IllegalArgumentException', message: 'Invalid NodeId [node_invalid_foo]. Expected host:port',
      javaClassName: 'java.lang.IllegalArgumentException',
    });
    const missing = await get(`${rm}/ws/v1/cluster/nodes/node_invalid:99`);
    expect(missing.status).toBe(404);
    expect(json(missing).RemoteException).toMatchObject({ exception: 'NotFoundException', javaClassName: 'org.apache.hadoop.yarn.webapp.NotFoundException' });
    expect(json(missing).RemoteException.message).toContain('nodeId, node_invalid:99, is not found');
    const badXml = await get(`${rm}/ws/v1/cluster/nodes/nope`, 'application/xml');
    expect(badXml.status).toBe(400);
    expect(parseXml(badXml).RemoteException.exception).toBe('IllegalArgumentException');
  });

  it('answers 404 without a RemoteException body for an unknown path', async () => {
    const { rm } = await oneNode();
    const r = await get(`${rm}/ws/v1/cluster/nodez`);
    expect(r.status).toBe(404);
    expect(r.text).toBe('');
  });

  it('reports cluster metrics', async () => {
    const { rm, sim: s } = await oneNode();
    mixedApp(s);
    const m = json(await get(`${rm}/ws/v1/cluster/metrics`)).clusterMetrics;
    expect(m).toMatchObject({
      totalMB: 8192, allocatedMB: 7168, availableMB: 1024, totalVirtualCores: 8, allocatedVirtualCores: 7,
      availableVirtualCores: 1, activeNodes: 1, lostNodes: 0, containersAllocated: 5, appsRunning: 1,
    });
  });
});

describe('RM resize (POST /nodes/{id}/resource)', () => {
  it('requires a JSON or XML Content-Type (415 otherwise)', async () => {
    const { rm } = await oneNode();
    const body = JSON.stringify({ resource: { memory: 4096, vCores: 4 }, overCommitTimeout: -1 });
    const text = await http(`${rm}${resizePath(N1)}`, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body });
    expect(text.status).toBe(415);
    const none = await http(`${rm}${resizePath(N1)}`, { method: 'POST', body: new Blob([body]) });
    expect(none.status).toBe(415);
    expect(sim!.cluster.node(N1)!.total).toEqual({ memoryMiB: 8192, vcores: 8 });
  });

  it('applies a JSON body, answers resourceInfo and reads back as totalResource', async () => {
    const { rm } = await oneNode();
    const r = await postJson(`${rm}${resizePath(N1)}`, { resource: { memory: 6144, vCores: 6 }, overCommitTimeout: -1 });
    expect(r.status).toBe(200);
    expect(json(r)).toMatchObject({ resourceInfo: { memory: 6144, vCores: 6 } });
    expect(json(await get(`${rm}/ws/v1/cluster/nodes/${N1}`)).node.totalResource).toMatchObject({ memory: 6144, vCores: 6 });
    expect(sim!.cluster.counters.get('rm.resize')).toBe(1);
  });

  it('applies a resize asynchronously after resizeDelayMs: the answer and an immediate GET still show the old total', async () => {
    const { rm, clock } = await oneNode({ resizeDelayMs: 50 });
    const r = await postJson(`${rm}${resizePath(N1)}`, { resource: { memory: 6144, vCores: 6 }, overCommitTimeout: -1 });
    expect(r.status).toBe(200);
    expect(json(r)).toMatchObject({ resourceInfo: { memory: 8192, vCores: 8 } });
    expect(json(await get(`${rm}/ws/v1/cluster/nodes/${N1}`)).node.totalResource).toMatchObject({ memory: 8192, vCores: 8 });
    await clock.advance(50);
    expect(json(await get(`${rm}/ws/v1/cluster/nodes/${N1}`)).node.totalResource).toMatchObject({ memory: 6144, vCores: 6 });
    // A queued update dies with the RM state (restart/failover): it never lands afterwards.
    await postJson(`${rm}${resizePath(N1)}`, { resource: { memory: 4096, vCores: 4 }, overCommitTimeout: -1 });
    await sim!.resourceManagers[0]!.restart();
    await clock.advance(100);
    expect(json(await get(`${rm}/ws/v1/cluster/nodes/${N1}`)).node.totalResource).toMatchObject({ memory: 8192, vCores: 8 });
  });

  it('carries 3.x resourceInformations in every ResourceInfo, JSON and XML, with Long.MAX_VALUE written exactly', async () => {
    const { rm } = await oneNode();
    const text = (await get(`${rm}/ws/v1/cluster/nodes/${N1}`)).text;
    expect(text).toContain('"totalResource":{"memory":8192,"vCores":8,"resourceInformations":{"resourceInformation":[{"attributes":{},"maximumAllocation":9223372036854775807,"minimumAllocation":0,"name":"memory-mb","resourceType":"COUNTABLE","units":"Mi","value":8192},{"attributes":{},"maximumAllocation":9223372036854775807,"minimumAllocation":0,"name":"vcores","resourceType":"COUNTABLE","units":"","value":8}]}}');
    const xml = (await get(`${rm}/ws/v1/cluster/nodes/${N1}`, 'application/xml')).text;
    expect(xml).toContain('<resourceInformations><resourceInformation><attributes/><maximumAllocation>9223372036854775807</maximumAllocation><minimumAllocation>0</minimumAllocation><name>memory-mb</name>');
  });

  it('applies an XML <resourceOption> body and answers XML when asked', async () => {
    const { rm } = await oneNode();
    const body = '<resourceOption><resource><memory>5120</memory><vCores>5</vCores></resource><overCommitTimeout>-1</overCommitTimeout></resourceOption>';
    const r = await http(`${rm}${resizePath(N1)}`, { method: 'POST', headers: { 'Content-Type': 'application/xml', Accept: 'application/xml' }, body });
    expect(r.status).toBe(200);
    expect(parseXml(r).resourceInfo).toMatchObject({ memory: 5120, vCores: 5 });
    const wrongRoot = await http(`${rm}${resizePath(N1)}`, { method: 'POST', headers: { 'Content-Type': 'application/xml' }, body: '<resource><memory>1</memory></resource>' });
    expect(wrongRoot.status).toBe(400);
  });

  it('rejects malformed bodies and ids before touching the node', async () => {
    const { rm } = await oneNode();
    expect((await postJson(`${rm}${resizePath(N1)}`, '{"resource":')).status).toBe(400);
    expect((await postJson(`${rm}${resizePath(N1)}`, { resource: { memory: 'lots', vCores: 1 }, overCommitTimeout: -1 })).status).toBe(400);
    const badId = await postJson(`${rm}${resizePath('worker-1')}`, { resource: { memory: 1024, vCores: 1 }, overCommitTimeout: -1 });
    expect(badId.status).toBe(400);
    expect(json(badId).RemoteException.message).toBe('Invalid NodeId [worker-1]. Expected host:port');
    const unknown = await postJson(`${rm}${resizePath('__probe__:1')}`, { resource: { memory: 1024, vCores: 1 }, overCommitTimeout: -1 });
    expect(unknown.status).toBe(404);
    expect(sim!.cluster.node(N1)!.total).toEqual({ memoryMiB: 8192, vcores: 8 });
  });

  it('overCommitTimeout −1 keeps running containers but blocks new allocations', async () => {
    const { rm, sim: s, clock } = await oneNode();
    mixedApp(s);
    const r = await postJson(`${rm}${resizePath(N1)}`, { resource: { memory: 4096, vCores: 4 }, overCommitTimeout: -1 });
    expect(json(r).resourceInfo).toMatchObject({ memory: 4096, vCores: 4 });
    clock.advance(3_600_000);
    const node = json(await get(`${rm}/ws/v1/cluster/nodes/${N1}`)).node;
    expect(node).toMatchObject({ numContainers: 5, usedMemoryMB: 7168, availMemoryMB: -3072 });
    expect(liveSeqs(s)).toEqual([1, 2, 3, 4, 5]);
    const other = s.cluster.submitApp({ am: { memoryMiB: 512, vcores: 1 } });
    expect(other.state).toBe('ACCEPTED');
    expect(other.live.size).toBe(0);
  });

  it('overCommitTimeout 0 kills at once: non-AM, OPPORTUNISTIC first, newest first, only until it fits', async () => {
    const { rm, sim: s } = await oneNode();
    const app = mixedApp(s);
    const finished: Array<[number, number]> = [];
    s.cluster.events.on('containerFinished', (c, info) => finished.push([c.seq, info.rmExitStatus]));
    // Needs 1024 MiB back: the newest OPPORTUNISTIC container (seq 5) alone.
    await postJson(`${rm}${resizePath(N1)}`, { resource: { memory: 6144, vCores: 8 }, overCommitTimeout: 0 });
    expect(liveSeqs(s)).toEqual([1, 2, 3, 4]);
    // Needs 3072 more: seq 4 (last OPPORTUNISTIC), then the newest GUARANTEED (seq 3).
    await postJson(`${rm}${resizePath(N1)}`, { resource: { memory: 3072, vCores: 8 }, overCommitTimeout: 0 });
    expect(liveSeqs(s)).toEqual([1, 2]);
    expect(finished).toEqual([[5, -102], [4, -102], [3, -102]]);
    expect(app.state).toBe('RUNNING');
    const node = json(await get(`${rm}/ws/v1/cluster/nodes/${N1}`)).node;
    expect(node).toMatchObject({ numContainers: 2, usedMemoryMB: 3072, availMemoryMB: 0, totalResource: { memory: 3072, vCores: 8 } });
  });

  it('a positive overCommitTimeout kills only once the deadline has passed', async () => {
    const { rm, sim: s, clock } = await oneNode();
    mixedApp(s);
    await postJson(`${rm}${resizePath(N1)}`, { resource: { memory: 6144, vCores: 8 }, overCommitTimeout: 10_000 });
    expect(liveSeqs(s)).toEqual([1, 2, 3, 4, 5]);
    clock.advance(9_999);
    await get(`${rm}/ws/v1/cluster/nodes`);
    expect(liveSeqs(s)).toEqual([1, 2, 3, 4, 5]);
    clock.advance(1);
    const node = json(await get(`${rm}/ws/v1/cluster/nodes/${N1}`)).node;
    expect(node.numContainers).toBe(4);
    expect(liveSeqs(s)).toEqual([1, 2, 3, 4]);
  });

  it('an omitted overCommitTimeout means 0: immediate kills', async () => {
    const { rm, sim: s } = await oneNode();
    mixedApp(s);
    await postJson(`${rm}${resizePath(N1)}`, { resource: { memory: 6144, vCores: 8 } });
    expect(liveSeqs(s)).toEqual([1, 2, 3, 4]);
  });

  it('a wrongly wrapped body unmarshals to 0/0 with timeout 0 and kills everything', async () => {
    const { rm, sim: s } = await oneNode();
    const app = mixedApp(s);
    const r = await postJson(`${rm}${resizePath(N1)}`, { resourceOption: { resource: { memory: 6144, vCores: 6 }, overCommitTimeout: -1 } });
    expect(r.status).toBe(200);
    expect(json(r).resourceInfo).toMatchObject({ memory: 0, vCores: 0 });
    expect(liveSeqs(s)).toEqual([]);
    expect(app.state).toBe('FAILED');
    expect(json(await get(`${rm}/ws/v1/cluster/nodes/${N1}`)).node.totalResource).toMatchObject({ memory: 0, vCores: 0 });
  });

  it('an unchanged total is a no-op, and a later negative timeout does not disarm an earlier deadline', async () => {
    const { rm, sim: s, clock } = await oneNode();
    mixedApp(s);
    // Same total with timeout 0: nothing at all happens (not even arming).
    await postJson(`${rm}${resizePath(N1)}`, { resource: { memory: 8192, vCores: 8 }, overCommitTimeout: 0 });
    expect(s.cluster.node(N1)!.overcommitDeadline).toBe(-1);
    await postJson(`${rm}${resizePath(N1)}`, { resource: { memory: 7168, vCores: 8 }, overCommitTimeout: 5_000 });
    await postJson(`${rm}${resizePath(N1)}`, { resource: { memory: 6144, vCores: 8 }, overCommitTimeout: -1 });
    clock.advance(4_999);
    await get(`${rm}/ws/v1/cluster/info`);
    expect(liveSeqs(s)).toEqual([1, 2, 3, 4, 5]);
    clock.advance(1);
    await get(`${rm}/ws/v1/cluster/info`);
    expect(liveSeqs(s)).toEqual([1, 2, 3, 4]);
  });

  it('refuses an inactive node with 500 YarnRuntimeException', async () => {
    const { rm, sim: s } = await oneNode();
    s.cluster.setNodeState(N1, 'LOST');
    const r = await postJson(`${rm}${resizePath(N1)}`, { resource: { memory: 1024, vCores: 1 }, overCommitTimeout: -1 });
    expect(r.status).toBe(500);
    expect(json(r).RemoteException.exception).toBe('YarnRuntimeException');
  });

  it('growing a node lets pending containers in', async () => {
    const { rm, sim: s } = await oneNode();
    const app = s.cluster.submitApp({ containers: [{ count: 10, memoryMiB: 1024, vcores: 1 }] });
    expect(app.live.size).toBe(8);
    await postJson(`${rm}${resizePath(N1)}`, { resource: { memory: 12288, vCores: 12 }, overCommitTimeout: -1 });
    expect(app.live.size).toBe(11);
  });
});

describe('RM signal, auth and restart', () => {
  it('signals a container: 200 empty, case-insensitive; bad command 400 text; unknown container 500 text', async () => {
    const { rm, sim: s, clock } = await oneNode({ cluster: { signalDelayMs: 1000 } });
    mixedApp(s);
    const victim = s.cluster.liveContainers(N1).find((c) => c.seq === 3)!;
    const signals: string[] = [];
    s.cluster.events.on('containerSignal', (c, cmd) => signals.push(`${c.seq}:${cmd}`));
    const ok = await http(`${rm}/ws/v1/cluster/containers/${victim.id}/signal/graceful_shutdown`, { method: 'POST' });
    expect(ok.status).toBe(200);
    expect(ok.text).toBe('');
    expect(s.cluster.counters.get('rm.signal')).toBe(1);
    // Delivered with the next NM heartbeat, then the process exits with 143.
    expect(signals).toEqual([]);
    clock.advance(1000);
    s.cluster.tick();
    expect(signals).toEqual(['3:GRACEFUL_SHUTDOWN']);
    expect(s.cluster.container(victim.id)).toMatchObject({ state: 'EXITED_WITH_FAILURE', exitCode: 143 });
    expect(liveSeqs(s)).toEqual([1, 2, 4, 5]);

    const bad = await http(`${rm}/ws/v1/cluster/containers/${victim.id}/signal/NAP`, { method: 'POST' });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(bad.text).toContain('Invalid command: NAP');
    const gone = await http(`${rm}/ws/v1/cluster/containers/${victim.id}/signal/FORCEFUL_SHUTDOWN`, { method: 'POST' });
    expect(gone.status).toBe(500);
    expect(gone.text).toBe(`Trying to signal an absent container ${victim.id}`);
    const malformed = await http(`${rm}/ws/v1/cluster/containers/container_x/signal/FORCEFUL_SHUTDOWN`, { method: 'POST' });
    expect(malformed.status).toBe(500);
  });

  it('requireUser: writes without user.name get 401 AuthorizationException', async () => {
    const { rm } = await oneNode({ requireUser: true });
    const body = { resource: { memory: 4096, vCores: 4 }, overCommitTimeout: -1 };
    const anon = await postJson(`${rm}${resizePath(N1)}`, body);
    expect(anon.status).toBe(401);
    expect(json(anon).RemoteException.exception).toBe('AuthorizationException');
    expect((await get(`${rm}/ws/v1/cluster/nodes`)).status).toBe(200);
    expect((await postJson(`${rm}${resizePath(N1)}?user.name=loom`, body)).status).toBe(200);
  });

  it('anonymousAllowed false: the auth filter answers 401 to any request without user.name', async () => {
    const { rm } = await oneNode({ anonymousAllowed: false });
    const r = await get(`${rm}/ws/v1/cluster/nodes`);
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('PseudoAuth');
    expect(r.text).not.toContain('RemoteException');
    expect((await get(`${rm}/ws/v1/cluster/nodes?user.name=loom`)).status).toBe(200);
  });

  it('RM restart forgets overrides, gets a new id/startedOn and a new container epoch; refused while down', async () => {
    const { rm, sim: s, clock } = await oneNode();
    const rmServer = s.resourceManagers[0]!;
    await postJson(`${rm}${resizePath(N1)}`, { resource: { memory: 4096, vCores: 4 }, overCommitTimeout: -1 });
    const before = json(await get(`${rm}/ws/v1/cluster/info`)).clusterInfo;
    await rmServer.stop();
    expect(await refused(`${rm}/ws/v1/cluster/info`)).toBe('ECONNREFUSED');
    clock.advance(60_000);
    await rmServer.start();
    const after = json(await get(`${rm}/ws/v1/cluster/info`)).clusterInfo;
    expect(after.id).toBe(before.id + 60_000);
    expect(after.startedOn).toBe(after.id);
    expect(json(await get(`${rm}/ws/v1/cluster/nodes/${N1}`)).node.totalResource).toMatchObject({ memory: 8192, vCores: 8 });
    const app = s.cluster.submitApp();
    expect(app.id).toBe(`application_${after.id}_0001`);
    expect([...app.live.keys()][0]).toBe(`container_e01_${after.id}_0001_01_000001`);
  });

  it('serves /isActive', async () => {
    const { rm } = await oneNode();
    const r = await get(`${rm}/isActive`);
    expect(r.status).toBe(200);
    expect(r.text).toBe('I am Active!');
  });

  it('serves a 5,000-node list (one array, every node) from one RM', async () => {
    const nodes = Array.from({ length: 5000 }, (_, i) => ({ host: `n${i}.bench`, rpcPort: 8041, memoryMiB: 65536, vcores: 32 }));
    const { rm } = await oneNode({ nodes });
    const list = json(await get(`${rm}/ws/v1/cluster/nodes?states=RUNNING`)).nodes.node;
    expect(list).toHaveLength(5000);
    expect(new Set(list.map((n: any) => n.id)).size).toBe(5000);
    // A change shows up in the next list (per-node render cache invalidated).
    await postJson(`${rm}${resizePath('n4321.bench:8041')}`, { resource: { memory: 1024, vCores: 1 }, overCommitTimeout: -1 });
    const again = json(await get(`${rm}/ws/v1/cluster/nodes`)).nodes.node;
    expect(again.find((n: any) => n.id === 'n4321.bench:8041').totalResource).toMatchObject({ memory: 1024, vCores: 1 });
    expect(sim!.cluster.counters.get('rm.nodes')).toBe(2);
  });
});

describe('a large node list', () => {
  it('is written a piece at a time with the event loop turning between pieces (as a threaded RM serves it), whole and exact, in JSON and XML', async () => {
    const clock = new ManualClock();
    sim = await startYarnSim({
      clock, heartbeatMs: 0, nmServers: false,
      nodes: Array.from({ length: 3000 }, (_, k) => ({ host: `w${k}`, rpcPort: 45454, memoryMiB: 8192, vcores: 8 })),
    });
    const rm = sim.resourceManagers[0]!.url;
    const { ServerResponse } = await import('node:http');
    let turn = 0;
    let ticking = true;
    const tick = () => { turn++; if (ticking) setImmediate(tick); };
    setImmediate(tick);
    // The turns in which the server wrote each of its bodies of over 1 MB.
    const turnsOf = new Map<object, Set<number>>();
    const write = ServerResponse.prototype.write;
    const end = ServerResponse.prototype.end;
    const note = (res: object, chunk: unknown) => {
      if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) return;
      if (Number((res as { getHeader(n: string): unknown }).getHeader('content-length')) < 2 ** 20) return;
      if (!turnsOf.has(res)) turnsOf.set(res, new Set());
      turnsOf.get(res)!.add(turn);
    };
    ServerResponse.prototype.write = function (this: object, chunk: unknown, ...rest: unknown[]) { note(this, chunk); return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest); } as typeof write;
    ServerResponse.prototype.end = function (this: object, chunk?: unknown, ...rest: unknown[]) { note(this, chunk); return (end as (...a: unknown[]) => unknown).call(this, chunk, ...rest); } as typeof end;
    try {
      const j = await get(`${rm}/ws/v1/cluster/nodes`, 'application/json');
      expect(j.status).toBe(200);
      expect(Number(j.headers.get('content-length'))).toBe(Buffer.byteLength(j.text));
      const nodes = (json(j) as { nodes: { node: { id: string }[] } }).nodes.node;
      expect(nodes).toHaveLength(3000);
      expect(new Set(nodes.map((n) => n.id)).size).toBe(3000);
      const x = await get(`${rm}/ws/v1/cluster/nodes`, 'application/xml');
      expect(Number(x.headers.get('content-length'))).toBe(Buffer.byteLength(x.text));
      expect(x.text.match(/<node>/g)).toHaveLength(3000);
      expect(x.text.startsWith('<?xml')).toBe(true);
      expect(x.text.endsWith('</nodes>')).toBe(true);
    } finally {
      ServerResponse.prototype.write = write;
      ServerResponse.prototype.end = end;
      ticking = false;
    }
    expect(turnsOf.size).toBe(2);
    for (const turns of turnsOf.values()) expect(turns.size).toBeGreaterThan(1);
  });
});
