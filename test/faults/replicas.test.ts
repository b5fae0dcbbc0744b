/**
 * Two operator replicas as child processes under injected faults — every fault kind once, in a
 * seeded order — checked from outside: capacity and YARN use within the claim outside the
 * measured exposure windows, no write from a replica without the lease, the other writer's entry
 * intact, and convergence once the faults stop.
 */
import { existsSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { ALL_FAULTS, rng, runScenario } from './scenario.js';

const MAIN = new URL('../../dist/cli/main.js', import.meta.url).pathname;

describe('operator replicas under faults', () => {
  test('every fault once: no unit booked twice, no unleased write, foreign entries intact, convergence', async () => {
    expect(existsSync(MAIN), 'dist/ is built by `npm ci` (prepare) or `npm run build`').toBe(true);
    // Every fault kind once, in an order drawn from the seed.
    const r = rng(7);
    const faults = [...ALL_FAULTS].map((f) => [r(), f] as const).sort((a, b) => a[0] - b[0]).map(([, f]) => f);
    const report = await runScenario({ seed: 7, faults, nodes: 4 });
    const why = JSON.stringify({ checker: report.checker, violations: report.violations.slice(0, 3), unleased: report.unleased.slice(0, 3), logs: report.logs.slice(-20) });
    expect(report.steps.map((s) => s.fault)).toEqual(faults);
    expect(report.steps.filter((s) => !s.injected).map((s) => s.fault), 'every injected fault hit a request').toEqual([]);
    expect(report.violations, why).toEqual([]);
    expect(report.unleased, why).toEqual([]);
    expect(report.foreignBroken, why).toEqual([]);
    expect(report.converged, why).toBe(true);
    // The leader really changed hands under the lease faults.
    for (const s of report.steps.filter((x) => ['pause-leader', 'kill-leader', 'blackhole-lease'].includes(x.fault))) {
      expect(s.leaderAfter, JSON.stringify(s)).not.toBe(s.leaderBefore);
    }
    // Every exposure (override forgotten) was closed; the repair came within a few polls.
    expect(report.exposuresMs.length).toBeGreaterThan(0);
    console.log(`fault suite: ${JSON.stringify({ steps: report.steps.map((s) => `${s.fault} ${s.ms}ms`), ...report.checker, convergeMs: report.convergeMs })}`);
  }, 110_000);
});
