import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bytes, milliCores } from '../../kube/quantity.js';
import { mib, vcores } from '../../yarn/resource.js';
import { type ContainerSnapshot, type ResourceRequest, DEFAULT_RULES_CONFIG, killContainersByResource, parseRulesConfig } from '../../agent/rules/index.js';
import { containerFactory, GiB } from './rules-fixture.js';

const base = containerFactory({ memoryMiB: 1024, vcores: 1, ws: 0.5, cpuMilli: 100 });
// Real usage is irrelevant here: credit is by allocation.
const ctr = (app: number, seq: number, v: number, memGiB: number, o: Partial<ContainerSnapshot> = {}): ContainerSnapshot =>
  base(app, seq, { v, allocated: { memoryMiB: mib(memGiB * 1024), vcores: vcores(v) }, ...o });

// newest first: A (app 3), B (app 2 seq 3), C (app 2 seq 2); the AM of app 3 is the newest of all.
const A = ctr(3, 2, 2, 4);
const B = ctr(2, 3, 1, 8);
const C = ctr(2, 2, 4, 2);
const AM = ctr(3, 1, 8, 16, { startedAt: 10 });
const node = [C, AM, A, B];
const req = (cpu?: number, memGiB?: number): ResourceRequest => ({
  ...(cpu !== undefined ? { cpu: milliCores(cpu) } : {}),
  ...(memGiB !== undefined ? { memory: bytes(memGiB * GiB) } : {}),
});

describe('killContainersByResource', () => {
  it.each<[string, ResourceRequest, string[], number, number, boolean]>([
    ['batch-cpu 3000m: A (2000) + B (1000)', req(3000), [A.id, B.id], 3000, 12, true],
    ['batch-cpu 2000m exactly: A alone', req(2000), [A.id], 2000, 4, true],
    ['batch-memory 10 GiB: A (4) + B (8)', req(undefined, 10), [A.id, B.id], 3000, 12, true],
    ['both, cpu 6000m + memory 5 GiB: every worker', req(6000, 5), [A.id, B.id, C.id], 7000, 14, true],
    ['both, cpu 1000m + memory 12 GiB: A, B (memory is the binding one)', req(1000, 12), [A.id, B.id], 3000, 12, true],
    ['more than the workers hold: all workers, never the AM, unsatisfied', req(50_000), [A.id, B.id, C.id], 7000, 14, false],
    ['empty request: nobody', req(), [], 0, 0, true],
    ['zero and negative amounts: nobody', { cpu: milliCores(0), memory: bytes(-5) }, [], 0, 0, true],
  ])('%s', (_n, r, victims, cpu, memGiB, satisfied) => {
    const plan = killContainersByResource(node, r, DEFAULT_RULES_CONFIG);
    expect(plan.victims.map((c) => c.id)).toEqual(victims);
    expect(plan.evictions.map((e) => e.containerId)).toEqual(victims);
    expect(plan.release).toEqual({ cpu, memory: memGiB * GiB });
    expect(plan.satisfied).toBe(satisfied);
    for (const e of plan.evictions) expect(e).toMatchObject({ reason: 'api', mode: 'graceful', gracePeriodSeconds: 10 });
  });

  it('uses the configured victim order', () => {
    const plan = killContainersByResource(node, req(3000), parseRulesConfig({ victimOrder: ['oldest'] }));
    expect(plan.victims.map((c) => c.id)).toEqual([C.id]);
  });

  it('all-AM node: nobody, unsatisfied', () => {
    const plan = killContainersByResource([AM, ctr(4, 1, 1, 1)], req(1000), DEFAULT_RULES_CONFIG);
    expect(plan.victims).toEqual([]);
    expect(plan.satisfied).toBe(false);
  });

  it('skips a container that would release nothing still missing', () => {
    const zeroCpu = ctr(5, 2, 0, 8, { startedAt: 99 });
    const plan = killContainersByResource([zeroCpu, A, B], req(2000), DEFAULT_RULES_CONFIG);
    expect(plan.victims.map((c) => c.id)).toEqual([A.id]);
  });

  it('counts evictions in flight and does not pick them again', () => {
    const inflight = { ...A, evicting: true };
    const plan = killContainersByResource([inflight, B, C], req(3000), DEFAULT_RULES_CONFIG);
    expect(plan.inFlight).toEqual({ cpu: 2000, memory: 4 * GiB });
    expect(plan.victims.map((c) => c.id)).toEqual([B.id]);
    expect(plan.satisfied).toBe(true);
  });

  it('property: covers the request when possible, never an AM, and the last victim was needed', () => {
    const arb = fc.record({
      cs: fc.uniqueArray(
        fc.record({ app: fc.integer({ min: 1, max: 5 }), seq: fc.integer({ min: 1, max: 8 }), v: fc.integer({ min: 0, max: 8 }), g: fc.integer({ min: 0, max: 16 }) }),
        { selector: (r) => `${r.app}/${r.seq}`, maxLength: 25 },
      ),
      cpu: fc.option(fc.integer({ min: 0, max: 40_000 }), { nil: undefined }),
      mem: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
    });
    fc.assert(fc.property(arb, ({ cs, cpu, mem }) => {
      const containers = cs.map((r) => ctr(r.app, r.seq, r.v, r.g));
      const plan = killContainersByResource(containers, req(cpu, mem), DEFAULT_RULES_CONFIG);
      expect(plan.victims.every((c) => !c.isAM)).toBe(true);
      const wantCpu = cpu ?? 0;
      const wantMem = (mem ?? 0) * GiB;
      const workers = containers.filter((c) => !c.isAM);
      const possible = workers.reduce((s, c) => s + c.allocated.vcores * 1000, 0) >= wantCpu
        && workers.reduce((s, c) => s + c.allocated.memoryMiB * 2 ** 20, 0) >= wantMem;
      expect(plan.satisfied).toBe(possible);
      if (plan.satisfied) {
        expect(plan.release.cpu).toBeGreaterThanOrEqual(wantCpu);
        expect(plan.release.memory).toBeGreaterThanOrEqual(wantMem);
        const last = plan.victims.at(-1);
        if (last) {
          const cpuBefore = plan.release.cpu - last.allocated.vcores * 1000;
          const memBefore = plan.release.memory - last.allocated.memoryMiB * 2 ** 20;
          expect(cpuBefore < wantCpu || memBefore < wantMem).toBe(true);
        }
      }
    }));
  });
});
