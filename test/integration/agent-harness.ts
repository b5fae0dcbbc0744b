/**
 * Test rig for the node agent: a SimulatedNode (fake cgroupfs/proc tree with real processes)
 * linked to a simulated YARN (RM + NM over loopback HTTP), a captured pino log, and settings for
 * `startAgent`. The glue does what a real node does: YARN's container list drives which
 * processes run; a process that dies is reported to the YARN model (`containerExited`); an RM
 * signal reaching the NM signals the container's process.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startAgent, type AgentHandle, type StartAgentOptions } from '../../agent/agent.js';
import type { AgentSettings } from '../../agent/settings.js';
import { createLogger, type Logger } from '../../log/logger.js';
import { SimulatedNode, type CgroupLayout, type SimulatedNodeOptions } from '../../sim/node/index.js';
import { startYarnSim, type YarnSim } from '../../sim/yarn/index.js';
import type { AppSpec, SimApp, SimContainer } from '../../sim/yarn/types.js';

export const GiB = 2 ** 30;
export const MiB = 2 ** 20;
export const BASE_MS = 1_700_000_000_000;

export interface LogLine {
  level: number;
  component?: string;
  msg?: string;
  [k: string]: unknown;
}

/** pino output captured through a destination stream. */
export class LogCapture {
  readonly lines: LogLine[] = [];
  readonly logger: Logger;

  constructor() {
    this.logger = createLogger('test', { level: 'debug' }, {
      write: (s: string) => {
        for (const part of s.split('\n')) if (part.trim() !== '') this.lines.push(JSON.parse(part) as LogLine);
      },
    });
  }

  find(re: RegExp, minLevel = 0): LogLine[] {
    return this.lines.filter((l) => l.level >= minLevel && re.test(String(l.msg ?? '')));
  }
}

export const alive = (pid: number | undefined): boolean => {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
};

export async function until(cond: () => boolean, what: string, ms = 8000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

export interface RigOptions {
  layout?: CgroupLayout;
  cpuCores?: number;
  memoryBytes?: number;
  node?: Partial<SimulatedNodeOptions>;
}

export class Rig {
  readonly tmp: string;
  readonly log = new LogCapture();
  node!: SimulatedNode;
  yarn!: YarnSim;
  readonly nodeId = 'node-a:45454';
  private readonly agents: AgentHandle[] = [];
  private syncQueued = false;

  private constructor() {
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-agent-'));
  }

  static async create(o: RigOptions = {}): Promise<Rig> {
    const rig = new Rig();
    try {
      await rig.init(o);
    } catch (e) {
      await rig.stop();
      throw e;
    }
    return rig;
  }

  private async init(o: RigOptions): Promise<void> {
    const cores = o.cpuCores ?? 8;
    const memory = o.memoryBytes ?? 16 * GiB;
    this.node = SimulatedNode.create({
      name: 'node-a', dir: this.tmp, layout: o.layout ?? 'v2', driver: 'cgroupfs', cpuCores: cores, memoryBytes: memory,
      systemLoad: { cpuMilli: 200, memoryBytes: 512 * MiB, cacheBytes: 0 },
      onlineLoad: { cpuMilli: 2000, memoryBytes: GiB, cacheBytes: 0 },
      ...o.node,
    });
    this.yarn = await startYarnSim({
      nodes: [{ host: 'node-a', rpcPort: 45454, memoryMiB: 16384, vcores: cores }],
      heartbeatMs: 20,
      cluster: { signalHandling: 'external', signalDelayMs: 0 },
    });
    const cluster = this.yarn.cluster;
    cluster.events.on('containerStarted', () => this.queueSync());
    cluster.events.on('containerFinished', () => this.queueSync());
    cluster.events.on('containerSignal', (c: SimContainer, command) => {
      const pid = this.node.containerPid(c.id);
      if (pid !== undefined && command !== 'OUTPUT_THREAD_DUMP') process.kill(pid, command === 'GRACEFUL_SHUTDOWN' ? 'SIGTERM' : 'SIGKILL');
    });
    this.node.onContainerExit((id, exit) => {
      const c = cluster.container(id);
      if (c && cluster.liveContainers(this.nodeId).includes(c)) cluster.containerExited(id, exit.exitCode, `exited with ${exit.signal ?? exit.exitCode}`);
    });
  }

  get nmUrl(): string {
    return this.yarn.nodeManagers.get(this.nodeId)!.url;
  }

  get rmUrl(): string {
    return this.yarn.resourceManagers[0]!.url;
  }

  /** The agent's clock: simulated node time, so CPU rates match the simulated counters. */
  clock = (): number => BASE_MS + this.node.now();

  private queueSync(): void {
    if (this.syncQueued) return;
    this.syncQueued = true;
    queueMicrotask(() => {
      this.syncQueued = false;
      this.sync();
    });
  }

  /** Make the node run exactly what YARN allocated to it. */
  sync(): void {
    const live = this.yarn.cluster.liveContainers(this.nodeId);
    this.node.syncContainers(live.map((c) => ({ id: c.id, memoryMiB: c.resource.memoryMiB, vcores: c.resource.vcores, executionType: c.executionType })));
  }

  /** Submit an app and wait until its AM and every worker run on the node. */
  async submit(spec: AppSpec): Promise<{ app: SimApp; am: string; workers: string[] }> {
    const app = this.yarn.cluster.submitApp({ replaceFailed: false, ...spec });
    const want = 1 + (spec.containers ?? []).reduce((s, a) => s + a.count, 0);
    await until(() => {
      this.yarn.cluster.tick();
      return app.live.size === want;
    }, `${app.id} to run ${want} containers`);
    this.sync();
    const ids = [...app.live.values()].sort((a, b) => a.seq - b.seq);
    return { app, am: ids[0]!.id, workers: ids.slice(1).map((c) => c.id) };
  }

  settings(over: Partial<AgentSettings> & { rules?: AgentSettings['rules'] } = {}): AgentSettings {
    return {
      nodeName: 'node-a',
      nmUrl: this.nmUrl,
      rmUrls: [],
      cgroupRoot: this.node.paths.cgroupRoot,
      procRoot: this.node.paths.procRoot,
      simulatedCgroups: true,
      yarnCgroupPath: this.node.paths.yarnCgroupPath,
      socket: path.join(this.tmp, 'run', `copilot-${this.agents.length}.sock`),
      socketMode: 0o600,
      metricsAddr: '127.0.0.1:0',
      dryRun: false,
      tickMillis: 1000,
      fastWatchMillis: 100,
      ...over,
      rules: { gracePeriodSeconds: 2, ...(over.rules ?? {}) },
    };
  }

  async startAgent(over: Partial<AgentSettings> = {}, opts: StartAgentOptions = {}): Promise<AgentHandle> {
    const a = await startAgent(this.settings(over), { logger: this.log.logger, clock: this.clock, manual: true, killDeadlineMs: 3000, ...opts });
    this.agents.push(a);
    return a;
  }

  /** Advance simulated time and run one agent tick. */
  async step(agent: AgentHandle, ms = 1000): Promise<Awaited<ReturnType<AgentHandle['tick']>>> {
    this.node.step(ms);
    return agent.tick();
  }

  /** Push node memory used (MemTotal − MemAvailable) to `percent` of MemTotal with an online spike. */
  setNodeMemoryPercent(percent: number): void {
    this.node.setMemorySpike(0);
    const s = this.node.snapshot();
    const want = (s.memoryTotalBytes * percent) / 100;
    this.node.setMemorySpike(Math.max(0, want - s.memoryUsedBytes + 2 * MiB));
    this.node.render();
  }

  async stop(): Promise<void> {
    for (const a of this.agents.splice(0)) await a.stop().catch(() => undefined);
    await this.yarn?.stop().catch(() => undefined);
    await this.node?.stop().catch(() => undefined);
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}

/** One HTTP request over a unix socket. */
export function socketRequest(socketPath: string, method: string, urlPath: string, body?: string): Promise<{ status: number; body: string; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path: urlPath, headers: body !== undefined ? { 'content-type': 'application/json' } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (b: Buffer) => chunks.push(b));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body: text, json });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}
