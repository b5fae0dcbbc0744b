/**
 * A paged list asks for the next page as soon as the current one's `continue` is in its text —
 * before that page is parsed and applied — one page ahead at most, and still yields exactly the
 * objects the server holds. Real loopback HTTP against the Kubernetes simulator.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApi, type RequestOptions } from '../../kube/api.js';
import { connect, type KubeConnection } from '../../kube/connection.js';
import { continueOfHead, Reflector } from '../../kube/reflector.js';
import { kubeconfigYaml } from '../../sim/kube/kubeconfig.js';
import { KubeApiServer } from '../../sim/kube/server.js';
import { captureLogs } from './operator-helpers.js';

describe('continueOfHead', () => {
  it('reads the token from the members before "items", and nothing when they do not parse alone', () => {
    expect(continueOfHead('{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7","continue":"abc=="},"items":[{"a":1}]}')).toBe('abc==');
    expect(continueOfHead('{"kind":"PodList","metadata":{"resourceVersion":"7"},"items":[]}')).toBeUndefined();
    expect(continueOfHead('{"kind":"PodList","metadata":{"continue":""},"items":[]}')).toBeUndefined();
    // Items first: the head holds no metadata; the caller waits for the whole answer.
    expect(continueOfHead('{"items":[],"metadata":{"continue":"x"}}')).toBeUndefined();
    expect(continueOfHead('{"metadata":{"continue":"x", "items":[]}}')).toBeUndefined();
    expect(continueOfHead('not json "items":')).toBeUndefined();
  });
});

describe('Reflector paging', () => {
  let kube: KubeApiServer;
  let conn: KubeConnection;
  beforeAll(async () => {
    kube = await KubeApiServer.start({});
    const dir = mkdtempSync(join(tmpdir(), 'loom-refl-page-'));
    writeFileSync(join(dir, 'kubeconfig'), kubeconfigYaml(kube.url, kube.token));
    conn = await connect(join(dir, 'kubeconfig'));
  });
  afterAll(async () => {
    await conn.close();
    await kube.stop();
  });

  it('asks for page N+1 before applying page N, one page ahead, and lists every object once', async () => {
    for (let i = 0; i < 23; i++) kube.store.create('nodes', { metadata: { name: `n-${String(i).padStart(2, '0')}` } });
    const api = new KubeApi(conn);
    const trace: string[] = [];
    const request = api.request.bind(api);
    api.request = (<T>(method: string, path: string, opts: RequestOptions = {}) => {
      trace.push(`get ${String(opts.query?.continue ? 'next' : 'first')}`);
      return request<T>(method, path, opts);
    }) as typeof api.request;
    const seen = new Map<string, string>();
    const r = new Reflector<string>({
      api, path: '/api/v1/nodes', logger: captureLogs().logger, pageSize: 5, listOnly: true,
      project: (o) => { trace.push(`apply ${o.metadata.name}`); return o.metadata.name; },
      handlers: { upsert: (k, v) => seen.set(k, v), remove: (k) => seen.delete(k) },
    });
    r.start();
    await r.synced;
    expect([...seen.keys()].sort()).toEqual(Array.from({ length: 23 }, (_, i) => `n-${String(i).padStart(2, '0')}`));
    // 5 pages, each asked for once: no prefetch wasted.
    expect(trace.filter((t) => t.startsWith('get'))).toHaveLength(5);
    // The second page was asked for before the first page's first object was applied …
    expect(trace.indexOf('get next')).toBeLessThan(trace.indexOf('apply n-00'));
    // … and never more than one page ahead of what is applied: before n-00 only pages 1–2 were asked for.
    expect(trace.slice(0, trace.indexOf('apply n-00')).filter((t) => t.startsWith('get'))).toHaveLength(2);
    r.stop();
  });
});
