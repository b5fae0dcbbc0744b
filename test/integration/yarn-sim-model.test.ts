/** The cluster model itself: scheduling, kill order, app and container lifecycles, events. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock, type SimContainer, YarnCluster, killOrder, victimsToFit } from '../../sim/yarn/index.js';

function cluster(opts: ConstructorParameters<typeof YarnCluster>[0] = {}) {
  const clock = new ManualClock();
  return { clock, c: new YarnCluster({ clock, ...opts }) };
}

describe('scheduler', () => {
  it('places the AM first (container 1), then the app\'s other containers, within capacity', () => {
    const { c } = cluster();
    c.addNode({ host: 'w1', rpcPort: 1, memoryMiB: 4096, vcores: 4 });
    const app = c.submitApp({ containers: [{ count: 5, memoryMiB: 1024, vcores: 1 }] });
    const live = [...app.live.values()].sort((a, b) => a.allocationOrder - b.allocationOrder);
    expect(live.map((x) => x.seq)).toEqual([1, 2, 3, 4]);
    expect(live[0]!.isAM).toBe(true);
    expect(live[0]!.id).toMatch(/^container_\d+_0001_01_000001$/);
    expect(app.pending).toHaveLength(2);
    expect(c.node('w1:1')!.used).toEqual({ memoryMiB: 4096, vcores: 4 });
    expect(c.free('w1:1')).toEqual({ memoryMiB: 0, vcores: 0 });
  });

  it('asks for nothing else until the AM fits; a new node takes the AM and then the rest', () => {
    const { c } = cluster();
    c.addNode({ host: 'w1', rpcPort: 1, memoryMiB: 4096, vcores: 4 });
    const app = c.submitApp({ am: { memoryMiB: 6144, vcores: 1 }, containers: [{ count: 2, memoryMiB: 512, vcores: 1 }] });
    expect(app.live.size).toBe(0);
    expect(app.state).toBe('ACCEPTED');
    c.addNode({ host: 'w2', rpcPort: 1, memoryMiB: 8192, vcores: 8 });
    const am = [...app.live.values()].find((x) => x.isAM)!;
    expect(am.nodeId).toBe('w2:1');
    expect(app.live.size).toBe(3);
    expect(app.state).toBe('RUNNING');
  });

  it('never allocates beyond any node\'s total (property)', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ mem: fc.integer({ min: 1, max: 16 }), v: fc.integer({ min: 1, max: 8 }) }), { minLength: 1, maxLength: 5 }),
      fc.array(fc.record({ n: fc.integer({ min: 0, max: 6 }), mem: fc.integer({ min: 1, max: 6 }), v: fc.integer({ min: 1, max: 4 }) }), { maxLength: 6 }),
      (nodes, apps) => {
        const { c } = cluster();
        nodes.forEach((n, i) => c.addNode({ host: `h${i}`, rpcPort: 1, memoryMiB: n.mem * 512, vcores: n.v }));
        for (const a of apps) c.submitApp({ am: { memoryMiB: 512, vcores: 1 }, containers: [{ count: a.n, memoryMiB: a.mem * 256, vcores: a.v }] });
        for (const n of c.nodes()) {
          expect(n.used.memoryMiB).toBeLessThanOrEqual(n.total.memoryMiB);
          expect(n.used.vcores).toBeLessThanOrEqual(n.total.vcores);
          const sum = [...n.allocated.values()].reduce((s, x) => s + x.resource.memoryMiB, 0);
          expect(sum).toBe(n.used.memoryMiB);
        }
        for (const app of c.apps()) {
          if (app.live.size > 0) expect([...app.live.values()].some((x) => x.isAM)).toBe(true);
        }
      },
    ), { numRuns: 60 });
  });
});

describe('kill order', () => {
  const mk = (seq: number, isAM: boolean, type: 'GUARANTEED' | 'OPPORTUNISTIC', mem = 1024): SimContainer => ({
    id: `container_1_0001_01_${String(seq).padStart(6, '0')}`, appId: 'application_1_0001', seq, isAM, resource: { memoryMiB: mem, vcores: 1 },
    executionType: type, user: 'u', nodeId: 'n:1', state: 'RUNNING', allocatedAt: 0, allocationOrder: seq, finishedAt: undefined, exitCode: -1000, diagnostics: '',
  });

  it('orders non-AM before AM, OPPORTUNISTIC before GUARANTEED, newest first', () => {
    const all = [mk(1, true, 'GUARANTEED'), mk(2, false, 'GUARANTEED'), mk(3, false, 'OPPORTUNISTIC'), mk(4, false, 'GUARANTEED'), mk(5, false, 'OPPORTUNISTIC')];
    expect([...all].sort(killOrder).map((x) => x.seq)).toEqual([5, 3, 4, 2, 1]);
  });

  it('takes victims only until the node fits, AMs last', () => {
    const all = [mk(1, true, 'GUARANTEED'), mk(2, false, 'GUARANTEED', 2048), mk(3, false, 'OPPORTUNISTIC')];
    const used = { memoryMiB: 4096, vcores: 3 };
    expect(victimsToFit(all, { memoryMiB: 4096, vcores: 3 }, used)).toEqual([]);
    expect(victimsToFit(all, { memoryMiB: 3072, vcores: 3 }, used).map((x) => x.seq)).toEqual([3]);
    expect(victimsToFit(all, { memoryMiB: 2000, vcores: 3 }, used).map((x) => x.seq)).toEqual([3, 2]);
    expect(victimsToFit(all, { memoryMiB: 4096, vcores: 0 }, used).map((x) => x.seq)).toEqual([3, 2, 1]);
  });
});

describe('lifecycles and events', () => {
  it('emits started/finished; an app finishes by itself when all its work succeeded', () => {
    const { c } = cluster();
    c.addNode({ host: 'w1', rpcPort: 1, memoryMiB: 8192, vcores: 8 });
    const started: number[] = [];
    const finished: Array<[number, number]> = [];
    c.events.on('containerStarted', (x) => started.push(x.seq));
    c.events.on('containerFinished', (x, info) => finished.push([x.seq, info.rmExitStatus]));
    const app = c.submitApp({ containers: [{ count: 2, memoryMiB: 1024, vcores: 1 }] });
    expect(started).toEqual([1, 2, 3]);
    for (const w of [...app.live.values()].filter((x) => !x.isAM)) c.containerExited(w.id, 0);
    expect(app.state).toBe('FINISHED');
    expect(finished).toEqual([[2, 0], [3, 0], [1, 0]]);
    expect(c.liveContainers()).toHaveLength(0);
  });

  it('finishApp kills the app\'s containers; a lost node aborts its containers', () => {
    const { c } = cluster();
    c.addNode({ host: 'w1', rpcPort: 1, memoryMiB: 8192, vcores: 8 });
    const a = c.submitApp({ containers: [{ count: 2, memoryMiB: 1024, vcores: 1 }] });
    c.finishApp(a.id, 'KILLED');
    expect(a.state).toBe('KILLED');
    expect(c.liveContainers('w1:1')).toHaveLength(0);
    const b = c.submitApp({ containers: [{ count: 1, memoryMiB: 1024, vcores: 1 }], replaceFailed: false });
    c.setNodeState('w1:1', 'LOST');
    expect(b.state).toBe('FAILED');
    expect(c.metrics()).toMatchObject({ lostNodes: 1, activeNodes: 0, totalMB: 0 });
  });

  it('with signalHandling external the model only announces the signal; the node simulator ends the container', () => {
    const { c, clock } = cluster({ signalHandling: 'external', signalDelayMs: 500 });
    c.addNode({ host: 'w1', rpcPort: 1, memoryMiB: 8192, vcores: 8 });
    const app = c.submitApp({ containers: [{ count: 1, memoryMiB: 1024, vcores: 1 }] });
    const w = [...app.live.values()].find((x) => !x.isAM)!;
    c.events.on('containerSignal', (x, cmd) => {
      if (cmd === 'FORCEFUL_SHUTDOWN') c.containerExited(x.id, 137);
    });
    c.signalContainer(w.id, 'FORCEFUL_SHUTDOWN');
    clock.advance(499);
    c.tick();
    expect(c.container(w.id)!.state).toBe('RUNNING');
    clock.advance(1);
    c.tick();
    expect(c.container(w.id)).toMatchObject({ state: 'EXITED_WITH_FAILURE', exitCode: 137 });
    expect(() => c.signalContainer(w.id, 'GRACEFUL_SHUTDOWN')).toThrow(/absent container/);
  });

  it('launchDelayMs keeps a new container LOCALIZING until it starts', () => {
    const { c, clock } = cluster({ launchDelayMs: 200 });
    c.addNode({ host: 'w1', rpcPort: 1, memoryMiB: 8192, vcores: 8 });
    const started: number[] = [];
    c.events.on('containerStarted', (x) => started.push(x.seq));
    const app = c.submitApp();
    const am = [...app.live.values()][0]!;
    expect(am.state).toBe('LOCALIZING');
    clock.advance(200);
    c.tick();
    expect(am.state).toBe('RUNNING');
    expect(started).toEqual([1]);
  });
});
