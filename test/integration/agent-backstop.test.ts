/**
 * The kernel backstop (`--memory-backstop`) against a simulated v2 node, on the rig's injected
 * clock: the YARN parent's memory.high follows YARN's allowed share, never under YARN's working
 * set + margin, rewritten only past the hysteresis, put back on stop (or kept); off by default;
 * dry-run writes nothing. The pure plan is checked on its own.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BACKSTOP_MARGIN_BYTES, backstopMoved, backstopPlan } from '../../agent/memory-backstop.js';
import type { AgentSettings } from '../../agent/settings.js';
import { GiB, MiB, Rig } from './agent-harness.js';

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

const rules = { memoryEvictThresholdPercent: 70, memoryEvictLowerPercent: 68, memoryEvictCoolTimeSeconds: 0 };

describe('backstop plan (pure)', () => {
  const snap = (totalGiB: number, usedGiB: number, yarnGiB: number | undefined) => ({
    node: { memoryTotal: totalGiB * GiB, memoryUsed: usedGiB * GiB, cpuCapacity: 0, cpuUsed: 0 },
    yarn: { cpuUsed: 0, cpuLimit: null, requestedVcores: 0, ...(yarnGiB !== undefined ? { memoryUsed: yarnGiB * GiB } : {}) },
  }) as Parameters<typeof backstopPlan>[0];

  it('share = total × threshold − non-YARN use, page-aligned', () => {
    const p = backstopPlan(snap(100, 50, 20), 70)!;
    expect(p.nonYarn).toBe(30 * GiB);
    expect(p.limit).toBe(40 * GiB);
    expect(p.limit % 4096).toBe(0);
  });
  it('never under YARN’s working set + max(256 MiB, 5 %): the kernel must not reclaim or OOM-kill at once', () => {
    // Online use alone is over the threshold: the share is negative.
    expect(backstopPlan(snap(100, 95, 10), 70)!.limit).toBe(Math.floor((10 * GiB + 0.5 * GiB) / 4096) * 4096);
    expect(backstopPlan(snap(16, 15, 1), 70)!.limit).toBe(GiB + BACKSTOP_MARGIN_BYTES);
  });
  it('nothing without YARN’s working set or MemTotal', () => {
    expect(backstopPlan(snap(100, 50, undefined), 70)).toBeUndefined();
    expect(backstopPlan(snap(0, 0, 1), 70)).toBeUndefined();
  });
  it('rewritten only past max(64 MiB, 1 % of MemTotal)', () => {
    expect(backstopMoved(undefined, GiB, 4 * GiB)).toBe(true);
    expect(backstopMoved(GiB, GiB + 64 * MiB, 4 * GiB)).toBe(false); // 1 % of 4 GiB is under 64 MiB
    expect(backstopMoved(GiB, GiB + 65 * MiB, 4 * GiB)).toBe(true);
    expect(backstopMoved(GiB, GiB - 65 * MiB, 4 * GiB)).toBe(true);
    expect(backstopMoved(GiB, GiB + 150 * MiB, 16 * GiB)).toBe(false); // 1 % of 16 GiB ≈ 164 MiB
    expect(backstopMoved(10 * GiB, 10 * GiB + 1000 * MiB, 100 * GiB)).toBe(false); // 1 % of 100 GiB
  });
});

describe('the backstop on a simulated v2 node', () => {
  async function setup(over: Partial<AgentSettings> = {}) {
    rig = await Rig.create({ cpuCores: 8, memoryBytes: 16 * GiB });
    const app = await rig.submit({ am: { memoryMiB: 1024, vcores: 1 }, containers: [{ count: 3, memoryMiB: 2048, vcores: 1 }] });
    for (const id of [app.am, ...app.workers]) rig.node.setContainerUsage(id, { memoryBytes: GiB, cacheBytes: 0, cpuMilli: 100 });
    rig.node.render();
    const agent = await rig.startAgent({ rules, ...over } as Parameters<Rig['startAgent']>[0]);
    const high = path.join(rig.node.paths.cgroupRoot, rig.node.paths.yarnCgroupPath, 'memory.high');
    return { agent, high, read: () => fs.readFileSync(high, 'utf8').trim() };
  }
  const expected = (agent: Awaited<ReturnType<typeof setup>>['agent']): number => {
    const col = agent.latest()!;
    const yarn = col.yarn!.memoryUsed!;
    const share = Math.floor((col.node!.memoryTotal * 70) / 100) - (col.node!.memoryUsed - yarn);
    return Math.floor(Math.max(share, yarn + Math.max(BACKSTOP_MARGIN_BYTES, Math.ceil(yarn * 0.05))) / 4096) * 4096;
  };

  it('off by default: memory.high untouched', async () => {
    const { agent, read } = await setup();
    await rig!.step(agent);
    await rig!.step(agent);
    expect(read()).toBe('max');
    expect(agent.backstopLimit).toBeUndefined();
  });

  it('follows the share with hysteresis, and is put back on stop', async () => {
    const { agent, read } = await setup({ memoryBackstop: true });
    await rig!.step(agent);
    const first = expected(agent);
    expect(Number(read())).toBe(first);
    expect(agent.backstopLimit).toBe(first);
    expect(rig!.log.find(/YARN parent memory limit set \(backstop\)/)).toHaveLength(1);
    // Online use grows by 2 GiB: the share shrinks by as much; rewritten.
    rig!.node.setMemorySpike(2 * GiB);
    await rig!.step(agent);
    const second = expected(agent);
    expect(first - second).toBeGreaterThan(1.9 * GiB);
    expect(Number(read())).toBe(second);
    // A 32 MiB move stays under the hysteresis: not rewritten.
    rig!.node.setMemorySpike(2 * GiB + 32 * MiB);
    await rig!.step(agent);
    expect(Number(read())).toBe(second);
    expect(rig!.log.find(/YARN parent memory limit set \(backstop\)/)).toHaveLength(2);
    await agent.stop();
    expect(read()).toBe('max');
    expect(rig!.log.find(/memory limit restored to what the agent found/)).toHaveLength(1);
  });

  it('never under YARN’s working set + margin when online use alone passes the threshold', async () => {
    const { agent, read } = await setup({ memoryBackstop: true, rules: { ...rules, memoryEvictThresholdPercent: 95, memoryEvictLowerPercent: 93, memoryEmergencyPercent: 99 } });
    rig!.node.setMemorySpike(12 * GiB); // online ≈ 13.5 GiB of 16: the share is below YARN's 4 GiB
    await rig!.step(agent);
    const yarn = agent.latest()!.yarn!.memoryUsed!;
    expect(Number(read())).toBe(Math.floor((yarn + BACKSTOP_MARGIN_BYTES) / 4096) * 4096);
  });

  it('--keep-limits-on-exit keeps it; a limit changed by someone else is left alone', async () => {
    const kept = await setup({ memoryBackstop: true, keepLimitsOnExit: true });
    await rig!.step(kept.agent);
    const v = kept.read();
    await kept.agent.stop();
    expect(kept.read()).toBe(v);
    await rig!.stop();
    rig = undefined;
    const other = await setup({ memoryBackstop: true });
    await rig!.step(other.agent);
    fs.writeFileSync(other.high, '123456789\n');
    await other.agent.stop();
    expect(other.read()).toBe('123456789');
    expect(rig!.log.find(/memory limit changed since the agent set it/)).toHaveLength(1);
  });

  it('dry-run decides and logs, writes nothing', async () => {
    const { agent, read } = await setup({ memoryBackstop: true, dryRun: true });
    await rig!.step(agent);
    expect(read()).toBe('max');
    expect(rig!.log.find(/would set the YARN parent memory limit/)).toHaveLength(1);
  });
});
