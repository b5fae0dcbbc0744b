/**
 * Logging: the text format for terminals (`--log-format text`; JSON stays the default), and
 * messages that say each thing once (transport failures towards YARN and Kubernetes).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configureLogging, createLogger, componentLogger } from '../../log/logger.js';
import { textLine } from '../../log/text-format.js';
import { InputError } from '../../input/input-error.js';
import { YarnHttp } from '../../yarn/http.js';
import { YarnTransportError } from '../../yarn/errors.js';
import { connect } from '../../kube/connection.js';
import { KubeApi, KubeTransportError, paths } from '../../kube/api.js';
import { writeKubeconfig } from '../../sim/kube/kubeconfig.js';
import { commandSettingSpecs } from '../../cli/command-settings.js';

/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const occurrences = (text: string, word: string) => text.split(word).length - 1;

describe('text log format', () => {
  afterEach(() => configureLogging({}));

  it('renders one readable line: time, level, component, message, then key=value fields', () => {
    const json = JSON.stringify({
      level: 30, time: '2026-12-01T10:44:48.299Z', component: 'operator.controller', node: 'node-1', dryRun: true,
      actions: [{ kind: 'resize', nodeId: 'node-1:8041', capacity: { vcores: 6, memoryMiB: 12288 } }], origin: { cpu: 8000, memory: 17179869184 },
      free: { cpu: -3880, memory: 11467562680 }, reasons: ['grow', 'claim-update'], detail: 'RM node is LOST', msg: 'ledger decision (dry run: nothing written)',
    });
    expect(textLine(`${json}\n`)).toBe(
      '10:44:48.299 INFO  operator.controller  ledger decision (dry run: nothing written)  node=node-1 dryRun=true '
      + 'actions=[{kind=resize nodeId=node-1:8041 capacity=6vcores/12288MiB}] origin=8cpu/16GiB free=-3.88cpu/10.68GiB '
      + 'reasons=[grow claim-update] detail="RM node is LOST"\n',
    );
  });

  it('prints an error field by its one-line message', () => {
    const json = JSON.stringify({ level: 50, time: '2026-12-01T10:44:48.299Z', component: 'agent', err: { type: 'InputError', source: 's', problem: 'p', message: 's: p' }, msg: 'refused' });
    expect(textLine(json)).toBe('10:44:48.299 ERROR agent  refused  err="s: p"\n');
  });

  it('--log-format text makes every logger, sub-components included, write text lines', () => {
    configureLogging({ level: 'info', format: 'text' });
    const lines: string[] = [];
    const root = createLogger('operator', {}, { write: (s: string) => { lines.push(s); } });
    componentLogger(root, 'operator.controller').info({ node: 'n1', err: new InputError('annotation a', 'not JSON') }, 'origin refused');
    root.debug('below the level');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  operator\.controller  origin refused  node=n1 err="annotation a: not JSON"\n$/);
  });

  it('JSON stays the default, and the level is configurable', () => {
    configureLogging({ level: 'warn' });
    const lines: string[] = [];
    const log = createLogger('agent', {}, { write: (s: string) => { lines.push(s); } });
    log.info('hidden');
    log.warn({ a: 1 }, 'shown');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 40, component: 'agent', a: 1, msg: 'shown' });
  });

  it('every command has --log-level and --log-format settings', () => {
    for (const [name, specs] of Object.entries(commandSettingSpecs)) {
      const keys = specs.map((s) => s.key);
      expect(keys, name).toContain('logLevel');
      expect(keys, name).toContain('logFormat');
      expect(specs.find((s) => s.key === 'logFormat')!.default, name).toBe('json');
    }
  });
});

describe('messages say each thing once', () => {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
  });

  it('a refused YARN connection names the code once', async () => {
    const port = await closedPort();
    const http = new YarnHttp({ retries: 0 });
    const err = await http.send({ base: `http://127.0.0.1:${port}`, path: '/ws/v1/cluster/info', method: 'GET', accept: 'json', endpoint: 'x' }).catch((e: unknown) => e);
    await http.close();
    expect(err).toBeInstanceOf(YarnTransportError);
    const msg = (err as Error).message;
    expect(msg).toBe(`GET http://127.0.0.1:${port}/ws/v1/cluster/info failed: connect ECONNREFUSED 127.0.0.1:${port}`);
    expect(occurrences(msg, 'ECONNREFUSED')).toBe(1);
  });

  it('a YARN timeout says "timeout" once', async () => {
    // A server that answers its first request and never the second, on the same kept-alive
    // connection: the wait that runs out is the answer's, whatever the machine's load. The one
    // timeout also bounds the first answer (a wait for an event): 2 s, not 100 ms, so a loaded
    // machine cannot time out the set-up instead.
    let answered = 0;
    const hang = createHttpServer((_req, res) => {
      if (answered++ === 0) res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    hang.on('connection', (s: Socket) => { sockets.push(s); });
    servers.push(hang as unknown as Server);
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', () => r()));
    const port = (hang.address() as { port: number }).port;
    const http = new YarnHttp({ retries: 0, timeoutMs: 2000, connections: 1 });
    await http.send({ base: `http://127.0.0.1:${port}`, path: '/ok', method: 'GET', accept: 'json', endpoint: 'x' });
    const err = await http.send({ base: `http://127.0.0.1:${port}`, path: '/x', method: 'GET', accept: 'json', endpoint: 'x' }).catch((e: unknown) => e);
    await http.close();
    expect((err as YarnTransportError).kind).toBe('timeout');
    expect((err as Error).message).toBe(`GET http://127.0.0.1:${port}/x failed: timeout: no answer within 2000 ms`);
    expect(occurrences((err as Error).message, 'timeout')).toBe(1);
  });

  it('an unreachable Kubernetes API says it was Kubernetes, which server, once', async () => {
    const port = await closedPort();
    const file = await writeKubeconfig(mkdtempSync(join(tmpdir(), 'loom-kc-')), `http://127.0.0.1:${port}`, 't');
    const conn = await connect(file);
    try {
      const err = await new KubeApi(conn).request('GET', paths.nodes()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KubeTransportError);
      const msg = (err as Error).message;
      expect(msg).toBe(`Kubernetes API server http://127.0.0.1:${port} unreachable: connection refused (ECONNREFUSED) on GET /api/v1/nodes`);
      expect(occurrences(msg, 'ECONNREFUSED')).toBe(1);
    } finally {
      await conn.close();
    }
  });
});
