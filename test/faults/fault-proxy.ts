/**
 * An HTTP fault proxy for one client (one operator replica) in front of one server (the
 * simulated API server or an RM). Everything passes through unless a rule matches; rules inject
 * what the field shows: latency, black holes (no answer ever), connection resets, 5xx/429 bursts,
 * watch cuts, and answers lost after the server applied the write. Every request that reached
 * the server is recorded with the time it was forwarded, so writes can be attributed per replica.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type FaultKind = 'latency' | 'blackhole' | 'reset' | 'status' | 'lose-answer';

export interface FaultRule {
  /** Which requests: method and a path test. */
  match(req: { method: string; path: string }): boolean;
  kind: FaultKind;
  /** latency ms; for `status` the HTTP status (500, 503, 429). */
  value?: number;
  /** Rule applies to this many requests, then retires (default unlimited). */
  count?: number;
}

export interface Forwarded {
  /** performance.now() when the request was handed to the server. */
  at: number;
  method: string;
  path: string;
  body: string;
  status?: number;
}

export interface FaultProxy {
  url: string;
  port: number;
  rules: FaultRule[];
  forwarded: Forwarded[];
  /** Called synchronously right before a request is forwarded (write attribution, invariants). */
  onForward?: (f: Forwarded) => void;
  /** Called with each answer before it is passed on (e.g. to change the world right after a poll). */
  onAnswer?: (f: Forwarded) => void;
  /** Cut every open streaming answer (watches). */
  cutStreams(): void;
  /** Answer hung requests with a reset. */
  releaseHung(): void;
  close(): Promise<void>;
}

/** The `reason` of the API server's Status for an injected status code. */
const STATUS_REASON: Record<number, string> = { 403: 'Forbidden', 409: 'Conflict', 410: 'Expired', 429: 'TooManyRequests', 503: 'ServiceUnavailable' };

export const isWrite = (m: string): boolean => m === 'POST' || m === 'PUT' || m === 'PATCH' || m === 'DELETE';

export async function startFaultProxy(target: string, port = 0): Promise<FaultProxy> {
  const t = new URL(target);
  const hung = new Set<http.ServerResponse>();
  const streams = new Set<http.ServerResponse>();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const self: FaultProxy = {
    url: '', port: 0, rules: [], forwarded: [],
    cutStreams: () => { for (const s of streams) s.destroy(); streams.clear(); },
    releaseHung: () => { for (const h of hung) h.destroy(); hung.clear(); },
    close: async () => {},
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const method = req.method ?? 'GET';
      const path = req.url ?? '/';
      const ruleIdx = self.rules.findIndex((r) => r.match({ method, path }));
      const rule = ruleIdx >= 0 ? self.rules[ruleIdx] : undefined;
      if (rule && rule.count !== undefined && --rule.count <= 0) self.rules.splice(ruleIdx, 1);
      const forward = () => {
        const f: Forwarded = { at: performance.now(), method, path, body: body.toString('utf8') };
        self.onForward?.(f);
        self.forwarded.push(f);
        const headers = { ...req.headers, host: t.host };
        const up = http.request({ host: t.hostname, port: t.port, method, path, headers, agent }, (ur) => {
          f.status = ur.statusCode;
          self.onAnswer?.(f);
          if (rule?.kind === 'lose-answer') {
            ur.resume();
            res.destroy();
            return;
          }
          res.writeHead(ur.statusCode ?? 502, ur.headers);
          const streaming = /[?&]watch=(true|1)/.test(path);
          if (streaming) {
            streams.add(res);
            res.on('close', () => { streams.delete(res); ur.destroy(); });
          }
          ur.pipe(res);
        });
        up.on('error', () => res.destroy());
        up.end(body);
      };
      switch (rule?.kind) {
        case undefined:
        case 'lose-answer':
          return forward();
        case 'latency':
          setTimeout(forward, rule.value ?? 100);
          return;
        case 'blackhole':
          hung.add(res);
          res.on('close', () => hung.delete(res));
          return;
        case 'reset':
          req.socket.destroy();
          return;
        case 'status': {
          const status = rule.value ?? 503;
          res.writeHead(status, { 'content-type': 'application/json', ...(status === 429 ? { 'retry-after': '1' } : {}) })
            .end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'injected fault', reason: STATUS_REASON[status] ?? 'InternalError', code: status }));
          return;
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  self.port = (server.address() as AddressInfo).port;
  self.url = `http://127.0.0.1:${self.port}`;
  self.close = () => new Promise((r) => {
    self.releaseHung();
    self.cutStreams();
    server.closeAllConnections();
    agent.destroy();
    server.close(() => r());
  });
  return self;
}
