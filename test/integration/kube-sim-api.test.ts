/**
 * The Kubernetes API simulator over real loopback HTTP, driven by @kubernetes/client-node 1.4:
 * CRUD, optimistic concurrency, the three patch types, status objects and error codes, leases.
 */
import {
  ApiException, CoordinationV1Api, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions,
  V1MicroTime, type V1Node, type V1Pod,
} from '@kubernetes/client-node';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KubeApiServer } from '../../sim/kube/index.js';

let server: KubeApiServer;
let core: CoreV1Api;
let coord: CoordinationV1Api;

beforeAll(async () => {
  server = await KubeApiServer.start();
  const kc = new KubeConfig();
  kc.loadFromFile(server.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
  coord = kc.makeApiClient(CoordinationV1Api);
});

afterAll(async () => {
  await server.stop();
});

/** The Status object a failed call carried. */
async function failure(p: Promise<unknown>): Promise<{ code: number; reason: string; message: string; kind: string; details?: any }> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    const body = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
    expect(body.code).toBe(err.code);
    return body;
  }
  throw new Error('expected the call to fail');
}

async function raw(method: string, path: string, body?: string, contentType?: string): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = {};
  if (contentType) headers['content-type'] = contentType;
  const res = await request(`${server.url}${path}`, { method: method as 'GET', headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.body.text();
  return { status: res.statusCode, json: text ? JSON.parse(text) : undefined };
}

const node = (name: string, labels?: Record<string, string>): V1Node => ({ metadata: { name, ...(labels ? { labels } : {}) } });
const pod = (name: string, nodeName?: string, labels: Record<string, string> = {}): V1Pod => ({
  metadata: { name, labels },
  spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'main', image: 'busybox' }] },
});

let seq = 0;
const unique = (p: string): string => `${p}-${++seq}`;

describe('kube-sim CRUD over HTTP', () => {
  beforeEach(() => server.stats.reset());

  it('creates, gets, lists, replaces and deletes nodes with server-set metadata', async () => {
    const name = unique('crud');
    const created = await core.createNode({ body: node(name, { tier: 'batch' }) });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(created.metadata?.resourceVersion)).toBeGreaterThan(0);
    expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);

    const got = await core.readNode({ name });
    expect(got.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);

    const list = await core.listNode({ labelSelector: 'tier=batch' });
    expect(list.items.map((n) => n.metadata?.name)).toContain(name);
    expect(Number(list.metadata?.resourceVersion)).toBeGreaterThanOrEqual(Number(created.metadata?.resourceVersion));

    got.metadata!.labels = { tier: 'online' };
    const replaced = await core.replaceNode({ name, body: got });
    expect(Number(replaced.metadata?.resourceVersion)).toBeGreaterThan(Number(got.metadata?.resourceVersion));
    expect(replaced.metadata?.uid).toBe(created.metadata?.uid);
    expect(server.store.get('nodes', undefined, name)?.metadata.labels).toEqual({ tier: 'online' });

    await core.deleteNode({ name });
    expect(server.store.get('nodes', undefined, name)).toBeUndefined();
    const gone = await failure(core.readNode({ name }));
    expect(gone).toMatchObject({ kind: 'Status', code: 404, reason: 'NotFound', message: `nodes "${name}" not found` });

    expect(server.stats.count({ verb: 'create', resource: 'nodes' })).toBe(1);
    expect(server.stats.count({ verb: 'update', resource: 'nodes' })).toBe(1);
    expect(server.stats.count({ verb: 'get', resource: 'nodes' })).toBe(2);
  });

  it('rejects a stale update with 409 Conflict and keeps the newer write', async () => {
    const name = unique('stale');
    const v1 = await core.createNode({ body: node(name) });
    const a = structuredClone(v1);
    a.metadata!.annotations = { writer: 'a' };
    await core.replaceNode({ name, body: a });
    const b = structuredClone(v1);
    b.metadata!.annotations = { writer: 'b' };
    const err = await failure(core.replaceNode({ name, body: b }));
    expect(err).toMatchObject({ code: 409, reason: 'Conflict' });
    expect(err.message).toContain('the object has been modified');
    expect(server.store.get('nodes', undefined, name)?.metadata.annotations).toEqual({ writer: 'a' });
  });

  it('rejects a duplicate create with 409 AlreadyExists', async () => {
    const name = unique('dup');
    await core.createNode({ body: node(name) });
    expect(await failure(core.createNode({ body: node(name) }))).toMatchObject({ code: 409, reason: 'AlreadyExists', message: `nodes "${name}" already exists` });
  });

  it('rejects invalid objects with 422 Invalid and unparseable bodies with 400', async () => {
    expect(await failure(core.createNode({ body: { metadata: {} } }))).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(await failure(core.createNode({ body: node('Upper_Case') }))).toMatchObject({ code: 422, reason: 'Invalid' });
    const noContainers = await failure(core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: unique('p') }, spec: { containers: [] } } }));
    expect(noContainers).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(noContainers.message).toContain('spec.containers');
    const bad = await raw('POST', '/api/v1/nodes', '{"metadata":', 'application/json');
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'BadRequest', code: 400 });
  });

  it('answers 415 for an unknown PATCH content type and a non-JSON POST', async () => {
    const name = unique('ct');
    await core.createNode({ body: node(name) });
    const patch = await raw('PATCH', `/api/v1/nodes/${name}`, '{"metadata":{"labels":{"x":"y"}}}', 'application/xml');
    expect(patch.status).toBe(415);
    expect(patch.json).toMatchObject({ kind: 'Status', reason: 'UnsupportedMediaType', code: 415 });
    const post = await raw('POST', '/api/v1/nodes', `{"metadata":{"name":"${unique('ct')}"}}`, 'text/plain');
    expect(post.status).toBe(415);
    // Server-side apply is a patch type the simulator does not implement: refused, not ignored.
    const apply = await raw('PATCH', `/api/v1/nodes/${name}`, '{}', 'application/apply-patch+yaml');
    expect(apply.status).toBe(415);
    expect(server.store.get('nodes', undefined, name)?.metadata.labels).toBeUndefined();
  });

  it('applies a merge patch, deleting keys with null', async () => {
    const name = unique('merge');
    await core.createNode({ body: { metadata: { name, annotations: { keep: '1', drop: '2' } } } });
    const out = await core.patchNode(
      { name, body: { metadata: { annotations: { drop: null, added: '3' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(out.metadata?.annotations).toEqual({ keep: '1', added: '3' });
  });

  it('conflict-checks a merge patch carrying metadata.resourceVersion', async () => {
    const name = unique('mergerv');
    const created = await core.createNode({ body: node(name) });
    const rv = created.metadata!.resourceVersion!;
    const opts = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    await core.patchNode({ name, body: { metadata: { resourceVersion: rv, annotations: { a: '1' } } } }, opts);
    const err = await failure(core.patchNode({ name, body: { metadata: { resourceVersion: rv, annotations: { a: '2' } } } }, opts));
    expect(err).toMatchObject({ code: 409, reason: 'Conflict' });
    expect(server.store.get('nodes', undefined, name)?.metadata.annotations).toEqual({ a: '1' });
  });

  it('applies a JSON patch with ~1 escaping and rejects a failing test op with 422', async () => {
    const name = unique('json');
    await core.createNode({ body: { metadata: { name, annotations: { 'node.koordinator.sh/thirdPartyAllocations': 'old' } } } });
    const opts = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
    const out = await core.patchNode({
      name,
      body: [
        { op: 'test', path: '/metadata/annotations/node.koordinator.sh~1thirdPartyAllocations', value: 'old' },
        { op: 'replace', path: '/metadata/annotations/node.koordinator.sh~1thirdPartyAllocations', value: 'new' },
        { op: 'add', path: '/metadata/labels', value: { 'a/b': 'c' } },
      ],
    }, opts);
    expect(out.metadata?.annotations?.['node.koordinator.sh/thirdPartyAllocations']).toBe('new');
    expect(out.metadata?.labels).toEqual({ 'a/b': 'c' });

    const rvBefore = server.store.get('nodes', undefined, name)!.metadata.resourceVersion;
    const err = await failure(core.patchNode({
      name,
      body: [
        { op: 'test', path: '/metadata/annotations/node.koordinator.sh~1thirdPartyAllocations', value: 'old' },
        { op: 'replace', path: '/metadata/annotations/node.koordinator.sh~1thirdPartyAllocations', value: 'clobbered' },
      ],
    }, opts));
    expect(err).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(err.details.causes[0].message).toContain('test failed');
    const after = server.store.get('nodes', undefined, name)!;
    expect(after.metadata.annotations?.['node.koordinator.sh/thirdPartyAllocations']).toBe('new');
    expect(after.metadata.resourceVersion).toBe(rvBefore);

    // A test on the resourceVersion is the JSON-patch way to guard a write.
    const guarded = await failure(core.patchNode({ name, body: [{ op: 'test', path: '/metadata/resourceVersion', value: '1' }] }, opts));
    expect(guarded.code).toBe(422);
    // A missing path is a 422 too; a malformed patch document a 400.
    expect((await failure(core.patchNode({ name, body: [{ op: 'remove', path: '/metadata/nope' }] }, opts))).code).toBe(422);
    const malformed = await raw('PATCH', `/api/v1/nodes/${name}`, '[{"op":"frobnicate","path":"/x"}]', 'application/json-patch+json');
    expect(malformed.status).toBe(400);
  });

  it('applies a strategic merge patch: maps merge, null deletes, containers merge by name', async () => {
    const name = unique('smp');
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name, labels: { a: '1', b: '2' } },
        spec: { containers: [{ name: 'main', image: 'busybox:1' }, { name: 'side', image: 'envoy:1' }], tolerations: [{ key: 'x', operator: 'Exists' }] },
      },
    });
    const out = await core.patchNamespacedPod({
      name, namespace: 'default',
      body: { metadata: { labels: { b: null, c: '3' } }, spec: { containers: [{ name: 'side', image: 'envoy:2' }] } },
    }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
    expect(out.metadata?.labels).toEqual({ a: '1', c: '3' });
    expect(out.spec?.containers.map((c) => [c.name, c.image])).toEqual([['main', 'busybox:1'], ['side', 'envoy:2']]);
    expect(out.metadata?.generation).toBe(2);

    // The same list under a merge patch replaces the whole list — and a pod's containers are
    // immutable except for images, so dropping one is rejected.
    const err = await failure(core.patchNamespacedPod({
      name, namespace: 'default', body: { spec: { containers: [{ name: 'side', image: 'envoy:3' }] } },
    }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)));
    expect(err).toMatchObject({ code: 422, reason: 'Invalid' });
  });

  it('keeps status and spec apart: main writes ignore status, the status subresource ignores spec', async () => {
    const name = unique('status');
    const created = await core.createNamespacedPod({ namespace: 'default', body: { ...pod(name, 'n1'), status: { phase: 'Running' } } });
    expect(created.status?.phase).toBe('Pending');
    const running = await core.patchNamespacedPodStatus({
      name, namespace: 'default', body: { status: { phase: 'Running' }, spec: { nodeName: 'elsewhere' } },
    }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    expect(running.status?.phase).toBe('Running');
    expect(running.spec?.nodeName).toBe('n1');
    const relabel = await core.patchNamespacedPod({
      name, namespace: 'default', body: { metadata: { labels: { x: 'y' } }, status: { phase: 'Failed' } },
    }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    expect(relabel.status?.phase).toBe('Running');
    expect(server.stats.count({ verb: 'patch', resource: 'pods', subresource: 'status' })).toBe(1);
    expect(server.stats.count({ verb: 'patch', resource: 'pods', subresource: '' })).toBe(1);

    const nodeName = unique('nstatus');
    await core.createNode({ body: node(nodeName) });
    const n = await core.replaceNodeStatus({
      name: nodeName,
      body: { metadata: { name: nodeName }, status: { allocatable: { 'kubernetes.io/batch-cpu': '5000' } } },
    });
    expect(n.status?.allocatable).toEqual({ 'kubernetes.io/batch-cpu': '5000' });
  });

  it('binds a pod through the binding subresource, once', async () => {
    const name = unique('bind');
    await core.createNamespacedPod({ namespace: 'default', body: pod(name) });
    await core.createNamespacedPodBinding({
      name, namespace: 'default', body: { metadata: { name }, target: { kind: 'Node', name: 'worker-1' } },
    });
    const bound = await core.readNamespacedPod({ name, namespace: 'default' });
    expect(bound.spec?.nodeName).toBe('worker-1');
    expect(server.store.podsOnNode('worker-1').map((p) => p.metadata.name)).toContain(name);
    expect(await failure(core.createNamespacedPodBinding({
      name, namespace: 'default', body: { metadata: { name }, target: { kind: 'Node', name: 'worker-2' } },
    }))).toMatchObject({ code: 409, reason: 'Conflict' });
    // spec.nodeName cannot be changed by an update.
    const err = await failure(core.patchNamespacedPod({ name, namespace: 'default', body: { spec: { nodeName: 'worker-3' } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch)));
    expect(err.code).toBe(422);
  });

  it('lists pods across and within namespaces with label and field selectors', async () => {
    await core.createNamespace({ body: { metadata: { name: 'sel-a' } } });
    await core.createNamespace({ body: { metadata: { name: 'sel-b' } } });
    const mk = (ns: string, name: string, nodeName: string | undefined, labels: Record<string, string>) =>
      core.createNamespacedPod({ namespace: ns, body: { ...pod(name, nodeName, labels), metadata: { name, labels } } });
    await mk('sel-a', 'nm-a', 'host-1', { 'app.kubernetes.io/component': 'node-manager', tier: 'batch' });
    await mk('sel-a', 'web-a', 'host-1', { app: 'web', tier: 'online' });
    await mk('sel-b', 'nm-b', 'host-2', { 'app.kubernetes.io/component': 'node-manager', tier: 'batch' });
    await mk('sel-b', 'pending-b', undefined, { tier: 'batch', canary: 'yes' });

    const names = (l: { items: V1Pod[] }) => l.items.map((p) => p.metadata?.name).filter((n) => /-(a|b)$/.test(n ?? '')).sort();
    expect(names(await core.listPodForAllNamespaces({ labelSelector: 'app.kubernetes.io/component=node-manager' }))).toEqual(['nm-a', 'nm-b']);
    expect(names(await core.listPodForAllNamespaces({ labelSelector: 'tier!=online' }))).toEqual(['nm-a', 'nm-b', 'pending-b']);
    expect(names(await core.listPodForAllNamespaces({ labelSelector: 'tier in (online,nothing)' }))).toEqual(['web-a']);
    expect(names(await core.listPodForAllNamespaces({ labelSelector: 'tier notin (online),!canary' }))).toEqual(['nm-a', 'nm-b']);
    expect(names(await core.listPodForAllNamespaces({ labelSelector: 'canary' }))).toEqual(['pending-b']);
    expect(names(await core.listNamespacedPod({ namespace: 'sel-a', labelSelector: 'tier' }))).toEqual(['nm-a', 'web-a']);
    expect(names(await core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=host-1' }))).toEqual(['nm-a', 'web-a']);
    expect(names(await core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=' }))).toEqual(['pending-b']);
    expect(names(await core.listPodForAllNamespaces({ fieldSelector: 'metadata.namespace=sel-b,status.phase=Pending' }))).toEqual(['nm-b', 'pending-b']);
    expect(names(await core.listPodForAllNamespaces({ fieldSelector: 'metadata.name!=nm-a', labelSelector: 'tier=batch' }))).toEqual(['nm-b', 'pending-b']);

    expect(await failure(core.listPodForAllNamespaces({ fieldSelector: 'spec.bogus=1' }))).toMatchObject({ code: 400, reason: 'BadRequest' });
    expect(await failure(core.listPodForAllNamespaces({ labelSelector: 'a in (' }))).toMatchObject({ code: 400 });
  });

  it('pages a list with limit and continue', async () => {
    for (let i = 0; i < 5; i++) await core.createNode({ body: node(`page-${i}`, { paged: 'yes' }) });
    const first = await core.listNode({ labelSelector: 'paged=yes', limit: 2 });
    expect(first.items.map((n) => n.metadata?.name)).toEqual(['page-0', 'page-1']);
    expect(first.metadata?.remainingItemCount).toBe(3);
    const second = await core.listNode({ labelSelector: 'paged=yes', limit: 2, _continue: first.metadata!._continue! });
    expect(second.items.map((n) => n.metadata?.name)).toEqual(['page-2', 'page-3']);
    const third = await core.listNode({ labelSelector: 'paged=yes', limit: 2, _continue: second.metadata!._continue! });
    expect(third.items.map((n) => n.metadata?.name)).toEqual(['page-4']);
    expect(third.metadata?._continue).toBeUndefined();
  });

  it('refuses namespaced objects in a missing namespace and deletes contents with the namespace', async () => {
    expect(await failure(core.createNamespacedPod({ namespace: 'no-such-ns', body: pod('x') }))).toMatchObject({ code: 404, reason: 'NotFound' });
    await core.createNamespace({ body: { metadata: { name: 'doomed' } } });
    await core.createNamespacedPod({ namespace: 'doomed', body: pod('inside') });
    await core.deleteNamespace({ name: 'doomed' });
    expect(server.store.get('pods', 'doomed', 'inside')).toBeUndefined();
  });

  it('holds deletion while finalizers remain', async () => {
    const name = unique('fin');
    await core.createNode({ body: { metadata: { name, finalizers: ['loom.io/test'] } } });
    await core.deleteNode({ name });
    const marked = server.store.get('nodes', undefined, name);
    expect(marked?.metadata.deletionTimestamp).toBeDefined();
    await core.patchNode({ name, body: [{ op: 'remove', path: '/metadata/finalizers' }] }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
    expect(server.store.get('nodes', undefined, name)).toBeUndefined();
  });

  it('does leases CRUD with optimistic concurrency (leader election)', async () => {
    const ns = 'kube-system';
    const name = unique('loom-operator');
    // MicroTime fields need six fractional digits; a plain Date (milliseconds) does not decode.
    const sloppy = await failure(coord.createNamespacedLease({
      namespace: ns, body: { metadata: { name }, spec: { holderIdentity: 'op-1', renewTime: new Date() } },
    }));
    expect(sloppy).toMatchObject({ code: 400, reason: 'BadRequest' });
    const created = await coord.createNamespacedLease({
      namespace: ns,
      body: { metadata: { name }, spec: { holderIdentity: 'op-1', leaseDurationSeconds: 15, acquireTime: new V1MicroTime(), renewTime: new V1MicroTime(), leaseTransitions: 0 } },
    });
    expect(created.spec?.holderIdentity).toBe('op-1');
    expect(String(created.spec?.renewTime)).toMatch(/\.\d{6}Z$/);

    const read = await coord.readNamespacedLease({ name, namespace: ns });
    read.spec!.renewTime = new V1MicroTime();
    const renewed = await coord.replaceNamespacedLease({ name, namespace: ns, body: read });
    expect(Number(renewed.metadata?.resourceVersion)).toBeGreaterThan(Number(read.metadata?.resourceVersion));

    // A second candidate holding the old version loses the race.
    read.spec!.holderIdentity = 'op-2';
    expect(await failure(coord.replaceNamespacedLease({ name, namespace: ns, body: read }))).toMatchObject({ code: 409, reason: 'Conflict' });
    expect(await failure(coord.createNamespacedLease({ namespace: ns, body: { metadata: { name } } }))).toMatchObject({
      code: 409, reason: 'AlreadyExists', message: `leases.coordination.k8s.io "${name}" already exists`,
    });
    expect(await failure(coord.createNamespacedLease({ namespace: ns, body: { metadata: { name: unique('bad') }, spec: { leaseDurationSeconds: 0 } } })))
      .toMatchObject({ code: 422 });

    const list = await coord.listNamespacedLease({ namespace: ns });
    expect(list.items.map((l) => l.metadata?.name)).toContain(name);
    await coord.deleteNamespacedLease({ name, namespace: ns });
    expect(await failure(coord.readNamespacedLease({ name, namespace: ns }))).toMatchObject({ code: 404 });
  });

  it('stores events and selects them by involvedObject.name', async () => {
    await core.createNamespacedEvent({
      namespace: 'default',
      body: {
        metadata: { name: unique('evt') },
        involvedObject: { kind: 'Node', name: 'evicting-node' },
        reason: 'YarnContainerEvicted', message: 'evicted container_e01_1_0001_01_000002', type: 'Warning',
      },
    });
    const l = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.name=evicting-node' });
    expect(l.items.map((e) => e.reason)).toEqual(['YarnContainerEvicted']);
    const none = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.name=other' });
    expect(none.items).toEqual([]);
  });

  it('serves discovery documents', async () => {
    const v1 = await raw('GET', '/api/v1');
    expect(v1.json.kind).toBe('APIResourceList');
    const nodes = v1.json.resources.find((r: { name: string }) => r.name === 'nodes');
    expect(nodes).toMatchObject({ namespaced: false, kind: 'Node', shortNames: ['no'] });
    expect(nodes.verbs).toEqual(expect.arrayContaining(['get', 'list', 'watch', 'patch', 'update']));
    expect(v1.json.resources.map((r: { name: string }) => r.name)).toEqual(expect.arrayContaining(['pods/status', 'nodes/status', 'pods/binding']));
    const apis = await raw('GET', '/apis');
    expect(apis.json.groups.map((g: { name: string }) => g.name)).toContain('coordination.k8s.io');
    const coordRes = await raw('GET', '/apis/coordination.k8s.io/v1');
    expect(coordRes.json.resources[0]).toMatchObject({ name: 'leases', namespaced: true, kind: 'Lease' });
    expect((await raw('GET', '/version')).json.major).toBe('1');
    const missing = await raw('GET', '/api/v1/configmaps');
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ kind: 'Status', reason: 'NotFound' });
  });

  it('requires the kubeconfig token when asked to', async () => {
    const guarded = await KubeApiServer.start({ requireToken: true });
    try {
      const denied = await request(`${guarded.url}/api/v1/nodes`);
      expect(denied.statusCode).toBe(401);
      await denied.body.dump();
      const kc = new KubeConfig();
      kc.loadFromFile(guarded.kubeconfigPath);
      const api = kc.makeApiClient(CoreV1Api);
      expect((await api.listNode()).items).toEqual([]);
    } finally {
      await guarded.stop();
    }
  });
});
