/**
 * The pure pieces of the Kubernetes API simulator: selectors, the three patch algorithms, the
 * bounded watch history, Table ages — and the store's in-process contract.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventHistory } from '../../sim/kube/history.js';
import { deepFreeze, type KubeObject } from '../../sim/kube/object.js';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, PatchError } from '../../sim/kube/patch/index.js';
import { RESOURCES } from '../../sim/kube/resources.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from '../../sim/kube/selectors.js';
import { ApiError, KubeStore, thaw } from '../../sim/kube/index.js';
import { humanDuration } from '../../sim/kube/table.js';

const selects = (sel: string, labels: Record<string, string> | undefined): boolean => matchesLabels(parseLabelSelector(sel), labels);

describe('label selectors', () => {
  it('implements every operator, with != and notin matching objects without the key', () => {
    const l = { app: 'nm', tier: 'batch', 'example.com/gen': '3' };
    expect(selects('app=nm', l)).toBe(true);
    expect(selects('app==nm,tier=batch', l)).toBe(true);
    expect(selects('app=web', l)).toBe(false);
    expect(selects('app!=web', l)).toBe(true);
    expect(selects('missing!=x', l)).toBe(true);
    expect(selects('tier in (batch, online)', l)).toBe(true);
    expect(selects('tier notin (batch)', l)).toBe(false);
    expect(selects('missing notin (batch)', l)).toBe(true);
    expect(selects('app', l)).toBe(true);
    expect(selects('!app', l)).toBe(false);
    expect(selects('!missing', l)).toBe(true);
    expect(selects('example.com/gen>2', l)).toBe(true);
    expect(selects('example.com/gen<3', l)).toBe(false);
    expect(selects('', undefined)).toBe(true);
    expect(selects('app', undefined)).toBe(false);
    expect(selects('app=', { app: '' })).toBe(true);
  });

  it('rejects malformed selectors with 400', () => {
    for (const bad of ['a in (', 'a in ()', '=x', 'a b', 'a=b c', 'bad key=1', 'a>x']) {
      expect(() => parseLabelSelector(bad), bad).toThrow(ApiError);
      try { parseLabelSelector(bad); } catch (e) { expect((e as ApiError).code).toBe(400); }
    }
  });

  it('agrees with plain equality on random labels (property)', () => {
    const key = fc.constantFrom('a', 'b', 'c');
    const val = fc.constantFrom('x', 'y');
    fc.assert(fc.property(fc.dictionary(key, val), key, val, (labels, k, v) => {
      expect(selects(`${k}=${v}`, labels)).toBe(labels[k] === v);
      expect(selects(`${k}!=${v}`, labels)).toBe(labels[k] !== v);
      expect(selects(k, labels)).toBe(k in labels);
      expect(selects(`!${k}`, labels)).toBe(!(k in labels));
    }));
  });
});

describe('field selectors', () => {
  const pod: KubeObject = { metadata: { name: 'p', namespace: 'ns' }, spec: { nodeName: 'n1' }, status: { phase: 'Running' } };
  it('matches supported fields and refuses others per type', () => {
    const sel = (s: string) => matchesFields(parseFieldSelector(s, RESOURCES.pods), pod);
    expect(sel('spec.nodeName=n1,status.phase=Running')).toBe(true);
    expect(sel('spec.nodeName!=n1')).toBe(false);
    expect(sel('metadata.name==p,metadata.namespace=ns')).toBe(true);
    expect(() => parseFieldSelector('spec.nodeName=x', RESOURCES.nodes)).toThrow(/field label not supported: spec.nodeName/);
    expect(() => parseFieldSelector('metadata.namespace=x', RESOURCES.nodes)).toThrow(ApiError);
    const unsched: KubeObject = { metadata: { name: 'n' }, spec: { unschedulable: true } };
    expect(matchesFields(parseFieldSelector('spec.unschedulable=true', RESOURCES.nodes), unsched)).toBe(true);
    expect(matchesFields(parseFieldSelector('spec.unschedulable=false', RESOURCES.nodes), { metadata: { name: 'm' } })).toBe(true);
  });
});

describe('patches', () => {
  it('merge patch is idempotent and never touches its (frozen) input (property)', () => {
    const json = fc.jsonValue({ maxDepth: 3 });
    fc.assert(fc.property(fc.dictionary(fc.string(), json), fc.dictionary(fc.string(), fc.oneof(json, fc.constant(null))), (doc, patch) => {
      const frozen = deepFreeze(structuredClone(doc));
      const once = applyMergePatch(frozen, patch);
      expect(applyMergePatch(once, patch)).toEqual(once);
      expect(frozen).toEqual(doc);
    }));
  });

  it('keeps a "__proto__" key as plain data', () => {
    const patch = JSON.parse('{"__proto__":{"polluted":true},"a":1}');
    const merged = applyMergePatch({}, patch) as Record<string, unknown>;
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(Object.keys(merged)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(applyStrategicMergePatch({}, patch))).toBe(Object.prototype);
    const added = applyJsonPatch({}, [{ op: 'add', path: '/__proto__', value: { polluted: true } }]);
    expect(Object.getPrototypeOf(added)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('json patch: pointers, arrays, move/copy, and failures', () => {
    const doc = deepFreeze({ metadata: { annotations: { 'a/b': '1', 'c~d': '2' } }, list: [1, 2, 3] });
    const out = applyJsonPatch(doc, [
      { op: 'replace', path: '/metadata/annotations/a~1b', value: 'x' },
      { op: 'remove', path: '/metadata/annotations/c~0d' },
      { op: 'add', path: '/list/-', value: 4 },
      { op: 'add', path: '/list/0', value: 0 },
      { op: 'move', from: '/list/1', path: '/moved' },
      { op: 'copy', from: '/moved', path: '/copied' },
      { op: 'test', path: '/list', value: [0, 2, 3, 4] },
    ]);
    expect(out).toEqual({ metadata: { annotations: { 'a/b': 'x' } }, list: [0, 2, 3, 4], moved: 1, copied: 1 });
    const failed = (p: unknown) => { try { applyJsonPatch(doc, p); } catch (e) { return (e as PatchError).kind; } return 'applied'; };
    expect(failed([{ op: 'test', path: '/list/0', value: 9 }])).toBe('failed');
    expect(failed([{ op: 'replace', path: '/nope', value: 1 }])).toBe('failed');
    expect(failed([{ op: 'add', path: '/list/9', value: 1 }])).toBe('failed');
    expect(failed([{ op: 'add', path: '/missing/deep', value: 1 }])).toBe('failed');
    expect(failed({ op: 'add' })).toBe('malformed');
    expect(failed([{ op: 'add', path: '/x' }])).toBe('malformed');
  });

  it('strategic merge: merge keys, $patch directives, primitive lists, replaced lists', () => {
    const pod = deepFreeze({
      metadata: { finalizers: ['a'], labels: { x: '1' } },
      spec: {
        containers: [{ name: 'main', image: 'i:1', env: [{ name: 'A', value: '1' }] }, { name: 'side', image: 's:1' }],
        tolerations: [{ key: 't1' }],
      },
      status: { conditions: [{ type: 'Ready', status: 'False' }, { type: 'PodScheduled', status: 'True' }] },
    });
    const out = applyStrategicMergePatch(pod, {
      metadata: { finalizers: ['b', 'a'], labels: { x: null } },
      spec: {
        containers: [{ name: 'main', env: [{ name: 'B', value: '2' }] }, { name: 'side', $patch: 'delete' }],
        tolerations: [{ key: 't2' }],
      },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    });
    expect(out).toEqual({
      metadata: { finalizers: ['a', 'b'], labels: {} },
      spec: {
        containers: [{ name: 'main', image: 'i:1', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] }],
        tolerations: [{ key: 't2' }],
      },
      status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'PodScheduled', status: 'True' }] },
    });
    expect(applyStrategicMergePatch(pod, { spec: { $patch: 'replace', tolerations: [] } })).toMatchObject({ spec: { tolerations: [] } });
    expect((applyStrategicMergePatch(pod, { spec: { $patch: 'replace', tolerations: [] } }) as any).spec.containers).toBeUndefined();
    expect(applyStrategicMergePatch(pod, { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } })).toMatchObject({ metadata: { finalizers: [] } });
    expect(() => applyStrategicMergePatch(pod, { spec: { containers: [{ image: 'no-name' }] } })).toThrow(PatchError);
  });

  it('strategic merge equals merge patch on list-free documents (property)', () => {
    const scalar = fc.oneof(fc.string(), fc.integer(), fc.boolean());
    const map = fc.dictionary(fc.stringMatching(/^[a-z]{1,3}$/), fc.oneof(scalar, fc.dictionary(fc.stringMatching(/^[a-z]{1,3}$/), scalar)));
    const patch = fc.dictionary(fc.stringMatching(/^[a-z]{1,3}$/), fc.oneof(scalar, fc.constant(null), fc.dictionary(fc.stringMatching(/^[a-z]{1,3}$/), fc.oneof(scalar, fc.constant(null)))));
    fc.assert(fc.property(map, patch, (doc, p) => {
      expect(applyStrategicMergePatch(doc, p)).toEqual(applyMergePatch(doc, p));
    }));
  });
});

describe('watch history', () => {
  const ev = (rv: number) => ({ type: 'ADDED' as const, object: { metadata: { name: String(rv) } }, resourceVersion: rv });
  it('replays after a version and expires what it dropped', () => {
    const h = new EventHistory(3);
    for (const rv of [2, 5, 7]) h.push(ev(rv));
    expect(h.since(0)?.map((e) => e.resourceVersion)).toEqual([2, 5, 7]);
    expect(h.since(5)?.map((e) => e.resourceVersion)).toEqual([7]);
    expect(h.since(7)).toEqual([]);
    h.push(ev(9));
    expect(h.since(1)).toBeUndefined();
    expect(h.since(2)?.map((e) => e.resourceVersion)).toEqual([5, 7, 9]);
    h.compact(7);
    expect(h.since(6)).toBeUndefined();
    expect(h.since(7)?.map((e) => e.resourceVersion)).toEqual([9]);
  });
});

describe('table ages', () => {
  it('prints like duration.HumanDuration', () => {
    expect(humanDuration(5_000)).toBe('5s');
    expect(humanDuration(150_000)).toBe('2m30s');
    expect(humanDuration(30 * 60_000)).toBe('30m');
    expect(humanDuration(5 * 3600_000 + 10 * 60_000)).toBe('5h10m');
    expect(humanDuration(30 * 3600_000)).toBe('30h');
    expect(humanDuration(3 * 86400_000 + 3600_000)).toBe('3d1h');
    expect(humanDuration(-5_000)).toBe('<invalid>');
  });
});

describe('in-process store', () => {
  it('hands out frozen objects, conflict-checks updates and keeps one version sequence', () => {
    const s = new KubeStore({ now: () => new Date('2025-01-02T03:04:05.678Z') });
    const base = Number(s.resourceVersion);
    const n = s.create('nodes', { metadata: { name: 'n1' } });
    expect(n.metadata.creationTimestamp).toBe('2025-01-02T03:04:05Z');
    expect(n.metadata.resourceVersion).toBe(String(base + 1));
    expect(() => { (n.metadata as any).name = 'x'; }).toThrow(TypeError);

    const edit = thaw(n);
    edit.metadata.labels = { a: 'b' };
    const v2 = s.update('nodes', edit);
    expect(v2.metadata.resourceVersion).toBe(String(base + 2));
    expect(() => s.update('nodes', edit)).toThrow(expect.objectContaining({ code: 409, reason: 'Conflict' }));
    // A write that changes nothing keeps the version (and sends no event).
    const seen: string[] = [];
    const stop = s.watch('nodes', (e) => seen.push(e.type));
    expect(s.patch('nodes', undefined, 'n1', 'merge', { metadata: { labels: { a: 'b' } } }).metadata.resourceVersion).toBe(String(base + 2));
    expect(seen).toEqual([]);
    s.delete('nodes', undefined, 'n1');
    expect(seen).toEqual(['DELETED']);
    stop();
    expect(() => s.delete('nodes', undefined, 'n1')).toThrow(expect.objectContaining({ code: 404 }));
  });

  it('serializes listener callbacks in version order even when a listener writes', () => {
    const s = new KubeStore();
    const order: string[] = [];
    s.watch('pods', (e) => {
      order.push(`a:${e.object.metadata.name}@${e.object.metadata.resourceVersion}`);
      if (e.object.metadata.name === 'first') s.create('nodes', { metadata: { name: 'reaction' } });
    });
    s.watch('pods', (e) => order.push(`b:${e.object.metadata.name}`));
    s.watch('nodes', (e) => order.push(`c:${e.object.metadata.name}`));
    const first = s.create('pods', { metadata: { name: 'first' }, spec: { containers: [{ name: 'c', image: 'i' }] } });
    expect(order).toEqual([`a:first@${first.metadata.resourceVersion}`, 'b:first', 'c:reaction']);
  });

  it('replays from a version in process and refuses a compacted one with 410', () => {
    const s = new KubeStore({ watchHistory: 2 });
    const from = s.resourceVersion;
    s.create('nodes', { metadata: { name: 'a' } });
    s.create('nodes', { metadata: { name: 'b' } });
    const got: string[] = [];
    s.watch('nodes', (e) => got.push(e.object.metadata.name!), { resourceVersion: from })();
    expect(got).toEqual(['a', 'b']);
    s.create('nodes', { metadata: { name: 'c' } });
    expect(() => s.watch('nodes', () => {}, { resourceVersion: from })).toThrow(expect.objectContaining({ code: 410, reason: 'Expired' }));
  });

  it('does not keep or freeze the caller\'s objects', () => {
    const s = new KubeStore();
    const template = { metadata: { name: 't' }, spec: { containers: [{ name: 'c', image: 'i' }] } };
    s.create('pods', template);
    template.spec.containers[0]!.image = 'changed';
    expect((s.get('pods', 'default', 't')!.spec as any).containers[0].image).toBe('i');
  });
});
