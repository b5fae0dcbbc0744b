/**
 * Shared helpers of the operator integration suites: settings, a log capture, a condition wait,
 * and small readers of the simulated world over its real HTTP surfaces (RM REST, /metrics).
 */
import { Writable } from 'node:stream';
import { resolveSettings } from '../../settings/settings.js';
import { createLogger, type Logger } from '../../log/logger.js';
import { operatorSettingSpecs, toOperatorSettings, type OperatorSettings } from '../../operator/settings.js';
import { startOperator, type RunningOperator, type StartOptions } from '../../operator/command.js';
import {
  ANNOTATION_ORIGIN, ANNOTATION_THIRD_PARTY, BATCH_CPU, BATCH_MEMORY,
} from '../../kube/wire.js';
import type { SimWorld } from '../../sim/world.js';

export const GIB = 2 ** 30;
export const MIB = 2 ** 20;

/**
 * The NodeManager capacity the sim world's operator converges to for a node of this origin and
 * Kubernetes use (1 core and 1 GiB unless given), as the RM reports it.
 */
export const expectedCapacity = (originCpuMilli: number, originMemoryBytes: number, kubeCpuMilli = 1000, kubeMemoryBytes = GIB) => ({
  vcores: Math.floor((originCpuMilli - kubeCpuMilli) / 2 / 1000), memoryMiB: Math.floor((originMemoryBytes - kubeMemoryBytes) / 2 / MIB),
});

/** The same as JSON (figures compared whole, key order included). */
export const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Poll `cond` until it returns a truthy value; throws with `what` after `timeoutMs`. */
export async function waitFor<T>(cond: () => T | Promise<T>, timeoutMs: number, what = 'condition', intervalMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    }
    await sleep(intervalMs);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Operator settings the way the command builds them (layered resolution of flags over defaults),
 * with test defaults: ephemeral metrics port, no leader election, fast poll, no hysteresis.
 */
export function settingsFor(world: { kube: { kubeconfigPath: string }; hadoopConfDir: string }, flags: Record<string, unknown> = {}, extra: Partial<OperatorSettings> = {}): OperatorSettings {
  const values = resolveSettings({
    specs: operatorSettingSpecs,
    flags: {
      kubeconfig: world.kube.kubeconfigPath,
      hadoopConfDir: world.hadoopConfDir,
      metricsAddr: '127.0.0.1:0',
      leaderElection: false,
      pollSeconds: 0.2,
      growIntervalSeconds: 0,
      hysteresisCpuMilli: 0,
      hysteresisMemoryBytes: 0,
      hysteresisPercent: 0,
      ...flags,
    },
    env: {},
  });
  return { ...toOperatorSettings(values, {}), ...extra };
}

export interface LogCapture {
  logger: Logger;
  lines(): Record<string, unknown>[];
  /** Lines whose `msg` (or any string field) matches. */
  find(re: RegExp): Record<string, unknown>[];
  /** The raw JSON text of each line (to check what JSON.parse would hide, e.g. a key written twice). */
  raw(): string[];
}

export function captureLogs(level = 'info'): LogCapture {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) { chunks.push(chunk.toString('utf8')); cb(); },
  });
  const logger = createLogger('operator', { level }, stream as never);
  const lines = () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    logger,
    lines,
    find: (re) => lines().filter((l) => re.test(JSON.stringify(l))),
    raw: () => chunks.join('').split('\n').filter(Boolean),
  };
}

export async function runOperator(settings: OperatorSettings, logs = captureLogs(), opts: StartOptions = {}): Promise<RunningOperator & { logs: LogCapture }> {
  const op = await startOperator(settings, logs.logger, opts);
  return Object.assign(op, { logs });
}

/** Write the origin annotation by hand (the koord-manager stand-in is off in these suites). */
export function setOrigin(world: SimWorld, node: string, cpuMilli: number, memoryBytes: number): void {
  setOriginRaw(world, node, JSON.stringify({ resources: { [BATCH_CPU]: String(cpuMilli), [BATCH_MEMORY]: String(memoryBytes) } }));
}

export function setOriginRaw(world: SimWorld, node: string, raw: string | null): void {
  world.kube.store.patch('nodes', undefined, node, 'merge', { metadata: { annotations: { [ANNOTATION_ORIGIN]: raw } } });
}

export function annotationOf(world: SimWorld, node: string, key = ANNOTATION_THIRD_PARTY): string | undefined {
  return world.kube.store.get('nodes', undefined, node)?.metadata.annotations?.[key];
}

/** The `hadoop-yarn` claim on the Node, parsed independently of Loom's wire module. */
export function claimOf(world: SimWorld, node: string): { cpu: number; memory: number } | undefined {
  const raw = annotationOf(world, node);
  if (raw === undefined) return undefined;
  const doc = JSON.parse(raw) as { allocations?: { name: string; priority?: string; resources?: Record<string, string> }[] };
  const e = doc.allocations?.find((a) => a.name === 'hadoop-yarn');
  if (!e) return undefined;
  return { cpu: quantity(e.resources?.[BATCH_CPU]), memory: quantity(e.resources?.[BATCH_MEMORY]) };
}

const SUFFIX: Record<string, number> = {
  '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** A Kubernetes quantity as a plain number (test-side, independent of kube/quantity.ts). */
export function quantity(q: string | number | undefined): number {
  if (typeof q === 'number') return q;
  const m = /^([+-]?\d+(?:\.\d+)?)(?:[eE]([+-]?\d+))?([a-zA-Z]*)$/.exec(String(q ?? '').trim());
  if (!m || SUFFIX[m[3]!] === undefined) return NaN;
  return Math.round(Number(m[1]) * 10 ** Number(m[2] ?? 0) * SUFFIX[m[3]!]!);
}

export function allocationsOf(world: SimWorld, node: string): { name: string; priority?: string; resources?: Record<string, string> }[] {
  const raw = annotationOf(world, node);
  return raw === undefined ? [] : ((JSON.parse(raw) as { allocations?: [] }).allocations ?? []);
}

export interface RmNodeFigures {
  state: string;
  total: { vcores: number; memoryMiB: number };
  used: { vcores: number; memoryMiB: number };
}

/** One RM node over the RM's real REST API (JSON), from the given RM base URL. */
export async function rmNode(rmUrl: string, nodeId: string): Promise<RmNodeFigures> {
  const r = await fetch(`${rmUrl}/ws/v1/cluster/nodes/${nodeId}`, { headers: { accept: 'application/json' }, redirect: 'manual' });
  if (r.status !== 200) throw new Error(`GET node ${nodeId} from ${rmUrl}: HTTP ${r.status}`);
  const n = ((await r.json()) as { node: Record<string, any> }).node;
  return {
    state: n.state,
    total: { vcores: Number(n.totalResource.vCores), memoryMiB: Number(n.totalResource.memory) },
    used: { vcores: Number(n.usedResource?.vCores ?? 0), memoryMiB: Number(n.usedResource?.memory ?? 0) },
  };
}

/** `rmNode` on the world's currently active RM. */
export async function worldRmNode(world: SimWorld, node: string): Promise<RmNodeFigures> {
  const rm = world.yarn.activeResourceManager();
  if (!rm) throw new Error('no active RM');
  return rmNode(rm.url, world.nodeIdOf(node));
}

export async function metricsText(url: string): Promise<string> {
  const r = await fetch(`${url}/metrics`);
  if (r.status !== 200) throw new Error(`/metrics: HTTP ${r.status}`);
  return r.text();
}

/** Sum of every sample of `name` whose labels include all of `labels`. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map<string, string>();
    for (const p of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have.set(p[1]!, p[2]!);
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) {
      sum += Number(m[4]);
      found = true;
    }
  }
  return found ? sum : NaN;
}

/** Patch-count of Node objects (HTTP PATCH/PUT on nodes) the simulated API server received. */
export function nodeWrites(world: SimWorld): number {
  return world.kube.stats.count({ verb: 'patch', resource: 'nodes' }) + world.kube.stats.count({ verb: 'update', resource: 'nodes' });
}

export type RmFault = 'ok' | 'xml' | 'html' | 'garbage' | 'empty' | 'wrong-shape' | 'xml-garbage' | '500' | 'hang' | 'down';

/**
 * A ResourceManager stand-in for fault injection: in `ok` mode a transparent proxy to a real
 * simulated RM; otherwise it answers every request with the chosen fault (`hang` never answers,
 * `down` resets the connection). Every request is recorded (method, path, body).
 */
export interface HostileRm {
  url: string;
  mode: RmFault;
  requests: { method: string; path: string; body: string; mode: RmFault }[];
  /** Reset the connections of requests left hanging. */
  dropHung(): void;
  close(): Promise<void>;
}

export async function startHostileRm(target: string): Promise<HostileRm> {
  const { createServer } = await import('node:http');
  const hung = new Set<import('node:http').ServerResponse>();
  const self: HostileRm = { url: '', mode: 'ok', requests: [], dropHung: () => { for (const h of hung) h.destroy(); hung.clear(); }, close: async () => {} };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const mode = self.mode;
      self.requests.push({ method: req.method ?? '', path: req.url ?? '', body, mode });
      const send = (status: number, type: string, text: string) => res.writeHead(status, { 'content-type': type }).end(text);
      switch (mode) {
        case 'ok':
        case 'xml': {
          const headers: Record<string, string> = { accept: mode === 'xml' ? 'application/xml' : (req.headers.accept ?? 'application/json') };
          if (req.headers['content-type']) headers['content-type'] = String(req.headers['content-type']);
          fetch(`${target}${req.url}`, { method: req.method ?? 'GET', headers, redirect: 'manual', ...(req.method === 'POST' ? { body } : {}) })
            .then(async (r) => {
              const out: Record<string, string> = {};
              r.headers.forEach((v, k) => { if (k === 'content-type' || k === 'location') out[k] = v; });
              res.writeHead(r.status, out).end(await r.text());
            })
            .catch((err: unknown) => send(502, 'text/plain', String(err)));
          return;
        }
        case 'html': return send(200, 'text/html', '<html><body><h1>Proxy login</h1></body></html>');
        case 'garbage': return send(200, 'application/json', '{"nodes": {"node": [ {"id": "node-1:80');
        case 'empty': return send(200, 'application/json', '');
        case 'wrong-shape': return send(200, 'application/json', JSON.stringify({
          clusterInfo: { id: 1, haState: 'ACTIVE', startedOn: 1 },
          nodes: { node: [{ id: 'node-3:8041', state: 'RUNNING', totalResource: { memory: 'lots', vCores: -3 } }] },
        }));
        case 'xml-garbage': return send(200, 'application/xml', '<nodes><node><id>node-3:8041</id><totalResource><memory>');
        case '500': return send(500, 'application/json', JSON.stringify({ RemoteException: { exception: 'WebApplicationException', message: 'boom', javaClassName: 'javax.ws.rs.WebApplicationException' } }));
        case 'hang': hung.add(res); res.on('close', () => hung.delete(res)); return;
        case 'down': req.socket.destroy(); return;
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as import('node:net').AddressInfo).port;
  self.url = `http://127.0.0.1:${port}`;
  self.close = () => new Promise((r) => { for (const h of hung) h.destroy(); server.closeAllConnections(); server.close(() => r()); });
  return self;
}
