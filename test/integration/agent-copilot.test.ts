/**
 * The yarn-copilot API over the agent's real unix socket, against the simulated node and YARN.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { alive, GiB, Rig, socketRequest, until } from './agent-harness.js';

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

const KEYS = ['annotations', 'cgroupDir', 'createTimestamp', 'hostNetwork', 'labels', 'name', 'namespace', 'priority', 'resources', 'uid'];

async function setup() {
  rig = await Rig.create();
  const app1 = await rig.submit({ am: { memoryMiB: 1024, vcores: 1 }, containers: [{ count: 2, memoryMiB: 2048, vcores: 1 }] });
  const agent = await rig.startAgent({ rules: { gracePeriodSeconds: 2 } });
  await rig.step(agent); // first collection: these containers were there before the agent
  const app2 = await rig.submit({ am: { memoryMiB: 1024, vcores: 1 }, containers: [{ count: 2, memoryMiB: 3072, vcores: 2 }] });
  for (const id of rig.node.containerIds()) rig.node.setContainerUsage(id, { memoryBytes: GiB / 2, cacheBytes: 0, cpuMilli: 100 });
  await rig.step(agent);
  return { agent, app1, app2, sock: agent.socketPath };
}

describe('yarn-copilot API on the unix socket', () => {
  it('health, information, containers (exact shape), container lookup', async () => {
    const { app1, app2, sock } = await setup();
    expect(fs.statSync(sock).mode & 0o777).toBe(0o600);
    expect(await socketRequest(sock, 'GET', '/health')).toMatchObject({ status: 200, body: '"ok"' });
    expect((await socketRequest(sock, 'GET', '/information')).json).toEqual({ name: 'yarn', version: 'v1' });

    const list = (await socketRequest(sock, 'GET', '/v1/containers')).json as Record<string, unknown>[];
    expect(list.map((c) => c.name).sort()).toEqual([app1.am, ...app1.workers, app2.am, ...app2.workers].sort());
    for (const c of list) expect(Object.keys(c).sort()).toEqual(KEYS);
    const w = list.find((c) => c.name === app2.workers[0])!;
    expect(w).toEqual({
      name: app2.workers[0],
      namespace: 'yarn',
      uid: app2.workers[0],
      labels: null,
      annotations: null,
      priority: 1,
      createTimestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
      cgroupDir: `kubepods/besteffort/hadoop-yarn/${app2.workers[0]}`,
      hostNetwork: true,
      resources: { limits: { cpu: '2', memory: '3Gi' }, requests: { cpu: '2', memory: '3Gi' } },
    });
    // Present before the agent started: Go's zero time, as yarn-copilot sends.
    expect(list.find((c) => c.name === app1.workers[0])!.createTimestamp).toBe('0001-01-01T00:00:00Z');

    const one = await socketRequest(sock, 'GET', `/v1/container?containerID=${app1.am}`);
    expect(one.status).toBe(200);
    expect((one.json as Record<string, unknown>).resources).toEqual({ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '1', memory: '1Gi' } });
    const missing = await socketRequest(sock, 'GET', '/v1/container?containerID=container_1_0001_01_000009');
    expect(missing.status).toBe(400);
    expect(missing.json).toMatchObject({ error: expect.stringContaining('not found') });
    expect((await socketRequest(sock, 'GET', '/v1/container')).status).toBe(400);
  });

  it('killContainer kills exactly that container', async () => {
    const { agent, app1, app2, sock } = await setup();
    const victim = app1.workers[1]!;
    const pid = rig!.node.containerPid(victim);
    const r = await socketRequest(sock, 'POST', '/v1/killContainer', JSON.stringify({ containerID: victim }));
    expect(r.status).toBe(200);
    const items = (r.json as { items: Record<string, unknown>[] }).items;
    expect(items).toHaveLength(1);
    expect(items[0]!.name).toBe(victim);
    await until(() => !alive(pid), 'the killed container to exit');
    await agent.settled();
    expect(agent.evictions.map((e) => [e.containerId, e.reason, e.outcome])).toEqual([[victim, 'api', 'stopped']]);
    for (const id of [app1.am, app1.workers[0]!, app2.am, ...app2.workers]) expect(alive(rig!.node.containerPid(id))).toBe(true);
    await until(() => rig!.yarn.cluster.container(victim)?.state === 'EXITED_WITH_FAILURE', 'YARN to see the exit');
  });

  it('killContainersByResource releases at least the request, never AMs, newest first', async () => {
    const { agent, app1, app2, sock } = await setup();
    // 4 GiB of batch memory: app2's workers are 3 GiB each (newest first) → both, 6 GiB and 4 cores.
    const r = await socketRequest(sock, 'POST', '/v1/killContainersByResource', JSON.stringify({ resources: { 'kubernetes.io/batch-memory': '4Gi' } }));
    expect(r.status).toBe(200);
    // batch-cpu answers as koordlet reads it (MilliValue): 4 cores = 4,000 milli-cores.
    expect(r.json).toEqual({ 'kubernetes.io/batch-cpu': '4', 'kubernetes.io/batch-memory': '6Gi' });
    await agent.settled();
    expect(agent.evictions.map((e) => e.containerId)).toEqual([app2.workers[1], app2.workers[0]]);
    for (const id of app2.workers) expect(alive(rig!.node.containerPid(id))).toBe(false);
    for (const id of [app1.am, app2.am, ...app1.workers]) expect(alive(rig!.node.containerPid(id))).toBe(true);

    // More than every non-AM container holds: all remaining workers, still no AM.
    await rig!.step(agent);
    const all = await socketRequest(sock, 'POST', '/v1/killContainersByResource', JSON.stringify({ containerID: '', resources: { 'kubernetes.io/batch-cpu': '8', 'kubernetes.io/batch-memory': '100Gi' } }));
    expect(all.json).toEqual({ 'kubernetes.io/batch-cpu': '2', 'kubernetes.io/batch-memory': '4Gi' });
    await agent.settled();
    for (const id of [app1.am, app2.am]) expect(alive(rig!.node.containerPid(id))).toBe(true);
    for (const id of app1.workers) expect(alive(rig!.node.containerPid(id))).toBe(false);
  });

  it("killContainersByResource reads batch-cpu as koordlet's CPU eviction sends it (milli quantity), refuses a whole-number request above the node", async () => {
    const { agent, app1, app2, sock } = await setup();
    // koordlet: NewMilliQuantity(1500) → "1500m", plus its node ratios. 1,500 milli-cores: app2's
    // newest worker (2 vcores) covers it alone.
    const r = await socketRequest(sock, 'POST', '/v1/killContainersByResource', JSON.stringify({
      resources: { 'kubernetes.io/batch-cpu': '1500m', 'kubernetes.io/batch-memory': '0' }, nodeCpuRatio: 0.93, nodeMemoryRatio: -1,
    }));
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ 'kubernetes.io/batch-cpu': '2', 'kubernetes.io/batch-memory': '3Gi' });
    await agent.settled();
    expect(agent.evictions.map((e) => e.containerId)).toEqual([app2.workers[1]]);
    // koordlet's own test and mock send whole numbers ("1k"): as a CPU quantity that is 1,000
    // cores, more than this 8-core node has, so it is refused, naming the unit, and kills nothing.
    const k = await socketRequest(sock, 'POST', '/v1/killContainersByResource', JSON.stringify({ resources: { 'kubernetes.io/batch-cpu': '1k', 'kubernetes.io/batch-memory': '2Gi' } }));
    expect(k.status).toBe(400);
    expect((k.json as { error: string }).error).toMatch(/1000 cores, more than this node's 8: the quantity is in cores/);
    await agent.settled();
    expect(agent.evictions).toHaveLength(1);
    for (const id of [app1.am, ...app1.workers, app2.am, app2.workers[0]!]) expect(alive(rig!.node.containerPid(id))).toBe(true);
  });

  it('refuses bad requests with 400 and a JSON body, and keeps serving', async () => {
    const { agent, app1, sock } = await setup();
    const bad: [string, string][] = [
      ['/v1/killContainer', '{not json'],
      ['/v1/killContainer', JSON.stringify({ containerID: app1.workers[0], extra: 1 })],
      ['/v1/killContainer', JSON.stringify({ containerID: '../../../etc' })],
      ['/v1/killContainer', JSON.stringify({ containerID: 'container_1_0009_01_000002' })],
      ['/v1/killContainer', JSON.stringify({})],
      ['/v1/killContainer', '[]'],
      ['/v1/killContainersByResource', JSON.stringify({ resources: { cpu: '1' } })],
      ['/v1/killContainersByResource', JSON.stringify({ resources: { 'kubernetes.io/batch-memory': 'lots' } })],
      ['/v1/killContainersByResource', JSON.stringify({ resources: { 'kubernetes.io/batch-memory': '-1Gi' } })],
      ['/v1/killContainersByResource', JSON.stringify({})],
      ['/v1/killContainersByResource', 'x'.repeat(70_000)],
    ];
    for (const [p, body] of bad) {
      const r = await socketRequest(sock, 'POST', p, body);
      expect(r.status, `${p} ${body.slice(0, 60)}`).toBe(400);
      expect(typeof (r.json as { error?: unknown }).error).toBe('string');
    }
    expect((await socketRequest(sock, 'GET', '/v1/nothing')).status).toBe(404);
    expect((await socketRequest(sock, 'GET', '/health')).status).toBe(200);
    expect(agent.evictions).toHaveLength(0);
    for (const id of rig!.node.containerIds()) expect(alive(rig!.node.containerPid(id))).toBe(true);
  });

  it('replaces a stale socket, refuses a live one, removes its socket on stop', async () => {
    rig = await Rig.create();
    const first = await rig.startAgent();
    const sock = first.socketPath;
    await expect(rig.startAgent({ socket: sock })).rejects.toThrow(/another process is listening/);
    await first.stop();
    expect(fs.existsSync(sock)).toBe(false);
    const second = await rig.startAgent({ socket: sock, socketMode: 0o660 });
    expect(fs.statSync(sock).mode & 0o777).toBe(0o660);
    expect((await socketRequest(sock, 'GET', '/health')).status).toBe(200);
    await second.stop();
  });

  it('serves /metrics and /healthz', async () => {
    const { agent } = await setup();
    const text = await (await fetch(`${agent.metricsUrl}/metrics`)).text();
    for (const m of [
      'loom_agent_container_memory_working_set_bytes', 'loom_agent_container_cpu_usage_millicores', 'loom_agent_node_memory_used_bytes',
      'loom_agent_node_cpu_usage_millicores', 'loom_agent_yarn_cpu_usage_millicores', 'loom_agent_yarn_cpu_limit_millicores',
      'loom_agent_rule_duration_seconds_bucket', 'loom_agent_tick_duration_seconds_bucket', 'loom_agent_cpu_suppress_limit_millicores',
    ]) expect(text, m).toContain(m);
    expect(text).toMatch(/loom_agent_containers\{state="proven",node="node-a"\} 6/);
    expect((await fetch(`${agent.metricsUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${agent.metricsUrl}/readyz`)).status).toBe(200);
  });
});
