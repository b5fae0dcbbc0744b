/**
 * ResourceManagerClient against the YARN simulator (sim/yarn) over real loopback HTTP:
 * JSON and XML, resize + read-back, RemoteException mapping, HA discovery and failover.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock, startYarnSim, type YarnSim, type YarnSimOptions } from '../../sim/yarn/index.js';
import { YarnDocumentError, YarnHttpError, YarnNoActiveRmError, YarnTransportError } from '../../yarn/errors.js';
import { YarnHttp, type YarnRequestEvent } from '../../yarn/http.js';
import { NodeManagerClient } from '../../yarn/nm-client.js';
import { ResourceManagerClient, type ResourceManagerClientOptions } from '../../yarn/rm-client.js';
import { mib, vcores } from '../../yarn/resource.js';

const NODES = [
  { host: 'worker-1', rpcPort: 45454, memoryMiB: 8192, vcores: 8 },
  { host: 'worker-2', rpcPort: 45454, memoryMiB: 16384, vcores: 16 },
  { host: 'worker-3', rpcPort: 45454, memoryMiB: 4096, vcores: 4 },
];

const open: { close(): Promise<void> }[] = [];
const sims: YarnSim[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
  await Promise.all(sims.splice(0).map((s) => s.stop()));
});

async function sim(options: YarnSimOptions = {}): Promise<YarnSim & { clock: ManualClock }> {
  const clock = new ManualClock();
  const s = await startYarnSim({ nodes: NODES, nmServers: false, heartbeatMs: 0, clock, ...options });
  sims.push(s);
  return Object.assign(s, { clock });
}

function client(options: ResourceManagerClientOptions): ResourceManagerClient {
  const c = new ResourceManagerClient({ backoffBaseMs: 5, backoffMaxMs: 20, timeoutMs: 2000, ...options });
  open.push(c);
  return c;
}

const res = (m: number, c: number) => ({ memoryMiB: mib(m), vcores: vcores(c) });

describe('RM client against a single simulated RM', () => {
  it('cluster info, epoch and active URL', async () => {
    const s = await sim();
    const rm = s.resourceManagers[0]!;
    const c = client({ rmUrls: [rm.url], cluster: 'default' });
    const info = await c.clusterInfo();
    expect(info).toMatchObject({ haState: 'ACTIVE', state: 'STARTED', id: rm.id, startedOn: rm.id });
    expect(info.hadoopVersion).toEqual(expect.any(String));
    expect(c.activeUrl).toBe(rm.url);
    expect(c.epoch).toEqual({ activeUrl: rm.url, id: rm.id, startedOn: rm.id });
  });

  it('node list in JSON and XML gives the same model; inactive nodes only on request', async () => {
    const s = await sim();
    s.cluster.setNodeState('worker-3:45454', 'LOST');
    const url = s.resourceManagers[0]!.url;
    const j = client({ rmUrls: [url] });
    const x = client({ rmUrls: [url], format: 'xml' });
    const fromJson = await j.listNodes();
    const fromXml = await x.listNodes();
    expect(fromJson.rejected).toEqual([]);
    expect(fromJson.nodes.map((n) => n.id).sort()).toEqual(['worker-1:45454', 'worker-2:45454']);
    expect(fromXml).toEqual(fromJson);
    const w2 = fromJson.nodes.find((n) => n.id === 'worker-2:45454')!;
    expect(w2).toMatchObject({ state: 'RUNNING', nodeHostName: 'worker-2', totalResource: { memoryMiB: 16384, vcores: 16 }, usedResource: { memoryMiB: 0, vcores: 0 } });
    const all = await x.listNodes({ states: 'all' });
    expect(all.nodes.map((n) => [n.id, n.state]).sort()).toEqual([['worker-1:45454', 'RUNNING'], ['worker-2:45454', 'RUNNING'], ['worker-3:45454', 'LOST']]);
    const lostOnly = await j.listNodes({ states: ['lost'] });
    expect(lostOnly.nodes.map((n) => n.id)).toEqual(['worker-3:45454']);
  });

  it.each(['null', 'empty-object'] as const)('empty node list rendered as %s (JSON) and <nodes/> (XML)', async (style) => {
    const s = await sim({ nodes: [], emptyListStyle: style });
    const url = s.resourceManagers[0]!.url;
    expect(await client({ rmUrls: [url] }).listNodes()).toEqual({ nodes: [], rejected: [], superseded: [] });
    expect(await client({ rmUrls: [url], format: 'xml' }).listNodes()).toEqual({ nodes: [], rejected: [], superseded: [] });
  });

  it.each(['json', 'xml'] as const)('resize sends the exact body and reads back totalResource (%s)', async (format) => {
    const s = await sim();
    const c = client({ rmUrls: [s.resourceManagers[0]!.url], format, user: 'loom' });
    const before = s.cluster.counters.get('rm.resize');
    const r = await c.updateNodeResource('worker-1:45454', res(6144, 5), -1);
    expect(r).toEqual({
      nodeId: 'worker-1:45454', requested: res(6144, 5), overCommitTimeoutMs: -1,
      echoed: res(6144, 5), total: res(6144, 5), applied: true, used: res(0, 0),
    });
    expect(s.cluster.node('worker-1:45454')!.total).toEqual({ memoryMiB: 6144, vcores: 5 });
    expect(s.cluster.counters.get('rm.resize') - before).toBe(1);
    expect((await c.getNode('worker-1:45454')).totalResource).toEqual(res(6144, 5));
  });

  it('overCommitTimeout is always sent: a 0 timeout kills at once, -1 leaves containers alone', async () => {
    const s = await sim({ nodes: [{ host: 'w', rpcPort: 1, memoryMiB: 4096, vcores: 4 }] });
    s.cluster.submitApp({ am: { memoryMiB: 1024, vcores: 1 }, containers: [{ count: 2, memoryMiB: 1024, vcores: 1 }] });
    const c = client({ rmUrls: [s.resourceManagers[0]!.url] });
    expect((await c.getNode('w:1')).usedResource).toEqual(res(3072, 3));
    await c.updateNodeResource('w:1', res(2048, 2), -1);
    expect(s.cluster.liveContainers('w:1')).toHaveLength(3);
    await c.updateNodeResource('w:1', res(2048, 3), 0);
    expect(s.cluster.liveContainers('w:1').length).toBeLessThan(3);
  });

  it('RemoteException 404 / 400 are mapped into YarnHttpError with the exception name (JSON and XML)', async () => {
    const s = await sim();
    const url = s.resourceManagers[0]!.url;
    for (const format of ['json', 'xml'] as const) {
      const c = client({ rmUrls: [url], format });
      const notFound = await c.getNode('nohost:1').catch((e: unknown) => e);
      expect(notFound).toBeInstanceOf(YarnHttpError);
      expect(notFound).toMatchObject({ status: 404, remoteException: { exception: 'NotFoundException' } });
      expect((notFound as YarnHttpError).remoteException?.message).toContain('nohost:1');
      const resize404 = await c.updateNodeResource('nohost:1', res(1024, 1), -1).catch((e: unknown) => e);
      expect(resize404).toMatchObject({ status: 404, remoteException: { exception: 'NotFoundException' } });
      const h = new YarnHttp({ retries: 0 });
      open.push(h);
      const bad = await h.send({ base: url, path: '/ws/v1/cluster/nodes', query: { states: 'BOGUSSTATE' }, method: 'GET', accept: format, endpoint: 'nodes.list' }).catch((e: unknown) => e);
      expect(bad).toMatchObject({ status: 400, remoteException: { exception: 'IllegalArgumentException' } });
      expect((bad as YarnHttpError).remoteException?.message).toContain('NodeState.BOGUSSTATE');
      expect((bad as YarnHttpError).isRemote('IllegalArgumentException')).toBe(true);
    }
  });

  it('an inactive node cannot be resized (500 from the RM, not retried)', async () => {
    const s = await sim();
    s.cluster.setNodeState('worker-3:45454', 'DECOMMISSIONED');
    const c = client({ rmUrls: [s.resourceManagers[0]!.url] });
    const before = s.cluster.counters.get('rm.resize');
    await expect(c.updateNodeResource('worker-3:45454', res(1024, 1), -1)).rejects.toMatchObject({ status: 500 });
    expect(s.cluster.counters.get('rm.resize') - before).toBe(1);
  });

  it('simple auth: user.name is sent on writes (RM requiring a caller)', async () => {
    const s = await sim({ requireUser: true, anonymousAllowed: false });
    const url = s.resourceManagers[0]!.url;
    const anonymous = client({ rmUrls: [url], retries: 0 });
    await expect(anonymous.clusterInfo()).rejects.toThrow();
    const withUser = client({ rmUrls: [url], user: 'yarn-svc' });
    expect((await withUser.updateNodeResource('worker-2:45454', res(1000, 3), 1000)).applied).toBe(true);
  });

  it('signals a container; the simulated NM ends it; an unknown one is a 500 text error', async () => {
    const s = await sim({ nodes: [{ host: 'w', rpcPort: 1, memoryMiB: 8192, vcores: 8 }], nmServers: true });
    const app = s.cluster.submitApp({ containers: [{ count: 1, memoryMiB: 1024, vcores: 1 }] });
    const worker = [...app.live.values()].find((c) => !c.isAM)!;
    const events: YarnRequestEvent[] = [];
    const c = client({ rmUrls: [s.resourceManagers[0]!.url], onRequest: (e) => events.push(e), cluster: 'c1' });
    await c.signalContainer(worker.id, 'GRACEFUL_SHUTDOWN');
    expect(events.at(-1)).toMatchObject({ cluster: 'c1', method: 'POST', endpoint: 'containers.signal', status: 200 });
    s.clock.advance(1000); // one NM heartbeat later the NM delivers the signal
    const nm = new NodeManagerClient({ url: s.nodeManagers.get('w:1')!.url });
    open.push(nm);
    const seen = await nm.getContainer(worker.id);
    expect(seen).toMatchObject({ id: worker.id, state: 'EXITED_WITH_FAILURE', exitCode: 143, isAM: false });
    const err = await c.signalContainer('container_1_9999_01_000002', 'FORCEFUL_SHUTDOWN').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(YarnHttpError);
    expect(err).toMatchObject({ status: 500 });
    expect((err as YarnHttpError).excerpt).toContain('container_1_9999_01_000002');
  });

  it('cluster metrics', async () => {
    const s = await sim();
    const m = await client({ rmUrls: [s.resourceManagers[0]!.url], format: 'xml' }).clusterMetrics();
    expect(m).toMatchObject({ activeNodes: 3, totalMB: 8192 + 16384 + 4096, totalVirtualCores: 28 });
  });
});

describe('RM client HA against a simulated HA pair', () => {
  it('finds the active RM whatever the order of rm-ids', async () => {
    const s = await sim({ ha: true });
    const [rm1, rm2] = s.resourceManagers;
    const c = client({ rmUrls: [rm2!.url, rm1!.url] });
    expect((await c.listNodes()).nodes).toHaveLength(3);
    expect(c.activeUrl).toBe(rm1!.url);
    expect(s.cluster.counters.get('rm.redirect')).toBe(0);
  });

  it('failover mid-run: the next update lands on the new active exactly once, epoch changes', async () => {
    const s = await sim({ ha: true });
    const [rm1, rm2] = s.resourceManagers;
    const c = client({ rmUrls: [rm1!.url, rm2!.url] });
    expect((await c.updateNodeResource('worker-1:45454', res(4096, 4), -1)).applied).toBe(true);
    const epoch1 = c.epoch!;
    expect(epoch1.activeUrl).toBe(rm1!.url);

    s.failover(); // rm2 ACTIVE (forgets overrides), rm1 STANDBY → 307 to rm2
    expect(s.activeResourceManager()).toBe(rm2);
    const resizesBefore = s.cluster.counters.get('rm.resize');
    const redirectsBefore = s.cluster.counters.get('rm.redirect');
    const r = await c.updateNodeResource('worker-2:45454', res(10000, 10), 30_000);
    expect(r.applied).toBe(true);
    expect(s.cluster.node('worker-2:45454')!.total).toEqual({ memoryMiB: 10000, vcores: 10 });
    expect(s.cluster.counters.get('rm.resize') - resizesBefore).toBe(1); // executed once, on rm2
    expect(s.cluster.counters.get('rm.redirect') - redirectsBefore).toBe(1); // the POST to rm1
    expect(c.activeUrl).toBe(rm2!.url);
    expect(c.epoch!.activeUrl).toBe(rm2!.url);
    expect(c.epoch!.id).not.toBe(epoch1.id);
    // the failover forgot the first override: the operator sees it and re-applies
    expect((await c.getNode('worker-1:45454')).totalResource).toEqual(res(8192, 8));
  });

  it('a GET after failover follows too, in XML', async () => {
    const s = await sim({ ha: true });
    const c = client({ rmUrls: s.resourceManagers.map((r) => r.url), format: 'xml' });
    await c.clusterInfo();
    s.failover();
    expect((await c.listNodes()).nodes).toHaveLength(3);
    expect(c.activeUrl).toBe(s.resourceManagers[1]!.url);
    // clusterInfo on the now-standby is not redirected: the client must notice haState itself
    s.failover();
    const info = await c.clusterInfo();
    expect(info.haState).toBe('ACTIVE');
    expect(c.activeUrl).toBe(s.resourceManagers[0]!.url);
  });

  it('the active RM stops (connection refused): the client switches to the promoted one', async () => {
    const s = await sim({ ha: true });
    const [rm1, rm2] = s.resourceManagers;
    const c = client({ rmUrls: [rm1!.url, rm2!.url] });
    await c.listNodes();
    expect(c.activeUrl).toBe(rm1!.url);
    await rm1!.stop();
    s.setHaState('rm2', 'ACTIVE');
    const r = await c.updateNodeResource('worker-3:45454', res(2048, 2), -1);
    expect(r.applied).toBe(true);
    expect(c.activeUrl).toBe(rm2!.url);
  });

  it('no RM active → a clear error listing every RM', async () => {
    const s = await sim({ ha: true });
    const [rm1, rm2] = s.resourceManagers;
    s.setHaState('rm1', 'STANDBY');
    await rm2!.stop();
    const c = client({ rmUrls: [rm1!.url, rm2!.url], cluster: 'prod' });
    const err = await c.listNodes().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(YarnNoActiveRmError);
    expect((err as Error).message).toContain(`no RM active among ${rm1!.url} (STANDBY)`);
    expect((err as Error).message).toContain(rm2!.url);
    expect((err as Error).message).toMatch(/connect/);
  });
});

describe('RM node list decoded off the main thread (large bodies)', () => {
  /** A one-path RM stand-in serving a crafted node list (bad entries, a duplicate host). */
  async function craftedRm(body: string | (() => string), contentType = 'application/json', options: { cutAfter?: number } = {}): Promise<string> {
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      if (req.url?.startsWith('/ws/v1/cluster/info')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ clusterInfo: { id: 1, startedOn: 1, state: 'STARTED', haState: 'ACTIVE' } }));
        return;
      }
      const text = Buffer.from(typeof body === 'string' ? body : body());
      res.writeHead(200, { 'content-type': contentType, 'content-length': String(text.length) });
      // In 16 KiB writes, so the body arrives in many chunks; cut short when asked.
      const end = options.cutAfter ?? text.length;
      for (let at = 0; at < end; at += 16_384) res.write(text.subarray(at, Math.min(end, at + 16_384)));
      if (options.cutAfter === undefined) res.end();
      else res.socket?.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    open.push({ close: () => new Promise<void>((r) => server.close(() => r())) });
    return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  }

  it.each(['json', 'xml'] as const)('the worker gives the same list as the main thread, and the main thread never parses the body (%s)', async (format) => {
    const s = await sim();
    s.cluster.setNodeState('worker-3:45454', 'LOST');
    const url = s.resourceManagers[0]!.url;
    const inline = await client({ rmUrls: [url], format }).listNodes({ states: 'all' });
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const off = await client({ rmUrls: [url], format, offThreadBytes: 0 }).listNodes({ states: 'all' });
      expect(off).toEqual(inline);
      expect(off.nodes).toHaveLength(3);
      // Only the small cluster-info probe is parsed here; the node list is not.
      expect(parse.mock.calls.filter(([text]) => String(text).includes('"nodes"'))).toEqual([]);
    } finally {
      parse.mockRestore();
    }
  });

  it('invalid entries are skipped and duplicates of a host superseded, in the worker as inline', async () => {
    const node = (id: string, state: string, health: number) => ({
      id, state, nodeHostName: id.split(':')[0], nodeHTTPAddress: `${id.split(':')[0]}:8042`, lastHealthUpdate: health, nodeLabels: [],
      totalResource: { memory: 8192, vCores: 8 }, usedResource: { memory: 0, vCores: 0 },
    });
    const body = JSON.stringify({ nodes: { node: [node('a:1', 'RUNNING', 2), node('a:2', 'LOST', 3), { id: 42 }, node('b:1', 'RUNNING', 1)] } });
    const url = await craftedRm(body);
    const inline = await client({ rmUrls: [url] }).listNodes({ states: 'all' });
    const off = await client({ rmUrls: [url], offThreadBytes: 0 }).listNodes({ states: 'all' });
    expect(inline.nodes.map((n) => n.id).sort()).toEqual(['a:1', 'b:1']);
    expect(inline.superseded.map((n) => n.id)).toEqual(['a:2']);
    expect(inline.rejected).toHaveLength(1);
    expect(off).toEqual(inline);
  });

  /** A JSON node list of `n` valid nodes (≈ 210 bytes each). */
  const bigList = (n: number, memory = 8192): string => JSON.stringify({
    nodes: {
      node: Array.from({ length: n }, (_, k) => ({
        id: `h${k}:45454`, state: 'RUNNING', nodeHostName: `h${k}`, nodeHTTPAddress: `h${k}:8042`, lastHealthUpdate: 1, nodeLabels: [],
        totalResource: { memory, vCores: 8 }, usedResource: { memory: 0, vCores: 0 },
      })),
    },
  });
  /** Buffer.concat calls on this thread that assembled at least `bytes` bytes. */
  function watchConcat(bytes: number): { big(): number[]; restore(): void } {
    const spy = vi.spyOn(Buffer, 'concat');
    return {
      big: () => spy.mock.calls.map(([list]) => list.reduce((sum, b) => sum + b.length, 0)).filter((size) => size >= bytes),
      restore: () => spy.mockRestore(),
    };
  }

  it('a large node list streams to the worker chunk by chunk: this thread never assembles the body', async () => {
    const body = bigList(5000);
    expect(body.length).toBeGreaterThan(1_000_000);
    const url = await craftedRm(body);
    const inline = await client({ rmUrls: [url], offThreadBytes: 64 * 2 ** 20 }).listNodes();
    const streamed = client({ rmUrls: [url], offThreadBytes: 256 * 1024 });
    const concat = watchConcat(256 * 1024);
    try {
      const off = await streamed.listNodes();
      expect(off).toEqual(inline);
      expect(off.nodes).toHaveLength(5000);
      const first = await streamed.listNodesSince(undefined);
      expect(first.full && first.nodes).toHaveLength(5000);
      expect(await streamed.listNodesSince(first.token)).toMatchObject({ full: false, changed: [], removed: [] });
      expect(concat.big()).toEqual([]);
    } finally {
      concat.restore();
    }
  });

  it('a streamed node list over the body cap is refused while it streams, one error naming the URL; the client keeps working', async () => {
    let nodes = 5000;
    const url = await craftedRm(() => bigList(nodes));
    const c = client({ rmUrls: [url], offThreadBytes: 64 * 1024, maxBodyBytes: 512 * 1024, retries: 0 });
    const err = await c.listNodesSince(undefined).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(YarnDocumentError);
    expect((err as Error).message).toContain(`${url}/ws/v1/cluster/nodes`);
    expect((err as Error).message).toMatch(/larger than 524288 bytes/);
    nodes = 1000; // ≈ 210 KB: under the cap, over the off-thread size
    const next = await c.listNodesSince(undefined);
    expect(next.full && next.nodes).toHaveLength(1000);
  });

  it('a node list cut short mid-stream is a transport error naming the URL; the next list decodes whole', async () => {
    const body = bigList(3000);
    const cut = await craftedRm(body, 'application/json', { cutAfter: Math.floor(body.length / 2) });
    const c = client({ rmUrls: [cut], offThreadBytes: 64 * 1024, retries: 0 });
    const err = await c.listNodes().catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(YarnTransportError);
    expect((err as Error).message).toContain(`${cut}/ws/v1/cluster/nodes`);
    const whole = await craftedRm(body);
    const good = client({ rmUrls: [whole], offThreadBytes: 64 * 1024 });
    expect((await good.listNodes()).nodes).toHaveLength(3000);
  });

  it('a body the worker cannot decode is one error naming the URL, and the next list works', async () => {
    const url = await craftedRm('{"nodes": {"node": [ {"id": "a:1", ');
    const c = client({ rmUrls: [url], offThreadBytes: 0 });
    const err = await c.listNodes().catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(YarnDocumentError);
    expect((err as Error).message).toContain(`${url}/ws/v1/cluster/nodes`);
    const s = await sim();
    const good = client({ rmUrls: [s.resourceManagers[0]!.url], offThreadBytes: 0 });
    expect((await good.listNodes()).nodes).toHaveLength(3);
  });
});
