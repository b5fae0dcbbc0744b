/**
 * `/healthz` and `/readyz` say whether the agent can still decide: node memory and the
 * NodeManager read within the last `healthTicks` ticks, per-check detail in the body, 503 when
 * not. `/livez` says only whether its loops turn (what a restart could fix). And an agent without
 * a node name refuses to start instead of guessing one.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type http from 'node:http';
import { type AgentHandle, NM_LIST_EVERY, startAgent } from '../../agent/agent.js';
import { ManualClock } from '../../clock/clock.js';
import { agentSettingSpecs, toAgentSettings } from '../../agent/settings.js';
import { SettingsError } from '../../settings/settings.js';
import { BASE_MS, LogCapture, until } from './agent-harness.js';
import { useFakeNmNode, YARN_PARENT as YARN } from './fake-nm-node.js';

const rig = useFakeNmNode('loom-agent-health-');

async function start(procRoot: string): Promise<AgentHandle> {
  const a = await startAgent({
    nodeName: 'node-a', nmUrl: rig.nm.url, rmUrls: [],
    cgroupRoot: rig.node.paths.cgroupRoot, procRoot, simulatedCgroups: true, yarnCgroupPath: YARN,
    socket: path.join(rig.tmp, 'copilot.sock'), socketMode: 0o600, metricsAddr: '127.0.0.1:0', dryRun: false,
    tickMillis: 1000, fastWatchMillis: 100, healthTicks: 3, rules: {},
  }, { logger: new LogCapture().logger, clock: () => BASE_MS + rig.node.now(), manual: true });
  rig.agent = a;
  return a;
}

async function probe(a: AgentHandle, p: '/livez' | '/healthz' | '/readyz'): Promise<{ status: number; body: string }> {
  const r = await fetch(`${a.metricsUrl}${p}`);
  return { status: r.status, body: await r.text() };
}

describe('agent health is "can it still decide"', () => {
  it('a wrong --proc-root: 503 with the node-memory check named once it is unread for healthTicks ticks; 200 again once readable', async () => {
    const wrong = path.join(rig.tmp, 'not-proc');
    fs.mkdirSync(wrong);
    const a = await start(wrong);
    expect((await probe(a, '/readyz')).status).toBe(503); // never read yet: not ready
    for (let i = 0; i < 3; i++) {
      await a.tick();
      a.fastCheck();
    }
    const h = await probe(a, '/healthz');
    expect(h.status).toBe(503);
    expect(h.body).toMatch(/^not ok: node-memory: failing — node memory never read in 3 tick\(s\); last error: .*meminfo.*ENOENT/);
    expect(h.body).toMatch(/nodemanager: ok/);
    expect((await probe(a, '/readyz')).status).toBe(503);

    fs.copyFileSync(path.join(rig.node.paths.procRoot, 'meminfo'), path.join(wrong, 'meminfo'));
    fs.copyFileSync(path.join(rig.node.paths.procRoot, 'stat'), path.join(wrong, 'stat'));
    await a.tick();
    expect(await probe(a, '/healthz')).toMatchObject({ status: 200, body: expect.stringMatching(/^ok: node-memory: ok; nodemanager: ok/) });
    expect((await probe(a, '/readyz')).status).toBe(200);
  });

  it('a NodeManager that stays unreachable: 503 naming the nodemanager check after healthTicks ticks', async () => {
    const a = await start(rig.node.paths.procRoot);
    await a.tick();
    expect((await probe(a, '/readyz')).status).toBe(200);
    await rig.nm.stop();
    for (let i = 0; i < 3; i++) await a.tick();
    expect((await probe(a, '/healthz')).status).toBe(200); // 3 ticks without: still within the limit
    await a.tick();
    const h = await probe(a, '/healthz');
    expect(h.status).toBe(503);
    expect(h.body).toMatch(/nodemanager: failing — NodeManager containers not read for 4 ticks \(limit 3\)/);
    expect(h.body).toMatch(/node-memory: ok/);
  });
});

describe('/livez is "are the loops turning"', () => {
  it('a tick stuck on a NodeManager that never answers fails /livez (the loop check) until it ends; a NodeManager that is down fails /healthz and /readyz, never /livez', async () => {
    const timers = new ManualClock(BASE_MS);
    const TICK = 5000;
    rig.agent = await startAgent({
      nodeName: 'node-a', nmUrl: rig.nm.url, rmUrls: [],
      cgroupRoot: rig.node.paths.cgroupRoot, procRoot: rig.node.paths.procRoot, simulatedCgroups: true, yarnCgroupPath: YARN,
      socket: path.join(rig.tmp, 'copilot.sock'), socketMode: 0o600, metricsAddr: '127.0.0.1:0', dryRun: false,
      tickMillis: TICK, fastWatchMillis: 100, healthTicks: 3, rules: {},
    }, { logger: new LogCapture().logger, clock: () => BASE_MS + rig.node.now(), timers });
    const a = rig.agent;
    // A tick has ended when the loop has set the next one beside the fast watch's timer.
    const tickEnded = () => until(() => timers.pendingTimers === 2, 'the tick to end');
    await timers.runDue();
    await tickEnded();
    expect(await probe(a, '/livez')).toEqual({ status: 200, body: 'ok: loop: ok; fast-watch: ok\n' });

    // The NodeManager takes the next request and never answers: the tick hangs (the client's own
    // timeout is 5 s of real time; the agent's clock jumps past the loop's limit long before).
    const held: http.ServerResponse[] = [];
    rig.nm.streamContainers = (res) => { held.push(res); };
    await timers.advance(TICK);
    await until(() => held.length === 1, 'the tick to ask the NodeManager');
    await timers.advance(TICK * 3 + 5000);
    const stuck = await probe(a, '/livez');
    expect(stuck.status).toBe(503);
    expect(stuck.body).toBe('not ok: loop: failing — last tick ended 25000 ms ago (limit 20000 ms) (fast-watch: ok)\n');
    expect((await probe(a, '/healthz')).body).toMatch(/loop: failing/);
    // The answer comes: the loop turns again.
    held[0]!.writeHead(200, { 'content-type': 'application/json' }).end(rig.nm.render());
    await tickEnded();
    expect((await probe(a, '/livez')).status).toBe(200);

    // The NodeManager goes away: every tick still ends, so the agent is alive but cannot decide.
    rig.nm.streamContainers = undefined;
    await rig.nm.stop();
    // Far under the threshold a steady list is asked for once in NM_LIST_EVERY ticks: the outage
    // is seen at the next asking tick at the latest, then every tick asks.
    for (let i = 0; i < 4 + NM_LIST_EVERY - 1; i++) {
      await timers.advance(TICK);
      await tickEnded();
    }
    const h = await probe(a, '/healthz');
    expect(h.status).toBe(503);
    // At least 4 ticks without (a refused connection can end within the clock's step, so a step may hold two).
    expect(Number(/nodemanager: failing — NodeManager containers not read for (\d+) ticks \(limit 3\)/.exec(h.body)?.[1])).toBeGreaterThanOrEqual(4);
    expect((await probe(a, '/readyz')).status).toBe(503);
    expect(await probe(a, '/livez')).toEqual({ status: 200, body: 'ok: loop: ok; fast-watch: ok\n' });
  });
});

describe('node name', () => {
  const values = { ...Object.fromEntries(agentSettingSpecs.filter((s) => s.default !== undefined).map((s) => [s.key, s.default])) };

  it('without --node-name or NODE_NAME the settings are refused with one line; NODE_NAME is used when set', () => {
    expect(() => toAgentSettings(values, {})).toThrow(SettingsError);
    expect(() => toAgentSettings(values, { NODE_NAME: '  ' })).toThrow(/^--node-name: required: no node name given and NODE_NAME is not set/);
    expect(toAgentSettings(values, { NODE_NAME: 'worker-7' }).nodeName).toBe('worker-7');
    expect(toAgentSettings({ ...values, nodeName: 'worker-8' }, { NODE_NAME: 'worker-7' }).nodeName).toBe('worker-8');
    expect(agentSettingSpecs.find((s) => s.key === 'nodeName')!.description).toMatch(/required; default \$NODE_NAME/);
  });

  it('loom agent without a node name exits 2 with one line on stderr, and never starts', async () => {
    const env = { ...process.env };
    delete env.NODE_NAME;
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'agent', '--socket', path.join(rig.tmp, 's.sock'), '--metrics-addr', '127.0.0.1:0'], {
      cwd: path.join(import.meta.dirname, '..', '..'), env, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => { out += String(c); });
    child.stderr.on('data', (c) => { err += String(c); });
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(code).toBe(2);
    expect(err.trim().split('\n')).toEqual(['loom agent: --node-name: required: no node name given and NODE_NAME is not set (the DaemonSet sets it from spec.nodeName); it names the Kubernetes Node this agent runs on']);
    expect(out).toBe('');
  });
});
