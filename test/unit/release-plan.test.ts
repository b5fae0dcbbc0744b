/** The pure plan of `loom release` for the cases the simulator suite does not reach. */
import { describe, expect, it } from 'vitest';
import { planRelease, type NodeReleaseInput } from '../../operator/release.js';
import type { BatchResources } from '../../kube/wire.js';

const claim = (cpu: number, memory: number) => ({ ok: true as const, claim: { cpu, memory } as BatchResources });
const running = { state: 'running' as const, clusterId: 'c1', nodeId: 'n1:8041' };
const rmOk = (state: string, total: [number, number], used: [number, number]) => ({
  status: 'ok' as const, node: { state, total: { vcores: total[0], memoryMiB: total[1] }, used: { vcores: used[0], memoryMiB: used[1] } },
}) as NodeReleaseInput['rm'];
const plan = (i: Partial<NodeReleaseInput>, removeClaims = false) =>
  planRelease({ node: 'n1', claim: claim(4000, 8 * 2 ** 30), nodeManager: running, rm: rmOk('RUNNING', [4, 8192], [2, 4096]), ...i }, { removeClaims, vcoresPerCore: 1 });

describe('release plan', () => {
  it('shrinks the NodeManager to its use first (−1), then sets the claim to that use', () => {
    expect(plan({})).toMatchObject({
      outcome: 'released',
      actions: [
        { kind: 'resize', clusterId: 'c1', nodeId: 'n1:8041', capacity: { vcores: 2, memoryMiB: 4096 }, overCommitTimeoutMs: -1 },
        { kind: 'set-claim', claim: { cpu: 2000, memory: 4096 * 2 ** 20 } },
      ],
    });
  });

  it('rounds YARN\'s holding up into the claim (fractional vcores per core)', () => {
    const p = planRelease({ node: 'n1', claim: claim(0, 0), nodeManager: running, rm: rmOk('RUNNING', [3, 100], [3, 100]) }, { removeClaims: false, vcoresPerCore: 2 });
    expect(p.actions).toEqual([{ kind: 'set-claim', claim: { cpu: 1500, memory: 100 * 2 ** 20 } }]);
  });

  it('leaves a node whose inputs cannot be trusted exactly as it is', () => {
    for (const input of [
      { claim: { ok: false as const, reason: 'annotation thirdPartyAllocations: not JSON' } },
      { nodeManager: { state: 'malformed' as const, reason: 'no node-id' } },
      { rm: { status: 'rm-unavailable' as const, detail: 'down' } },
      { rm: { status: 'unknown-node' as const } },
      { rm: rmOk('LOST', [4, 8192], [0, 0]) },
      { rm: rmOk('RUNNING', [4, 8192], [-1, 0]) },
    ] satisfies Partial<NodeReleaseInput>[]) {
      const p = plan(input, true);
      expect(p.outcome, JSON.stringify(input)).toBe('skipped');
      expect(p.actions).toEqual([]);
    }
  });

  it('no NodeManager: the claim goes (YARN holds nothing there); no claim, nothing to do', () => {
    expect(plan({ nodeManager: { state: 'absent' } })).toMatchObject({ outcome: 'released', actions: [{ kind: 'clear-claim' }] });
    expect(plan({ nodeManager: { state: 'absent' }, claim: { ok: true, claim: undefined } })).toMatchObject({ outcome: 'released', actions: [] });
  });

  it('--remove-claims: held while YARN holds anything, removed (after the resize to 0) once it holds nothing', () => {
    expect(plan({}, true)).toMatchObject({ outcome: 'held', actions: [{ kind: 'resize' }, { kind: 'set-claim' }] });
    expect(plan({ rm: rmOk('RUNNING', [4, 8192], [0, 0]) }, true)).toMatchObject({
      outcome: 'released', actions: [{ kind: 'resize', capacity: { vcores: 0, memoryMiB: 0 } }, { kind: 'clear-claim' }],
    });
  });

  it('nothing to write when the node is already released', () => {
    expect(plan({ rm: rmOk('RUNNING', [2, 4096], [2, 4096]), claim: claim(2000, 4096 * 2 ** 20) })).toMatchObject({ outcome: 'released', actions: [] });
  });
});
