/**
 * The copilot API's view of the NM and its kill decisions, against a NodeManager that lists
 * whatever the test wants: every non-final state in `GET /v1/containers` (as yarn-copilot
 * lists them), an explicit `killContainer` of an ApplicationMaster under each protection setting,
 * and an entry with one unparseable optional field staying listed and evictable.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type AgentHandle, startAgent } from '../../agent/agent.js';
import { alive, BASE_MS, GiB, socketRequest, until } from './agent-harness.js';
import { useFakeNmNode, YARN_PARENT as YARN } from './fake-nm-node.js';

const cid = (app: number, n: number): string => `container_1700000000000_${String(app).padStart(4, '0')}_01_${String(n).padStart(6, '0')}`;

const rig = useFakeNmNode('loom-agent-wire-');

async function start(rules: Record<string, number | string> = {}): Promise<AgentHandle> {
  const a = await startAgent({
    nodeName: 'node-a', nmUrl: rig.nm.url, rmUrls: [],
    cgroupRoot: rig.node.paths.cgroupRoot, procRoot: rig.node.paths.procRoot, simulatedCgroups: true, yarnCgroupPath: YARN,
    socket: path.join(rig.tmp, 'copilot.sock'), socketMode: 0o600, metricsAddr: '', dryRun: false,
    tickMillis: 1000, fastWatchMillis: 100,
    rules: { gracePeriodSeconds: 1, ...rules },
  }, { logger: rig.log.logger, clock: () => BASE_MS + rig.node.now(), manual: true, killDeadlineMs: 2000 });
  rig.agent = a;
  return a;
}

describe('copilot API against a NodeManager in every state', () => {
  it('GET /v1/containers lists every non-final state, as yarn-copilot does; final ones only by id', async () => {
    const states = ['NEW', 'LOCALIZING', 'SCHEDULED', 'RUNNING', 'RELAUNCHING', 'PAUSED', 'REINITIALIZING'];
    const finals = ['KILLING', 'DONE', 'LOCALIZATION_FAILED', 'CONTAINER_RESOURCES_CLEANINGUP', 'CONTAINER_CLEANEDUP_AFTER_KILL', 'EXITED_WITH_FAILURE', 'EXITED_WITH_SUCCESS'];
    rig.nm.entries = [...states, ...finals].map((state, i) => ({ id: cid(1, i + 2), state }));
    const a = await start();
    rig.node.step(1000);
    await a.tick();
    const list = (await socketRequest(a.socketPath, 'GET', '/v1/containers')).json as { name: string }[];
    expect(list.map((c) => c.name).sort()).toEqual(states.map((_s, i) => cid(1, i + 2)).sort());
    const done = await socketRequest(a.socketPath, 'GET', `/v1/container?containerID=${cid(1, states.length + 3)}`);
    expect(done.status).toBe(200);
  });

  it('an entry with one unparseable optional field stays listed, proven and evictable (the field unknown)', async () => {
    const odd = cid(1, 2);
    rig.node.syncContainers([{ id: odd, memoryMiB: 2048, vcores: 1 }]);
    rig.node.setContainerUsage(odd, { memoryBytes: GiB, cacheBytes: 0 });
    rig.node.render();
    rig.nm.entries = [{ id: odd, fields: { exitCode: 'NaN', totalVCoresNeeded: 'many' } }];
    const a = await start();
    rig.node.step(1000);
    await a.tick();
    const c = a.latest()!.containers.find((x) => x.nm.id === odd);
    expect(c?.stats).toBeDefined();
    expect(c?.nm.unknownFields).toEqual(['exitCode', 'totalVCoresNeeded']);
    expect(c?.nm.exitCode).toBeUndefined();
    expect(rig.log.find(/unparseable optional fields/)).toHaveLength(1);
    const pid = rig.node.containerPid(odd);
    const r = await socketRequest(a.socketPath, 'POST', '/v1/killContainer', JSON.stringify({ containerID: odd }));
    expect(r.status).toBe(200);
    await until(() => !alive(pid), 'the container with an odd field to be killed');
  });
});

describe('an explicit killContainer of an ApplicationMaster', () => {
  const AM = cid(7, 1);
  const WORKER = cid(7, 2);

  async function withAm(protect: string): Promise<{ a: AgentHandle; amPid: number | undefined; workerPid: number | undefined }> {
    rig.node.syncContainers([{ id: AM, memoryMiB: 1024, vcores: 1 }, { id: WORKER, memoryMiB: 1024, vcores: 1 }]);
    rig.nm.entries = [{ id: AM, mb: 1024 }, { id: WORKER, mb: 1024 }];
    const a = await start({ protectApplicationMasters: protect });
    rig.node.step(1000);
    await a.tick();
    return { a, amPid: rig.node.containerPid(AM), workerPid: rig.node.containerPid(WORKER) };
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
