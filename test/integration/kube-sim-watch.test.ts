/**
 * List/watch against the Kubernetes API simulator with @kubernetes/client-node's own informer
 * and Watch: selectors, resumption from a resourceVersion, 410 Expired and relist, bookmarks,
 * timeouts, and in-process writes showing up on HTTP watches with the same versions.
 */
import {
  CoreV1Api, KubeConfig, ListWatch, PatchStrategy, Watch, makeInformer, setHeaderOptions,
  type KubernetesObject, type V1Node, type V1Pod,
} from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { KubeApiServer, type KubeObject } from '../../sim/kube/index.js';

let server: KubeApiServer;
let kc: KubeConfig;
let core: CoreV1Api;

beforeAll(async () => {
  server = await KubeApiServer.start({ bookmarkIntervalMs: 50 });
  kc = new KubeConfig();
  kc.loadFromFile(server.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
});

afterAll(async () => {
  await server.stop();
});

// Every test closes what it opened: a watch left open here would be counted by the next test.
// (An aborted watch is closed on the server once its socket's close reaches it.)
afterEach(async () => {
  await vi.waitFor(() => expect(server.openWatches, 'watches left open by this test').toBe(0), { timeout: 10_000 });
});

const pod = (name: string, nodeName: string | undefined, labels: Record<string, string> = {}, namespace = 'default'): KubeObject => ({
  metadata: { name, namespace, labels },
  spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'main', image: 'busybox' }] },
});

interface Seen { type: string; name: string; rv: string; obj: any }

/** A raw client-node Watch collecting events; `done` resolves when the stream ends. */
async function openWatch(path: string, query: Record<string, string | boolean | number>) {
  const events: Seen[] = [];
  let resolveDone!: (err: unknown) => void;
  const done = new Promise<unknown>((r) => { resolveDone = r; });
  const controller = await new Watch(kc).watch(path, query, (type, obj: any) => {
    events.push({ type, name: obj?.metadata?.name, rv: obj?.metadata?.resourceVersion, obj });
  }, (err) => resolveDone(err));
  return { events, done, abort: () => controller.abort() };
}

describe('kube-sim list/watch', () => {
  it('feeds a label-selected node informer: list, add, update, leave-the-selector, delete', async () => {
    await core.createNode({ body: { metadata: { name: 'inf-old', labels: { pool: 'mixed' } } } });
    await core.createNode({ body: { metadata: { name: 'inf-other', labels: { pool: 'online' } } } });
    const informer = makeInformer<V1Node>(kc, '/api/v1/nodes', () => core.listNode({ labelSelector: 'pool=mixed' }), 'pool=mixed');
    const log: string[] = [];
    informer.on('add', (n) => log.push(`add ${n.metadata?.name}`));
    informer.on('update', (n) => log.push(`update ${n.metadata?.name} ${n.metadata?.annotations?.touched ?? ''}`));
    informer.on('delete', (n) => log.push(`delete ${n.metadata?.name}`));
    await informer.start();
    try {
      expect(informer.list().map((n) => n.metadata?.name)).toEqual(['inf-old']);
      await vi.waitFor(() => expect(server.openWatches).toBeGreaterThan(0));

      await core.createNode({ body: { metadata: { name: 'inf-new', labels: { pool: 'mixed' } } } });
      server.store.patch('nodes', undefined, 'inf-new', 'merge', { metadata: { annotations: { touched: 'yes' } } });
      await core.patchNode({ name: 'inf-other', body: { metadata: { annotations: { ignored: 'yes' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      // Leaving the selector is a delete for this watcher.
      await core.patchNode({ name: 'inf-old', body: { metadata: { labels: { pool: 'online' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      await core.deleteNode({ name: 'inf-new' });

      await vi.waitFor(() => expect(log).toEqual([
        'add inf-old', 'add inf-new', 'update inf-new yes', 'delete inf-old', 'delete inf-new',
      ]));
      expect(informer.list()).toEqual([]);
      expect(Number((informer as unknown as ListWatch<V1Node>).latestResourceVersion())).toBe(Number(server.store.resourceVersion));
    } finally {
      await informer.stop();
    }
  });

  it('feeds a field-selected pod ListWatch (spec.nodeName) across namespaces', async () => {
    server.store.create('namespaces', { metadata: { name: 'watch-ns' } });
    server.store.create('pods', pod('on-a-1', 'node-a'));
    server.store.create('pods', pod('on-b-1', 'node-b'));
    const informer = new ListWatch<V1Pod>('/api/v1/pods', new Watch(kc),
      () => core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=node-a' }), false, undefined, 'spec.nodeName=node-a');
    await informer.start();
    try {
      expect(informer.list().map((p) => p.metadata?.name)).toEqual(['on-a-1']);
      await vi.waitFor(() => expect(server.openWatches).toBeGreaterThan(0));
      server.store.create('pods', pod('on-a-2', 'node-a', {}, 'watch-ns'));
      server.store.create('pods', pod('on-b-2', 'node-b'));
      server.store.create('pods', pod('unscheduled', undefined));
      server.store.bind('default', 'unscheduled', 'node-a');
      await vi.waitFor(() => expect(informer.list().map((p) => p.metadata?.name).sort()).toEqual(['on-a-1', 'on-a-2', 'unscheduled']));
      expect(informer.get('on-a-2', 'watch-ns')?.spec?.nodeName).toBe('node-a');
    } finally {
      await informer.stop();
    }
  });

  it('resumes a watch after a resourceVersion, replaying exactly the later changes', async () => {
    const start = server.store.resourceVersion;
    server.store.create('nodes', { metadata: { name: 'resume-1' } });
    server.store.patch('nodes', undefined, 'resume-1', 'json', [{ op: 'add', path: '/metadata/labels', value: { a: 'b' } }]);
    server.store.delete('nodes', undefined, 'resume-1');
    const w = await openWatch('/api/v1/nodes', { resourceVersion: start, fieldSelector: 'metadata.name=resume-1' });
    try {
      await vi.waitFor(() => expect(w.events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']));
      const rvs = w.events.map((e) => Number(e.rv));
      expect(rvs).toEqual([Number(start) + 1, Number(start) + 2, Number(start) + 3]);
      server.store.create('nodes', { metadata: { name: 'resume-1' } });
      await vi.waitFor(() => expect(w.events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED', 'ADDED']));
      expect(w.events[3]!.rv).toBe(server.store.get('nodes', undefined, 'resume-1')!.metadata.resourceVersion);
    } finally {
      w.abort();
    }
  });

  it('starts a watch without a version with the current state', async () => {
    server.store.create('nodes', { metadata: { name: 'initial-1', labels: { initial: 'yes' } } });
    const w = await openWatch('/api/v1/nodes', { labelSelector: 'initial=yes' });
    try {
      await vi.waitFor(() => expect(w.events.map((e) => `${e.type} ${e.name}`)).toEqual(['ADDED initial-1']));
    } finally {
      w.abort();
    }
  });

  it('answers a watch from a compacted version with an ERROR 410 Expired and closes it', async () => {
    const old = server.store.resourceVersion;
    server.store.create('nodes', { metadata: { name: 'compact-1' } });
    server.store.compact();
    const w = await openWatch('/api/v1/nodes', { resourceVersion: old });
    await w.done;
    expect(w.events).toHaveLength(1);
    expect(w.events[0]!.type).toBe('ERROR');
    expect(w.events[0]!.obj).toMatchObject({ kind: 'Status', status: 'Failure', code: 410, reason: 'Expired' });
    expect(w.events[0]!.obj.message).toContain('too old resource version');
  });

  it('bounds the watch history: once it overflows, the old version is Expired', async () => {
    const small = await KubeApiServer.start({ watchHistory: 3 });
    try {
      const k = new KubeConfig();
      k.loadFromFile(small.kubeconfigPath);
      const from = small.store.resourceVersion;
      for (let i = 0; i < 3; i++) small.store.create('nodes', { metadata: { name: `h-${i}` } });
      expect(small.store.oldestResumableVersion('nodes')).toBe(0);
      small.store.create('nodes', { metadata: { name: 'h-3' } });
      expect(small.store.oldestResumableVersion('nodes')).toBe(Number(from) + 1);
      const events: any[] = [];
      const done = new Promise<void>((resolve) => {
        void new Watch(k).watch('/api/v1/nodes', { resourceVersion: from }, (_t, o) => events.push(o), () => resolve());
      });
      await done;
      expect(events[0]).toMatchObject({ code: 410, reason: 'Expired' });
      // One version later is still inside the history.
      const replay: string[] = [];
      const controller = await new Watch(k).watch('/api/v1/nodes', { resourceVersion: String(Number(from) + 1) },
        (t, o: KubernetesObject) => replay.push(`${t} ${o.metadata?.name}`), () => {});
      await vi.waitFor(() => expect(replay).toEqual(['ADDED h-1', 'ADDED h-2', 'ADDED h-3']));
      controller.abort();
    } finally {
      await small.stop();
    }
  });

  it('lets an informer recover from 410 by relisting after its watch dropped', async () => {
    const informer = makeInformer<V1Node>(kc, '/api/v1/nodes', () => core.listNode({ labelSelector: 'relist=yes' }), 'relist=yes');
    const added: string[] = [];
    informer.on('add', (n) => added.push(n.metadata!.name!));
    await informer.start();
    try {
      await vi.waitFor(() => expect(server.openWatches).toBeGreaterThan(0));
      const relists = server.stats.count({ verb: 'list', resource: 'nodes' });
      // While the informer is disconnected, a change happens and history is compacted past it.
      server.closeWatches();
      server.store.create('nodes', { metadata: { name: 'relist-gap', labels: { relist: 'yes' } } });
      server.store.compact();
      await vi.waitFor(() => expect(added).toContain('relist-gap'));
      expect(server.stats.count({ verb: 'list', resource: 'nodes' })).toBeGreaterThan(relists);
      expect(informer.get('relist-gap')).toBeDefined();
      // The relist adds before the informer's new watch is open, and client-node's stop() aborts
      // only a watch whose answer has arrived (one still on its way stays open for good): stop
      // once a change has come through the new watch.
      server.store.create('nodes', { metadata: { name: 'relist-after', labels: { relist: 'yes' } } });
      await vi.waitFor(() => expect(added).toContain('relist-after'), { timeout: 10_000 });
    } finally {
      await informer.stop();
    }
  });

  it('sends BOOKMARK events carrying the current version when allowed', async () => {
    const w = await openWatch('/api/v1/pods', { allowWatchBookmarks: true, resourceVersion: server.store.resourceVersion, labelSelector: 'nothing=matches' });
    try {
      server.store.create('nodes', { metadata: { name: 'bookmark-bump' } });
      const target = Number(server.store.resourceVersion);
      await vi.waitFor(() => expect(w.events.some((e) => e.type === 'BOOKMARK' && Number(e.rv) >= target)).toBe(true));
      const b = w.events.find((e) => e.type === 'BOOKMARK')!;
      expect(b.obj).toMatchObject({ kind: 'Pod', apiVersion: 'v1' });
    } finally {
      w.abort();
    }
    const plain = await openWatch('/api/v1/pods', { resourceVersion: server.store.resourceVersion });
    await new Promise((r) => setTimeout(r, 200));
    plain.abort();
    expect(plain.events.filter((e) => e.type === 'BOOKMARK')).toEqual([]);
  });

  it('ends a watch after timeoutSeconds', async () => {
    const w = await openWatch('/api/v1/namespaces', { timeoutSeconds: 1, resourceVersion: server.store.resourceVersion });
    expect(await w.done).toBeNull();
    // The server forgets the watch before it ends the stream: gone by the time the client sees the end.
    expect(server.openWatches).toBe(0);
  });

  it('rejects a bad selector on a watch with a plain 400', async () => {
    const w = await openWatch('/api/v1/pods', { fieldSelector: 'spec.nope=1' });
    const err = (await w.done) as { statusCode?: number };
    expect(err?.statusCode).toBe(400);
  });

  it('delivers HTTP writes to in-process watchers with the same versions, in order', async () => {
    const seen: string[] = [];
    const stop = server.store.watch('pods', (e) => seen.push(`${e.type} ${e.object.metadata.name} ${e.object.metadata.resourceVersion}`), {
      namespace: 'default', labelSelector: 'inproc=yes',
    });
    try {
      const created = await core.createNamespacedPod({ namespace: 'default', body: pod('inproc-1', 'n', { inproc: 'yes' }) as V1Pod });
      const patched = await core.patchNamespacedPod({ name: 'inproc-1', namespace: 'default', body: { metadata: { labels: { inproc: 'no' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
      expect(seen).toEqual([
        `ADDED inproc-1 ${created.metadata!.resourceVersion}`,
        `DELETED inproc-1 ${patched.metadata!.resourceVersion}`,
      ]);
    } finally {
      stop();
    }
  });

  it('closes open watch streams on stop', async () => {
    const other = await KubeApiServer.start();
    const k = new KubeConfig();
    k.loadFromFile(other.kubeconfigPath);
    let ended = false;
    await new Watch(k).watch('/api/v1/nodes', {}, () => {}, () => { ended = true; });
    await vi.waitFor(() => expect(other.openWatches).toBe(1));
    await other.stop();
    await vi.waitFor(() => expect(ended).toBe(true));
  });

  it('streams a large list and watches it from the list version', async () => {
    const big = await KubeApiServer.start();
    try {
      const k = new KubeConfig();
      k.loadFromFile(big.kubeconfigPath);
      const api = k.makeApiClient(CoreV1Api);
      for (let n = 0; n < 200; n++) big.store.create('nodes', { metadata: { name: `big-${n}` } });
      for (let i = 0; i < 20_000; i++) {
        big.store.create('pods', pod(`p-${i}`, `big-${i % 200}`, { app: i % 2 ? 'odd' : 'even' }), { preserveStatus: true });
      }
      const list = await api.listPodForAllNamespaces();
      expect(list.items).toHaveLength(20_000);
      expect(list.metadata?.resourceVersion).toBe(big.store.resourceVersion);
      const onNode = await api.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=big-7' });
      expect(onNode.items).toHaveLength(100);
      expect(big.store.podsOnNode('big-7')).toHaveLength(100);
      const w = await new Promise<Seen[]>((resolve) => {
        const events: Seen[] = [];
        void new Watch(k).watch('/api/v1/pods', { resourceVersion: list.metadata!.resourceVersion!, labelSelector: 'app=odd' }, (type, o: any) => {
          events.push({ type, name: o.metadata.name, rv: o.metadata.resourceVersion, obj: o });
          resolve(events);
        }, () => {}).then(() => {
          big.store.delete('pods', 'default', 'p-2');
          big.store.delete('pods', 'default', 'p-3');
        });
      });
      expect(w.map((e) => `${e.type} ${e.name}`)).toEqual(['DELETED p-3']);
    } finally {
      await big.stop();
    }
  });
});
