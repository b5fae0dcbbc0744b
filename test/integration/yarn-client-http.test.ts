/**
 * The YARN HTTP layer and clients against a deliberately hostile real HTTP(S) server on loopback
 * (5xx, hangs, HTML, truncated JSON, bodiless 404s, refused connections). Our code runs unmodified;
 * only the server is scripted.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  YarnArgumentError, YarnDocumentError, YarnHttpError, YarnNoActiveRmError, YarnTransportError,
} from '../../yarn/errors.js';
import { YarnHttp, type YarnRequestEvent } from '../../yarn/http.js';
import { NodeManagerClient } from '../../yarn/nm-client.js';
import { ResourceManagerClient } from '../../yarn/rm-client.js';
import { mib, vcores } from '../../yarn/resource.js';

// Self-signed loopback certificate (CN=localhost, SAN 127.0.0.1), test-only.
const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgh3dBBslq2GChsWB7
vEnXS5i01nsvIjTHhEevSlAk4p6hRANCAAROAujMU7xyd6wkhMVLKkURy4+3slhb
E7zztKv125R80F0dHZ4XXfFA1Y9/s8cfTp1mn6dfV6aJqnAdKKkxWC/O
-----END PRIVATE KEY-----
`;
const CERT = `-----BEGIN CERTIFICATE-----
MIIBmzCCAUGgAwIBAgIUbSj+WP7Qjiwe5ywYQFmv22lzOUYwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyMTA1MTEwNloYDzIxMjYxMDI4
MDUxMTA2WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAROAujMU7xyd6wkhMVLKkURy4+3slhbE7zztKv125R80F0dHZ4XXfFA
1Y9/s8cfTp1mn6dfV6aJqnAdKKkxWC/Oo28wbTAdBgNVHQ4EFgQUidQitT7wRTMB
yfwBez8hPiRHfJ8wHwYDVR0jBBgwFoAUidQitT7wRTMByfwBez8hPiRHfJ8wDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARhwR/AAABgglsb2NhbGhvc3QwCgYIKoZI
zj0EAwIDSAAwRQIhAI/jhl2vTaBCBW4+A7SnBMSsP14yJ7Y/AI9QMyr9WOQnAiAE
UDREdNNG319yvgpAHJ436K6Sr0mZUN5Iy80o7bJh2Q==
-----END CERTIFICATE-----
`;

type Step = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

const json = (status: number, doc: unknown): Step => (_q, res) => {
  res.writeHead(status, { 'Content-Type': 'application/json;charset=utf-8' }).end(JSON.stringify(doc));
};
const text = (status: number, contentType: string | undefined, body: string): Step => (_q, res) => {
  res.writeHead(status, contentType ? { 'Content-Type': contentType } : {}).end(body);
};
/** Never answers (the client's timeout must fire). */
const hang: Step = () => undefined;

const ACTIVE_INFO = json(200, { clusterInfo: { id: 42, startedOn: 42, state: 'STARTED', haState: 'ACTIVE' } });

interface Hostile {
  url: string;
  /** Requests seen, as `METHOD path?query`. */
  seen: string[];
  bodies: string[];
  /** Per path (without query), the scripted answers in order; the last one repeats. */
  script: Map<string, Step[]>;
  close(): Promise<void>;
}

const servers: Hostile[] = [];

async function hostile(tls = false): Promise<Hostile> {
  const script = new Map<string, Step[]>();
  const seen: string[] = [];
  const bodies: string[] = [];
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url}`);
      bodies.push(body);
      const path = (req.url ?? '/').split('?')[0]!;
      const steps = script.get(path);
      const step = steps && steps.length > 1 ? steps.shift()! : steps?.[0];
      if (!step) return void res.writeHead(404).end();
      step(req, res, body);
    });
  };
  const server = tls ? https.createServer({ key: KEY, cert: CERT }, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const h: Hostile = {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    seen,
    bodies,
    script,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  servers.push(h);
  return h;
}

/** A port nothing listens on. */
async function deadPort(): Promise<string> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

const closers: { close(): Promise<void> }[] = [];
function track<T extends { close(): Promise<void> }>(c: T): T {
  closers.push(c);
  return c;
}

afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const fast = { backoffBaseMs: 5, backoffMaxMs: 20, timeoutMs: 300 };

describe('YarnHttp retries', () => {
  it('retries a GET on 5xx with backoff, reporting every attempt', async () => {
    const srv = await hostile();
    srv.script.set('/x', [text(503, 'text/plain', 'busy'), text(500, 'text/plain', 'oops'), json(200, { ok: 1 })]);
    const events: YarnRequestEvent[] = [];
    const h = track(new YarnHttp({ ...fast, retries: 2, cluster: 'c1', onRequest: (e) => events.push(e) }));
    const { doc } = await h.getDocument({ base: srv.url, path: '/x', method: 'GET', accept: 'json', endpoint: 'test.x' });
    expect(doc).toEqual({ ok: 1 });
    expect(srv.seen).toHaveLength(3);
    expect(events.map((e) => [e.attempt, e.status, e.error, e.endpoint, e.cluster, e.method])).toEqual([
      [0, 503, 'http', 'test.x', 'c1', 'GET'], [1, 500, 'http', 'test.x', 'c1', 'GET'], [2, 200, undefined, 'test.x', 'c1', 'GET'],
    ]);
    expect(events.every((e) => e.durationMs >= 0 && e.url.startsWith(srv.url))).toBe(true);
  });

  it('gives up after the retry budget with a YarnHttpError carrying status and excerpt', async () => {
    const srv = await hostile();
    srv.script.set('/x', [text(502, 'text/html', '<html><body>Bad Gateway from proxy</body></html>')]);
    const h = track(new YarnHttp({ ...fast, retries: 1 }));
    const err = await h.send({ base: srv.url, path: '/x', method: 'GET', accept: 'json', endpoint: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(YarnHttpError);
    expect((err as YarnHttpError).status).toBe(502);
    expect((err as YarnHttpError).excerpt).toContain('Bad Gateway');
    expect((err as YarnHttpError).url).toBe(`${srv.url}/x`);
    expect(srv.seen).toHaveLength(2);
  });

  it('times out a hanging GET, retries, and succeeds when the server recovers', async () => {
    const srv = await hostile();
    srv.script.set('/x', [hang, json(200, { ok: 2 })]);
    const h = track(new YarnHttp({ ...fast, timeoutMs: 200, retries: 2 }));
    const { doc } = await h.getDocument({ base: srv.url, path: '/x', method: 'GET', accept: 'json', endpoint: 'x' });
    expect(doc).toEqual({ ok: 2 });
    expect(srv.seen).toHaveLength(2);
  });

  it('a GET that always hangs ends as a timeout YarnTransportError', async () => {
    const srv = await hostile();
    srv.script.set('/x', [hang]);
    const h = track(new YarnHttp({ ...fast, timeoutMs: 150, retries: 1 }));
    const err = await h.send({ base: srv.url, path: '/x', method: 'GET', accept: 'json', endpoint: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(YarnTransportError);
    expect((err as YarnTransportError).kind).toBe('timeout');
    expect(srv.seen).toHaveLength(2);
  });

  it('never retries a POST on 5xx or timeout (it may have been executed)', async () => {
    const srv = await hostile();
    srv.script.set('/p', [text(500, 'text/plain', 'boom'), json(200, {})]);
    srv.script.set('/hang', [hang]);
    // The 500 is answered at once: a generous timeout, so a loaded machine cannot turn it into a timeout.
    const answered = track(new YarnHttp({ ...fast, timeoutMs: 30_000, retries: 3 }));
    await expect(answered.send({ base: srv.url, path: '/p', method: 'POST', body: '{}', accept: 'json', endpoint: 'p' })).rejects.toMatchObject({ status: 500 });
    expect(srv.seen.filter((s) => s.startsWith('POST /p'))).toHaveLength(1);
    // A hang always ends in the timeout under test.
    const h = track(new YarnHttp({ ...fast, timeoutMs: 150, retries: 3 }));
    await expect(h.send({ base: srv.url, path: '/hang', method: 'POST', body: '{}', accept: 'json', endpoint: 'p' })).rejects.toMatchObject({ kind: 'timeout' });
    expect(srv.seen.filter((s) => s.startsWith('POST /hang'))).toHaveLength(1);
  });

  it('connection refused is a connect YarnTransportError after the retries', async () => {
    const url = await deadPort();
    const events: YarnRequestEvent[] = [];
    const h = track(new YarnHttp({ ...fast, retries: 1, onRequest: (e) => events.push(e) }));
    const err = await h.send({ base: url, path: '/x', method: 'GET', accept: 'json', endpoint: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(YarnTransportError);
    expect((err as YarnTransportError).kind).toBe('connect');
    expect((err as Error).message).toContain(url);
    expect(events.map((e) => e.error)).toEqual(['connect', 'connect']);
  });

  it('appends user.name to every request and sends Accept', async () => {
    const srv = await hostile();
    let accept: string | undefined;
    srv.script.set('/x', [(req, res) => {
      accept = req.headers.accept;
      json(200, {})(req, res, '');
    }]);
    const h = track(new YarnHttp({ ...fast, user: 'loom svc' }));
    await h.send({ base: srv.url, path: '/x', method: 'GET', accept: 'xml', endpoint: 'x', query: { states: 'RUNNING,NEW' } });
    expect(srv.seen).toEqual(['GET /x?states=RUNNING,NEW&user.name=loom%20svc']);
    expect(accept).toBe('application/xml');
  });
});

describe('HTTPS with a CA', () => {
  it('trusts the server with the CA file and refuses it without', async () => {
    const srv = await hostile(true);
    srv.script.set('/ws/v1/node/info', [json(200, { nodeInfo: { id: 'h:1', nmStartupTime: 7 } })]);
    const dir = await mkdtemp(join(tmpdir(), 'loom-ca-'));
    try {
      await writeFile(join(dir, 'ca.pem'), CERT);
      const nm = track(new NodeManagerClient({ url: srv.url, caFile: join(dir, 'ca.pem'), ...fast }));
      expect((await nm.nodeInfo()).info.nmStartupTime).toBe(7);
      const untrusted = track(new NodeManagerClient({ url: srv.url, ...fast, retries: 0 }));
      const err = await untrusted.nodeInfo().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(YarnTransportError);
      expect((err as YarnTransportError).kind).toBe('tls');
      expect(() => new NodeManagerClient({ url: srv.url, caFile: join(dir, 'missing.pem') })).toThrow(/missing.pem: cannot read CA file/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('hostile bodies through the clients', () => {
  it.each([
    ['HTML 200', text(200, 'text/html', '<html><body>Please log in</body></html>')],
    ['text/plain 200', text(200, 'text/plain', 'There is no active RM right now.')],
    ['truncated JSON', text(200, 'application/json', '{"nodes":{"node":[{"id":"a:1",')],
    ['empty JSON body', text(200, 'application/json', '')],
    ['JSON of another document', json(200, { apps: null })],
    ['no Content-Type', text(200, undefined, '{"nodes":null}')],
  ])('RM node list: %s → an error naming the URL, never an empty list', async (_name, step) => {
    const srv = await hostile();
    srv.script.set('/ws/v1/cluster/info', [ACTIVE_INFO]);
    srv.script.set('/ws/v1/cluster/nodes', [step]);
    const rmc = track(new ResourceManagerClient({ rmUrls: [srv.url], ...fast, retries: 0 }));
    const err = await rmc.listNodes().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(YarnDocumentError);
    expect((err as YarnDocumentError).url).toContain(`${srv.url}/ws/v1/cluster/nodes?states=RUNNING,UNHEALTHY,NEW,DECOMMISSIONING`);
  });

  it('NM containers: HTML is an error; a 404 without RemoteException stays an error', async () => {
    const srv = await hostile();
    srv.script.set('/ws/v1/node/containers', [text(200, 'text/html', '<html/>')]);
    const nm = track(new NodeManagerClient({ url: srv.url, ...fast, retries: 0 }));
    await expect(nm.listContainers()).rejects.toBeInstanceOf(YarnDocumentError);
    const err = await nm.getContainer('container_1_0001_01_000001').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(YarnHttpError);
    expect((err as YarnHttpError).status).toBe(404);
    expect((err as YarnHttpError).remoteException).toBeUndefined();
  });

  it('rejects bad ids before any request', async () => {
    const srv = await hostile();
    srv.script.set('/ws/v1/cluster/info', [ACTIVE_INFO]);
    const rmc = track(new ResourceManagerClient({ rmUrls: [srv.url], ...fast }));
    await expect(rmc.signalContainer('container_1_2/../../x', 'GRACEFUL_SHUTDOWN')).rejects.toBeInstanceOf(YarnArgumentError);
    await expect(rmc.getNode('no-port')).rejects.toBeInstanceOf(YarnArgumentError);
    await expect(rmc.updateNodeResource('h:1', { memoryMiB: mib(0), vcores: vcores(0) }, -1)).rejects.toThrow(/0 MiB \/ 0 vcores/);
    await expect(rmc.listNodes({ states: ['BOGUS' as 'NEW'] })).rejects.toBeInstanceOf(YarnArgumentError);
    expect(srv.seen).toEqual([]);
  });
});

describe('RM HA edge cases against scripted RMs', () => {
  it('307 without Location on every RM → no RM active (never followed)', async () => {
    const a = await hostile();
    const b = await hostile();
    for (const s of [a, b]) {
      s.script.set('/ws/v1/cluster/info', [json(200, { clusterInfo: { id: 1, haState: 'STANDBY' } })]);
      s.script.set('/ws/v1/cluster/nodes', [(_q, res) => res.writeHead(307, { Refresh: '5;url=x', 'Content-Type': 'text/plain' }).end('Can not find any active RM.')]);
    }
    const rmc = track(new ResourceManagerClient({ rmUrls: [a.url, b.url], ...fast, cluster: 'prod' }));
    const err = await rmc.listNodes().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(YarnNoActiveRmError);
    expect((err as Error).message).toMatch(/cluster prod: no RM active among .*STANDBY.*STANDBY/);
    expect([...a.seen, ...b.seen].some((s) => s.includes('/nodes'))).toBe(false);
  });

  it('POST answered by StandbyException is re-sent to the new active; a POST 5xx is not', async () => {
    const a = await hostile();
    const b = await hostile();
    const node = { node: { id: 'h:1', totalResource: { memory: 2048, vCores: 2 } } };
    a.script.set('/ws/v1/cluster/info', [ACTIVE_INFO, json(200, { clusterInfo: { id: 42, haState: 'STANDBY' } })]);
    a.script.set('/ws/v1/cluster/nodes/h:1/resource', [json(500, { RemoteException: { exception: 'StandbyException', message: 'ResourceManager rm1 is not Active!', javaClassName: 'org.apache.hadoop.ipc.StandbyException' } })]);
    b.script.set('/ws/v1/cluster/info', [json(200, { clusterInfo: { id: 43, haState: 'STANDBY' } }), json(200, { clusterInfo: { id: 43, startedOn: 43, haState: 'ACTIVE' } })]);
    b.script.set('/ws/v1/cluster/nodes/h:1/resource', [json(200, { resourceInfo: { memory: 2048, vCores: 2 } }), text(500, 'text/plain', 'internal')]);
    b.script.set('/ws/v1/cluster/nodes/h:1', [json(200, node)]);
    const rmc = track(new ResourceManagerClient({ rmUrls: [a.url, b.url], ...fast }));
    const r = await rmc.updateNodeResource('h:1', { memoryMiB: mib(2048), vcores: vcores(2) }, 5000);
    expect(r).toMatchObject({ applied: true, total: { memoryMiB: 2048, vcores: 2 }, echoed: { memoryMiB: 2048, vcores: 2 } });
    expect(rmc.activeUrl).toBe(b.url);
    expect(rmc.epoch).toEqual({ activeUrl: b.url, id: 43, startedOn: 43 });
    expect(b.bodies.filter((x) => x.startsWith('{"resource"'))).toEqual(['{"resource":{"memory":2048,"vCores":2},"overCommitTimeout":5000}']);
    // second update: b answers 500 → surfaced, not retried
    await expect(rmc.updateNodeResource('h:1', { memoryMiB: mib(1024), vcores: vcores(1) }, 5000)).rejects.toMatchObject({ status: 500 });
    expect(b.seen.filter((s) => s.startsWith('POST'))).toHaveLength(2);
  });
});
