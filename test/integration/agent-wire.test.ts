/**
 * The copilot API's view of the NM and its kill decisions, against a NodeManager that lists
 * whatever the test wants: every non-final state in `GET /v1/containers` (as yarn-copilot
 * lists them), an explicit `killContainer` of an ApplicationMaster under each protection setting,
 * and an entry with one unparseable optional field staying listed and evictable.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AgentHandle, startAgent } from '../../agent/agent.js';
import { SimulatedNode } from '../../sim/node/index.js';
import { alive, BASE_MS, GiB, LogCapture, MiB, socketRequest, until } from './agent-harness.js';
import { FakeNm } from './fake-nm.js';

const YARN = 'kubepods/besteffort/hadoop-yarn';
const cid = (app: number, n: number): string => `container_1700000000000_${String(app).padStart(4, '0')}_01_${String(n).padStart(6, '0')}`;

let tmp: string;
let node: SimulatedNode;
let nm: FakeNm;
let log: LogCapture;
let agent: AgentHandle | undefined;

beforeEach(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-agent-wire-'));
  node = SimulatedNode.create({
    name: 'node-a', dir: tmp, layout: 'v2', driver: 'cgroupfs', cpuCores: 4, memoryBytes: 16 * GiB,
    systemLoad: { cpuMilli: 100, memoryBytes: 512 * MiB, cacheBytes: 0 },
    onlineLoad: { cpuMilli: 500, memoryBytes: GiB, cacheBytes: 0 },
  });
  nm = new FakeNm();
  await nm.start();
  log = new LogCapture();
});

afterEach(async () => {
  await agent?.stop();
  agent = undefined;
  await nm.stop();
  await node.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function start(rules: Record<string, number | string> = {}): Promise<AgentHandle> {
  agent = await startAgent({
    nodeName: 'node-a', nmUrl: nm.url, rmUrls: [],
    cgroupRoot: node.paths.cgroupRoot, procRoot: node.paths.procRoot, simulatedCgroups: true, yarnCgroupPath: YARN,
    socket: path.join(tmp, 'copilot.sock'), socketMode: 0o600, metricsAddr: '', dryRun: false,
    tickMillis: 1000, fastWatchMillis: 100,
    rules: { gracePeriodSeconds: 1, ...rules },
  }, { logger: log.logger, clock: () => BASE_MS + node.now(), manual: true, killDeadlineMs: 2000 });
  return agent;
}

describe('copilot API against a NodeManager in every state', () => {
  it('GET /v1/containers lists every non-final state, as yarn-copilot does; final ones only by id', async () => {
    const states = ['NEW', 'LOCALIZING', 'SCHEDULED', 'RUNNING', 'RELAUNCHING', 'PAUSED', 'REINITIALIZING'];
    const finals = ['KILLING', 'DONE', 'LOCALIZATION_FAILED', 'CONTAINER_RESOURCES_CLEANINGUP', 'CONTAINER_CLEANEDUP_AFTER_KILL', 'EXITED_WITH_FAILURE', 'EXITED_WITH_SUCCESS'];
    nm.entries = [...states, ...finals].map((state, i) => ({ id: cid(1, i + 2), state }));
    const a = await start();
    node.step(1000);
    await a.tick();
    const list = (await socketRequest(a.socketPath, 'GET', '/v1/containers')).json as { name: string }[];
    expect(list.map((c) => c.name).sort()).toEqual(states.map((_s, i) => cid(1, i + 2)).sort());
    const done = await socketRequest(a.socketPath, 'GET', `/v1/container?containerID=${cid(1, states.length + 3)}`);
    expect(done.status).toBe(200);
  });

  it('an entry with one unparseable optional field stays listed, proven and evictable (the field unknown)', async () => {
    const odd = cid(1, 2);
    node.syncContainers([{ id: odd, memoryMiB: 2048, vcores: 1 }]);
    node.setContainerUsage(odd, { memoryBytes: GiB, cacheBytes: 0 });
    node.render();
    nm.entries = [{ id: odd, fields: { exitCode: 'NaN', totalVCoresNeeded: 'many' } }];
    const a = await start();
    node.step(1000);
    await a.tick();
    const c = a.latest()!.containers.find((x) => x.nm.id === odd);
    expect(c?.stats).toBeDefined();
    expect(c?.nm.unknownFields).toEqual(['exitCode', 'totalVCoresNeeded']);
    expect(c?.nm.exitCode).toBeUndefined();
    expect(log.find(/unparseable optional fields/)).toHaveLength(1);
    const pid = node.containerPid(odd);
    const r = await socketRequest(a.socketPath, 'POST', '/v1/killContainer', JSON.stringify({ containerID: odd }));
    expect(r.status).toBe(200);
    await until(() => !alive(pid), 'the container with an odd field to be killed');
  });
});

describe('an explicit killContainer of an ApplicationMaster', () => {
  const AM = cid(7, 1);
  const WORKER = cid(7, 2);

  async function withAm(protect: string): Promise<{ a: AgentHandle; amPid: number | undefined; workerPid: number | undefined }> {
    node.syncContainers([{ id: AM, memoryMiB: 1024, vcores: 1 }, { id: WORKER, memoryMiB: 1024, vcores: 1 }]);
    nm.entries = [{ id: AM, mb: 1024 }, { id: WORKER, mb: 1024 }];
    const a = await start({ protectApplicationMasters: protect });
    node.step(1000);
    await a.tick();
    return { a, amPid: node.containerPid(AM), workerPid: node.containerPid(WORKER) };
  }

  it('protectApplicationMasters=always: refused (400), nothing signalled', async () => {
    const { a, amPid, workerPid } = await withAm('always');
    const r = await socketRequest(a.socketPath, 'POST', '/v1/killContainer', JSON.stringify({ containerID: AM }));
    expect(r.status).toBe(400);
    expect((r.json as { error: string }).error).toMatch(/ApplicationMaster and protectApplicationMasters is "always"/);
    expect(a.evictions).toHaveLength(0);
    expect(alive(amPid)).toBe(true);
    expect(alive(workerPid)).toBe(true);
  });

  it.each(['except-emergency', 'never'])('protectApplicationMasters=%s: honoured — the caller named it — and logged as an AM', async (protect) => {
    const { a, amPid, workerPid } = await withAm(protect);
    const r = await socketRequest(a.socketPath, 'POST', '/v1/killContainer', JSON.stringify({ containerID: AM }));
    expect(r.status).toBe(200);
    await until(() => !alive(amPid), 'the AM to be killed');
    await a.settled();
    expect(a.evictions.map((e) => [e.containerId, e.reason, e.inputs.applicationMaster])).toEqual([[AM, 'api', true]]);
    expect(alive(workerPid)).toBe(true);
  });
});
