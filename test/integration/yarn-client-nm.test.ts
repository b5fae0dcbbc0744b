/**
 * NodeManagerClient against the simulated NM web servers (sim/yarn) over real loopback HTTP.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, startYarnSim, type YarnSim } from '../../sim/yarn/index.js';
import { YarnArgumentError, YarnDocumentError, YarnTransportError } from '../../yarn/errors.js';
import { NodeManagerClient } from '../../yarn/nm-client.js';

const NODE_ID = 'worker-1:45454';
const open: { close(): Promise<void> }[] = [];
const sims: YarnSim[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
  await Promise.all(sims.splice(0).map((s) => s.stop()));
});

async function setup(opts: { emptyListStyle?: 'null' | 'empty-object' } = {}) {
  const clock = new ManualClock();
  const s = await startYarnSim({
    nodes: [{ host: 'worker-1', rpcPort: 45454, memoryMiB: 8192, vcores: 8 }],
    heartbeatMs: 0, clock, ...opts,
  });
  sims.push(s);
  const url = s.nodeManagers.get(NODE_ID)!.url;
  const nm = (format: 'json' | 'xml' = 'json') => {
    const c = new NodeManagerClient({ url, format, backoffBaseMs: 5, backoffMaxMs: 20, timeoutMs: 2000, retries: 1 });
    open.push(c);
    return c;
  };
  return { s, clock, url, nm };
}

describe('NM client', () => {
  it.each(['json', 'xml'] as const)('node info (%s)', async (format) => {
    const { s, nm } = await setup();
    const { info, restarted } = await nm(format).nodeInfo();
    const node = s.cluster.node(NODE_ID)!;
    expect(restarted).toBe(false);
    expect(info).toMatchObject({
      id: NODE_ID, nodeHostName: 'worker-1', nmStartupTime: node.nmStartupTime, nodeHealthy: true,
      totalPmemAllocatedContainersMB: 8192, totalVCoresAllocatedContainers: 8, pmemCheckEnabled: true, vmemCheckEnabled: false,
    });
    expect(typeof info.hadoopVersion).toBe('string');
  });

  it('notices an NM restart through nmStartupTime', async () => {
    const { s, clock, nm } = await setup();
    const c = nm('xml');
    const first = await c.nodeInfo();
    expect(c.startupTime).toBe(first.info.nmStartupTime);
    expect((await c.nodeInfo()).restarted).toBe(false);
    clock.advance(60_000);
    await s.nodeManagers.get(NODE_ID)!.restart();
    const after = await c.nodeInfo();
    expect(after.restarted).toBe(true);
    expect(after.previousStartupTime).toBe(first.info.nmStartupTime);
    expect(after.info.nmStartupTime).toBe(first.info.nmStartupTime! + 60_000);
    expect((await c.nodeInfo()).restarted).toBe(false);
  });

  it('lists containers in JSON and XML identically; get by id; live filter', async () => {
    const { s, clock, nm } = await setup();
    const app = s.cluster.submitApp({ user: 'etl', replaceFailed: false, containers: [{ count: 2, memoryMiB: 2048, vcores: 2, executionType: 'OPPORTUNISTIC' }] });
    const ids = [...app.live.keys()].sort();
    expect(ids).toHaveLength(3);
    const j = await nm('json').listContainers();
    const x = await nm('xml').listContainers();
    expect(j.rejected).toEqual([]);
    expect(x).toEqual(j);
    expect(j.containers.map((c) => c.id).sort()).toEqual(ids);
    const am = j.containers.find((c) => c.isAM)!;
    expect(am).toMatchObject({ appId: app.id, user: 'etl', state: 'RUNNING', exitCode: -1000, executionType: 'GUARANTEED', nodeId: NODE_ID, totalMemoryNeededMB: 1024 });
    const workers = j.containers.filter((c) => !c.isAM);
    expect(workers.map((w) => [w.executionType, w.totalMemoryNeededMB, w.totalVCoresNeeded])).toEqual([['OPPORTUNISTIC', 2048, 2], ['OPPORTUNISTIC', 2048, 2]]);
    expect(workers[0]!.containerLogFiles).toContain('stderr');

    // one worker exits: still listed (EXITED_WITH_FAILURE) but not live
    s.cluster.containerExited(workers[0]!.id, 1, 'boom');
    const c = nm('xml');
    const gone = await c.getContainer(workers[0]!.id);
    expect(gone).toMatchObject({ state: 'EXITED_WITH_FAILURE', exitCode: 1, diagnostics: 'boom' });
    expect((await c.liveContainers()).map((l) => l.id).sort()).toEqual(ids.filter((i) => i !== workers[0]!.id));
    // after the NM forgets it, get says "not found" → undefined
    clock.advance(10_000);
    expect(await c.getContainer(workers[0]!.id)).toBeUndefined();
    expect(await nm('json').getContainer(workers[0]!.id)).toBeUndefined();
    await expect(c.getContainer('container_bad')).rejects.toBeInstanceOf(YarnArgumentError);
  });

  it.each(['null', 'empty-object'] as const)('empty container list (%s / <containers/>)', async (style) => {
    const { nm } = await setup({ emptyListStyle: style });
    expect(await nm('json').listContainers()).toEqual({ containers: [], rejected: [] });
    expect(await nm('xml').listContainers()).toEqual({ containers: [], rejected: [] });
  });

  it('an NM that is down is a connect error, not an empty list', async () => {
    const { s, nm } = await setup();
    const c = nm();
    await s.nodeManagers.get(NODE_ID)!.stop();
    const err = await c.listContainers().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(YarnTransportError);
    expect((err as YarnTransportError).kind).toBe('connect');
  });
});

describe('NM client: bounded answers', () => {
  /** An NM whose container list is a 200 MB stream, produced chunk by chunk as the client reads. */
  async function hugeNm(): Promise<{ url: string; sent: () => number; closed: Promise<void>; stop: () => Promise<void> }> {
    let sent = 0;
    let markClosed!: () => void;
    const closed = new Promise<void>((r) => { markClosed = r; });
    const entry = JSON.stringify({ id: 'container_1700000000000_0001_01_000002', state: 'RUNNING', nodeId: 'x:1', diagnostics: 'd'.repeat(900) });
    const server = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"containers":{"container":[');
      const total = 200 * 2 ** 20;
      const chunk = Buffer.from(`${entry},`.repeat(64));
      const pump = (): void => {
        while (sent < total) {
          sent += chunk.length;
          if (!res.write(chunk)) { res.once('drain', pump); return; }
        }
        res.end(`${entry}]}}`);
      };
      res.on('close', () => markClosed());
      pump();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      sent: () => sent,
      closed,
      stop: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
    };
  }

  it('a 200 MB container list is refused once it passes the limit, and the stream is dropped', async () => {
    const nm = await hugeNm();
    try {
      const c = new NodeManagerClient({ url: nm.url, timeoutMs: 20_000, retries: 0, maxBodyBytes: 4 * 2 ** 20 });
      open.push(c);
      const err = await c.listContainers().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(YarnDocumentError);
      expect((err as Error).message).toMatch(/larger than 4194304 bytes/);
      await nm.closed;
      // The server stops at the first full socket buffers after the limit, far from 200 MB.
      expect(nm.sent()).toBeLessThan(32 * 2 ** 20);
    } finally {
      await nm.stop();
    }
  });

  it('an unchanged body reuses the last list (by digest); a changed one is parsed again', async () => {
    const { s, nm } = await setup();
    s.cluster.submitApp({ user: 'etl', replaceFailed: false, containers: [{ count: 1, memoryMiB: 1024, vcores: 1 }] });
    const c = nm();
    const a = await c.listContainers();
    expect(await c.listContainers()).toBe(a);
    s.cluster.submitApp({ user: 'etl', replaceFailed: false, containers: [{ count: 1, memoryMiB: 1024, vcores: 1 }] });
    const b = await c.listContainers();
    expect(b).not.toBe(a);
    expect(b.containers.length).toBe(a.containers.length + 2);
  });
});
