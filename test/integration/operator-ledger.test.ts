/**
 * Done when #1: a node with origin O, batch pods K and YARN used U ends with exactly the capacity
 * (RM totalResource) and claim (thirdPartyAllocations) the design's formulas give — both policies,
 * CPU and memory, F ≥ 0 and F < 0 — with the real operator over real HTTP. The expected numbers
 * are computed here from design.md, not by calling the ledger.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SimWorld, BATCH_NAMESPACE } from '../../sim/world.js';
import { BATCH_CPU, BATCH_MEMORY } from '../../kube/wire.js';
import {
  GIB, MIB, claimOf, runOperator, setOrigin, settingsFor, waitFor, worldRmNode, type RmNodeFigures,
} from './operator-helpers.js';

type Policy = 'partitioned' | 'shared';
interface Figures { cpu: number; memory: number }

/**
 * design.md "The ledger": F = O − K − U; shared: capacity O − K, claim U; partitioned: capacity =
 * claim = U + s·F, or when F < 0 capacity max(0, O − K), claim U. Offers round down
 * (vcores = floor(milli × vpc / 1000), MiB = floor(bytes / 2^20)), holds round up
 * (milli = ceil(vcores × 1000 / vpc), bytes = MiB × 2^20). `sTenths` is s × 10 (integer maths).
 */
function expected(policy: Policy, sTenths: number, vpc: number, O: Figures, K: Figures, U: { vcores: number; memoryMiB: number }) {
  const axis = (o: number, k: number, usedYarn: number, toBase: (y: number) => number, toYarn: (b: number) => number) => {
    const u = toBase(usedYarn);
    const F = o - k - u;
    const capBase = policy === 'shared' || F < 0 ? Math.max(0, o - k) : u + Math.floor((sTenths * F) / 10);
    const cap = toYarn(capBase);
    const hold = policy === 'shared' || F < 0 ? usedYarn : cap;
    return { F, cap, claim: toBase(hold) };
  };
  const cpu = axis(O.cpu, K.cpu, U.vcores, (v) => Math.ceil((v * 1000) / vpc), (m) => Math.floor((m * vpc) / 1000));
  const mem = axis(O.memory, K.memory, U.memoryMiB, (m) => m * MIB, (b) => Math.floor(b / MIB));
  return { F: { cpu: cpu.F, memory: mem.F }, total: { vcores: cpu.cap, memoryMiB: mem.cap }, claim: { cpu: cpu.claim, memory: mem.claim } };
}

describe('operator ledger figures over real HTTP', () => {
  let world: SimWorld;
  const used = new Map<string, RmNodeFigures['used']>();
  /** K per node: the NM pod (1000 m, 1 GiB) plus the batch pods created below. */
  const K = new Map<string, Figures>();
  const O = new Map<string, Figures>();

  beforeAll(async () => {
    world = await SimWorld.start({ nodes: 3, standIns: false, seed: false });
    // U: one app spread over the three NMs (round-robin), every ask fits at once.
    world.submitApp({ name: 'u', am: { vcores: 1, memoryMiB: 1024 }, containers: [{ count: 5, vcores: 1, memoryMiB: 1536 }] });
    await waitFor(() => world.yarn.cluster.liveContainers().length === 6, 5000, 'six YARN containers');
    for (const n of ['node-1', 'node-2', 'node-3']) {
      const r = await worldRmNode(world, n);
      expect(r.used.vcores).toBeGreaterThanOrEqual(1);
      used.set(n, r.used);
    }
    const nm = { cpu: 1000, memory: GIB };
    // Odd sizes so that every rounding matters.
    world.addBatchPod({ name: 'k1', node: 'node-1', cpuMilli: 1333, memoryBytes: 3 * GIB + 12_345 });
    world.addBatchPod({ name: 'k2', node: 'node-2', cpuMilli: 777, memoryBytes: 700 * MIB + 1 });
    world.addBatchPod({ name: 'k3', node: 'node-3', cpuMilli: 2100, memoryBytes: 2 * GIB });
    // A finished pod holds nothing (K counts only pods that are not terminated).
    world.kube.store.create('pods', {
      metadata: { name: 'done', namespace: BATCH_NAMESPACE },
      spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'busybox', resources: { requests: { [BATCH_CPU]: '5000', [BATCH_MEMORY]: String(9 * GIB) } } }] },
      status: { phase: 'Succeeded' },
    }, { preserveStatus: true });
    K.set('node-1', { cpu: nm.cpu + 1333, memory: nm.memory + 3 * GIB + 12_345 });
    K.set('node-2', { cpu: nm.cpu + 777, memory: nm.memory + 700 * MIB + 1 });
    K.set('node-3', { cpu: nm.cpu + 2100, memory: nm.memory + 2 * GIB });
    const u = (n: string) => ({ cpu: used.get(n)!.vcores * 1000, memory: used.get(n)!.memoryMiB * MIB });
    // node-1: plenty of headroom on both resources (F ≥ 0).
    O.set('node-1', { cpu: 11_777, memory: 37 * GIB + 777_777 });
    // node-2: F < 0 on both (O − K is still positive, below U).
    O.set('node-2', { cpu: K.get('node-2')!.cpu + u('node-2').cpu - 700, memory: K.get('node-2')!.memory + u('node-2').memory - 300 * MIB - 5 });
    // node-3: F < 0 on CPU only; memory has headroom.
    O.set('node-3', { cpu: K.get('node-3')!.cpu + u('node-3').cpu - 1, memory: 29 * GIB + 3 });
    for (const [n, o] of O) setOrigin(world, n, o.cpu, o.memory);
  });

  afterAll(async () => {
    await world?.stop();
  });

  const cases: { policy: Policy; sTenths: number; vpc: number }[] = [
    { policy: 'partitioned', sTenths: 5, vpc: 1 },
    { policy: 'partitioned', sTenths: 3, vpc: 1 },
    { policy: 'shared', sTenths: 5, vpc: 1 },
    { policy: 'partitioned', sTenths: 7, vpc: 2 },
    { policy: 'shared', sTenths: 5, vpc: 1.5 },
  ];

  type Want = ReturnType<typeof expected>;
  function checkSigns(want: Map<string, Want>): void {
    expect(want.get('node-1')!.F.cpu).toBeGreaterThan(0);
    expect(want.get('node-1')!.F.memory).toBeGreaterThan(0);
    expect(want.get('node-2')!.F.cpu).toBeLessThan(0);
    expect(want.get('node-2')!.F.memory).toBeLessThan(0);
    expect(want.get('node-3')!.F.cpu).toBeLessThan(0);
    expect(want.get('node-3')!.F.memory).toBeGreaterThan(0);
  }

  for (const c of cases) {
    test(`${c.policy}, s = ${c.sTenths / 10}, vcoresPerCore = ${c.vpc}: RM capacity and claim are the formulas' numbers`, async () => {
      const want = new Map([...O.keys()].map((n) => [n, expected(c.policy, c.sTenths, c.vpc, O.get(n)!, K.get(n)!, used.get(n)!)]));
      // The scenario covers what it claims to cover (with vcoresPerCore ≠ 1, U in milli-cores
      // changes, so only "some node on each side of F = 0" is guaranteed).
      const Fs = [...want.values()].flatMap((w) => [w.F.cpu, w.F.memory]);
      expect(Fs.some((f) => f < 0) && Fs.some((f) => f > 0)).toBe(true);
      if (c.vpc === 1) checkSigns(want);
      const op = await runOperator(settingsFor(world, { policy: c.policy, headroomShare: c.sTenths / 10, vcoresPerCore: c.vpc }));
      try {
        for (const [n, w] of want) {
          await waitFor(async () => {
            const rm = await worldRmNode(world, n);
            const claim = claimOf(world, n);
            return rm.total.vcores === w.total.vcores && rm.total.memoryMiB === w.total.memoryMiB
              && claim?.cpu === w.claim.cpu && claim?.memory === w.claim.memory;
          }, 10_000, `${n} converged to ${JSON.stringify(w)}`).catch(async (err) => {
            // Show what is there instead of a bare timeout.
            expect({ node: n, total: (await worldRmNode(world, n)).total, claim: claimOf(world, n) }).toEqual({ node: n, total: w.total, claim: w.claim });
            throw err;
          });
        }
        // Used was not disturbed by the resizes (overCommitTimeout −1 never kills).
        for (const n of O.keys()) expect((await worldRmNode(world, n)).used).toEqual(used.get(n));
      } finally {
        await op.stop();
      }
    });
  }
});
