/**
 * The pure checks the real-node idle benchmark (bench/agent-idle-real.ts) rests on: how many
 * containers the agent proved, read from the agent's own metrics registry (its default `node`
 * label included), and when this machine's memory is too high to measure an idle agent on it.
 */
import { describe, expect, it } from 'vitest';
import { AgentMetrics } from '../../agent/metrics.js';
import { containersByStateOf, memoryPercentOf, memoryTooHigh } from '../../bench/agent-idle-real.js';

describe('bench: idle agent on a real node', () => {
  it("reads the proven and unproven containers from the agent's /metrics text", async () => {
    const m = new AgentMetrics('node-a');
    m.containers.set({ state: 'proven' }, 200);
    m.containers.set({ state: 'unproven' }, 3);
    expect(containersByStateOf(await m.registry.metrics())).toEqual({ proven: 200, unproven: 3 });
  });

  it('counts nothing proven when the series is missing', async () => {
    expect(containersByStateOf(await new AgentMetrics('node-a').registry.metrics())).toEqual({ proven: 0, unproven: 0 });
  });

  it('node memory in use as the agent computes it (MemTotal − MemAvailable)', () => {
    const text = 'MemTotal:       1000000 kB\nMemFree:         100000 kB\nMemAvailable:    400000 kB\n';
    expect(memoryPercentOf(text)).toBe(60);
    expect(() => memoryPercentOf('MemTotal: 1000 kB\n')).toThrow(/MemAvailable/);
  });

  it('measures only more than 10 points under the eviction threshold', () => {
    expect(memoryTooHigh(5, 70)).toBeUndefined();
    expect(memoryTooHigh(59.9, 70)).toBeUndefined();
    expect(memoryTooHigh(60, 70)).toMatch(/60\.0 % in use is not more than 10 points under the default eviction threshold 70 %/);
    expect(memoryTooHigh(75, 70)).toBeDefined();
  });
});
