/** The Kubernetes simulator's OpenAPI: documents consistent with what it serves, field validation, v2 protobuf. */
import { describe, expect, it } from 'vitest';
import { KubeApiServer } from '../../sim/kube/index.js';
import { DEFINITIONS, openApiV2, openApiV3, serveOpenApi, unknownFields, withoutUnknownFields } from '../../sim/kube/openapi/index.js';
import { RESOURCE_NAMES, RESOURCES } from '../../sim/kube/resources.js';

describe('OpenAPI documents', () => {
  it('publish every served kind with its group-version-kind, and every $ref resolves', () => {
    const v2 = openApiV2() as { paths: Record<string, Record<string, { 'x-kubernetes-group-version-kind'?: { kind: string } }>>; definitions: Record<string, unknown> };
    for (const n of RESOURCE_NAMES) {
      const d = RESOURCES[n];
      const kinds = Object.values(v2.paths).flatMap((item) => Object.values(item)).map((op) => op['x-kubernetes-group-version-kind']?.kind);
      expect(kinds, d.kind).toContain(d.kind);
    }
    const refs = JSON.stringify(v2).match(/#\/definitions\/[^"]+/g) ?? [];
    for (const r of new Set(refs)) expect(DEFINITIONS[r.slice('#/definitions/'.length)], r).toBeDefined();
    const v3 = openApiV3();
    expect(Object.keys(v3.index.paths as object).sort()).toEqual(['api/v1', 'apis/coordination.k8s.io/v1']);
    for (const [, doc] of v3.documents) {
      const parsed = JSON.parse(doc.text) as { components: { schemas: Record<string, unknown> } };
      for (const r of new Set(doc.text.match(/#\/components\/schemas\/[^"]+/g) ?? [])) {
        expect(parsed.components.schemas[r.slice('#/components/schemas/'.length)], r).toBeDefined();
      }
      // kubectl sends fieldValidation only when the kind's PATCH operation declares it.
      expect(doc.text).toMatch(/"name":"fieldValidation"[^}]*"in":"query"/);
      expect(doc.text).toContain('application/strategic-merge-patch+json');
    }
  });

  it('answers v2 as protobuf when asked (Content-Type Go can parse), JSON otherwise; v3 documents by hash', () => {
    const pb = serveOpenApi('GET', '/openapi/v2', new URLSearchParams(), 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf')!;
    expect(pb.headers['Content-Type']).toBe('application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
    expect(Buffer.isBuffer(pb.body)).toBe(true);
    // Document.swagger (field 1, length-delimited) comes first: "2.0".
    expect([...(pb.body as Buffer).subarray(0, 5)]).toEqual([0x0a, 3, 0x32, 0x2e, 0x30]);
    expect(JSON.parse(serveOpenApi('GET', '/openapi/v2', new URLSearchParams(), 'application/json')!.body as string).swagger).toBe('2.0');
    const index = JSON.parse(serveOpenApi('GET', '/openapi/v3', new URLSearchParams(), undefined)!.body as string) as { paths: Record<string, { serverRelativeURL: string }> };
    const url = new URL(index.paths['api/v1']!.serverRelativeURL, 'http://x');
    const doc = serveOpenApi('GET', url.pathname, url.searchParams, 'application/json')!;
    expect(doc.status).toBe(200);
    expect(doc.headers['Cache-Control']).toBe('public, immutable');
    expect(serveOpenApi('GET', url.pathname, new URLSearchParams({ hash: 'STALE' }), 'application/json')!.status).toBe(301);
    expect(serveOpenApi('GET', '/openapi/v3/apis/nope/v1', new URLSearchParams(), undefined)!.status).toBe(404);
    expect(serveOpenApi('GET', '/api/v1', new URLSearchParams(), undefined)).toBeUndefined();
  });
});

describe('field validation', () => {
  const pod = {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { a: 'b' } },
    spec: { containers: [{ name: 'c', image: 'i', imagePullPolcy: 'Always', resources: { requests: { 'kubernetes.io/batch-cpu': '1k' } } }], nodeSelectr: {}, affinity: { anything: { goes: 1 } } },
    status: { phase: 'Running', bogus: 1 },
  };

  it('names every unknown field by path and leaves opaque objects alone', () => {
    expect(unknownFields('io.k8s.api.core.v1.Pod', pod)).toEqual(['spec.containers[0].imagePullPolcy', 'spec.nodeSelectr', 'status.bogus']);
    const kept = withoutUnknownFields('io.k8s.api.core.v1.Pod', pod) as typeof pod;
    expect(kept.spec.containers[0]).toEqual({ name: 'c', image: 'i', resources: { requests: { 'kubernetes.io/batch-cpu': '1k' } } });
    expect(kept.spec.affinity).toEqual({ anything: { goes: 1 } });
    expect('nodeSelectr' in kept.spec).toBe(false);
  });

  it('does not take patch directives for fields', () => {
    const patch = { metadata: { labels: { x: null } }, spec: { $setElementOrder: [], 'containers': [{ name: 'c', $patch: 'delete' }] } };
    expect(unknownFields('io.k8s.api.core.v1.Pod', patch, { patch: true })).toEqual([]);
  });

  it('over HTTP: Strict refuses, absent means Warn (a Warning header, the field dropped), a bad directive is refused', async () => {
    const server = await KubeApiServer.start();
    try {
      const post = (q: string, body: unknown) => fetch(`${server.url}/api/v1/namespaces?${q}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      const strict = await post('fieldValidation=Strict', { metadata: { name: 'a' }, spec: { finalizerz: [] } });
      expect(strict.status).toBe(400);
      expect((await strict.json() as { message: string }).message).toBe('Namespace in version "v1" cannot be handled as a Namespace: strict decoding error: unknown field "spec.finalizerz"');
      const warn = await post('', { metadata: { name: 'b' }, spec: { finalizerz: [] } });
      expect(warn.status).toBe(201);
      expect(warn.headers.get('warning')).toBe('299 - "unknown field \\"spec.finalizerz\\""');
      expect(server.store.get('namespaces', undefined, 'b')!.spec).toEqual({});
      const bad = await post('fieldValidation=strict', { metadata: { name: 'c' } });
      expect(bad.status).toBe(422);
      expect((await bad.json() as { message: string }).message).toContain('fieldValidation: Unsupported value: "strict"');
    } finally {
      await server.stop();
    }
  });
});
