/**
 * The simulated cluster state: every object of every served type, one global resourceVersion,
 * bounded per-type watch history and watchers. HTTP handlers and in-process simulator parts
 * both write through here, so they see the same versions, conflicts and watch events.
 *
 * Stored objects are deep-frozen and handed out as they are (no copy per read); use `thaw()`
 * (structuredClone) to get an editable copy before `update`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Logger } from '../../log/logger.js';
import { EventHistory } from './history.js';
import { type KubeObject, type StoreEvent, type WatchEventType, deepFreeze, isPlainObject, jsonEqual } from './object.js';
import { type PatchType, PatchError, applyPatch } from './patch/index.js';
import { RESOURCES, RESOURCE_NAMES, type ResourceDef, type ResourceName, apiVersionOf } from './resources.js';
import {
  type FieldSelector, type LabelSelector, matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector, pinnedField,
} from './selectors.js';
import { ApiError, alreadyExists, badRequest, conflict, expired, invalid, notFound } from './status.js';
import { microTimeDecodeErrors, validateObject, validatePodSpecUpdate } from './validation.js';

export interface StoreOptions {
  /** Changes kept per resource type for watch resumption (default 50 000). */
  watchHistory?: number;
  /** Clock for creationTimestamp / deletionTimestamp (default: wall clock). */
  now?: () => Date;
  logger?: Logger;
}

export interface Selection {
  /** Namespaced types only; omitted = all namespaces. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export interface ListOptions extends Selection {
  /** Page size; with `continue` from a previous page. */
  limit?: number;
  continue?: string;
}

export interface ListResult {
  items: KubeObject[];
  /** The store's version the list reflects (watch from here). */
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface WatchOptions extends Selection {
  /**
   * Where to start. Omitted: future changes only. `'0'`: synthetic ADDED for every current
   * match, then changes (like an HTTP watch without a version). `'N'`: changes after N — throws
   * a 410 ApiError when N is older than the retained history.
   */
  resourceVersion?: string;
}

export interface WatchEvent {
  type: WatchEventType;
  object: KubeObject;
}

export type WatchListener = (event: WatchEvent) => void;

export interface Preconditions { uid?: string; resourceVersion?: string }

export interface CreateOptions {
  /** Sim-only seeding shortcut: keep the given pod/namespace `status` (the apiserver resets it on create). */
  preserveStatus?: boolean;
}

export interface WriteOptions {
  subresource?: 'status';
}

interface Watcher {
  readonly namespace: string | undefined;
  readonly labels: LabelSelector;
  readonly fields: FieldSelector;
  readonly listener: WatchListener;
}

interface Table {
  readonly def: ResourceDef;
  readonly objects: Map<string, KubeObject>;
  readonly byNamespace: Map<string, Set<string>>;
  readonly history: EventHistory;
  readonly watchers: Set<Watcher>;
  sortedKeys: string[] | undefined;
}

const keyOf = (namespace: string | undefined, name: string): string => (namespace ? `${namespace}/${name}` : name);

function rfc3339(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

/** Pod QoS class from requests/limits (qos.GetPodQOS, simplified to cpu and memory). */
function podQosClass(pod: KubeObject): string {
  const spec = isPlainObject(pod.spec) ? pod.spec : {};
  const containers = Array.isArray(spec.containers) ? spec.containers : [];
  let any = false;
  let guaranteed = containers.length > 0;
  for (const c of containers) {
    const res = isPlainObject(c) && isPlainObject(c.resources) ? c.resources : {};
    const req = isPlainObject(res.requests) ? res.requests : {};
    const lim = isPlainObject(res.limits) ? res.limits : {};
    if (Object.keys(req).length > 0 || Object.keys(lim).length > 0) any = true;
    for (const r of ['cpu', 'memory']) {
      if (lim[r] === undefined) guaranteed = false;
      else if (req[r] !== undefined && String(req[r]) !== String(lim[r])) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function encodeContinue(rv: number, after: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start: after })).toString('base64url');
}

function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const o = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    if (isPlainObject(o) && typeof o.rv === 'number' && typeof o.start === 'string') return { rv: o.rv, start: o.start };
  } catch { /* fall through */ }
  throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}

export class KubeStore {
  private rv = 0;
  private readonly tables = new Map<ResourceName, Table>();
  /** pods by spec.nodeName ('' = unscheduled): the scheduler's and the operator's hot query. */
  private readonly podsByNode = new Map<string, Set<string>>();
  private readonly pending: Array<{ table: Table; event: StoreEvent }> = [];
  private draining = false;
  private readonly now: () => Date;
  private readonly logger: Logger | undefined;

  constructor(options: StoreOptions = {}) {
    const cap = options.watchHistory ?? 50_000;
    this.now = options.now ?? (() => new Date());
    this.logger = options.logger;
    for (const name of RESOURCE_NAMES) {
      this.tables.set(name, {
        def: RESOURCES[name], objects: new Map(), byNamespace: new Map(), history: new EventHistory(cap), watchers: new Set(), sortedKeys: undefined,
      });
    }
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      this.create('namespaces', { metadata: { name: ns } });
    }
  }

  /** The current global resourceVersion. */
  get resourceVersion(): string {
    return String(this.rv);
  }

  count(resource: ResourceName): number {
    return this.table(resource).objects.size;
  }

  get(resource: ResourceName, namespace: string | undefined, name: string): KubeObject | undefined {
    const t = this.table(resource);
    return t.objects.get(keyOf(t.def.namespaced ? namespace : undefined, name));
  }

  /** Pods whose `spec.nodeName` is `nodeName` ('' = unscheduled), via the index. */
  podsOnNode(nodeName: string): KubeObject[] {
    const t = this.table('pods');
    const keys = this.podsByNode.get(nodeName);
    return keys ? [...keys].map((k) => t.objects.get(k)!) : [];
  }

  list(resource: ResourceName, options: ListOptions = {}): ListResult {
    const t = this.table(resource);
    const labels = parseLabelSelector(options.labelSelector);
    const fields = parseFieldSelector(options.fieldSelector, t.def);
    const namespace = t.def.namespaced ? options.namespace || undefined : undefined;
    let listRv = this.rv;
    let startAfter: string | undefined;
    if (options.continue) {
      const c = decodeContinue(options.continue);
      if (c.rv < t.history.oldestResumable) {
        throw expired('The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.');
      }
      listRv = c.rv;
      startAfter = c.start;
    }
    const limit = options.limit !== undefined && options.limit > 0 ? options.limit : undefined;
    const items: KubeObject[] = [];
    const matches = (o: KubeObject): boolean =>
      (namespace === undefined || o.metadata.namespace === namespace) && matchesLabels(labels, o.metadata.labels) && matchesFields(fields, o);

    const nodeName = resource === 'pods' ? pinnedField(fields, 'spec.nodeName') : undefined;
    let candidates: readonly string[];
    if (nodeName !== undefined) candidates = [...(this.podsByNode.get(nodeName) ?? [])].sort();
    else if (namespace !== undefined) candidates = [...(t.byNamespace.get(namespace) ?? [])].sort();
    else candidates = this.sortedKeys(t);
    // Every candidate matches when nothing but the candidate set's own key filters: the rest of
    // the list is then counted, not scanned (a page costs its own size, not the whole list's).
    const allMatch = labels.length === 0 && fields.length === 0;

    let remaining = 0;
    let lastKey: string | undefined;
    for (let i = startAfter === undefined ? 0 : firstAfter(candidates, startAfter); i < candidates.length; i++) {
      const key = candidates[i]!;
      const o = t.objects.get(key)!;
      if (!matches(o)) continue;
      if (limit !== undefined && items.length >= limit) {
        if (allMatch) { remaining = candidates.length - i; break; }
        remaining++;
        continue;
      }
      items.push(o);
      lastKey = key;
    }
    const result: ListResult = { items, resourceVersion: String(listRv) };
    if (remaining > 0 && lastKey !== undefined) {
      result.continue = encodeContinue(listRv, lastKey);
      result.remainingItemCount = remaining;
    }
    return result;
  }

  create(resource: ResourceName, input: KubeObject, options: CreateOptions = {}): KubeObject {
    const t = this.table(resource);
    const def = t.def;
    if (!isPlainObject(input) || !isPlainObject(input.metadata)) throw invalid(def, '', [{ reason: 'FieldValueRequired', message: 'Required value', field: 'metadata' }]);
    input = ownedCopy(input);
    const meta = { ...input.metadata };
    if ((meta.name === undefined || meta.name === '') && typeof meta.generateName === 'string' && meta.generateName !== '') {
      meta.name = `${meta.generateName}${randomBytes(4).toString('hex').slice(0, 5)}`;
    }
    const namespace = def.namespaced ? (meta.namespace || 'default') : undefined;
    if (def.namespaced) meta.namespace = namespace;
    else delete meta.namespace;
    const obj: KubeObject = { ...input, apiVersion: apiVersionOf(def), kind: def.kind, metadata: meta };
    const undecodable = microTimeDecodeErrors(resource, obj);
    if (undecodable.length > 0) throw badRequest(undecodable.join('; '));
    const causes = validateObject(def, obj);
    if (causes.length > 0) throw invalid(def, String(meta.name ?? ''), causes);
    const name = meta.name!;
    if (namespace !== undefined && !this.get('namespaces', undefined, namespace)) {
      throw new ApiError(404, 'NotFound', `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
    }
    const key = keyOf(namespace, name);
    if (t.objects.has(key)) throw alreadyExists(def, name);

    if (resource === 'pods' && !options.preserveStatus) obj.status = { phase: 'Pending', qosClass: podQosClass(obj) };
    if (resource === 'namespaces') {
      if (!options.preserveStatus) obj.status = { phase: 'Active' };
      meta.labels = { ...(meta.labels ?? {}), 'kubernetes.io/metadata.name': name };
    }
    const rv = ++this.rv;
    meta.uid = randomUUID();
    meta.resourceVersion = String(rv);
    meta.creationTimestamp = rfc3339(this.now());
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    if (resource === 'pods') meta.generation = 1;
    else delete meta.generation;
    deepFreeze(obj);
    this.put(t, key, obj, undefined);
    this.emit(t, { type: 'ADDED', object: obj, resourceVersion: rv });
    return obj;
  }

  /** PUT semantics: whole-object replace, conflict-checked when `metadata.resourceVersion` is set. */
  update(resource: ResourceName, input: KubeObject, options: WriteOptions = {}): KubeObject {
    const t = this.table(resource);
    if (!isPlainObject(input) || !isPlainObject(input.metadata) || !input.metadata.name) {
      throw invalid(t.def, '', [{ reason: 'FieldValueRequired', message: 'Required value: name is required', field: 'metadata.name' }]);
    }
    const namespace = t.def.namespaced ? (input.metadata.namespace || 'default') : undefined;
    const name = input.metadata.name;
    const current = t.objects.get(keyOf(namespace, name));
    if (!current) throw notFound(t.def, name);
    return this.replace(t, current, ownedCopy(input), options.subresource);
  }

  /**
   * PATCH semantics: the patch applies to the current object; if the result carries a
   * `metadata.resourceVersion` other than the current one, 409 (optimistic concurrency).
   * A patch that does not apply (JSON-patch `test`, missing path) is a 422; a malformed one 400.
   */
  patch(resource: ResourceName, namespace: string | undefined, name: string, type: PatchType, body: unknown, options: WriteOptions = {}): KubeObject {
    const t = this.table(resource);
    const current = t.objects.get(keyOf(t.def.namespaced ? namespace || 'default' : undefined, name));
    if (!current) throw notFound(t.def, name);
    let patched: unknown;
    try {
      patched = applyPatch(type, current, body);
    } catch (err) {
      if (err instanceof PatchError) {
        if (err.kind === 'malformed') throw badRequest(err.message);
        // What the apiserver answers (NewGenericServerResponse 422): a generic message, the
        // patch library's complaint as the cause.
        throw new ApiError(422, 'Invalid', 'the server rejected our request due to an error in our request', {
          causes: [{ reason: 'UnexpectedServerResponse', message: err.message }],
        });
      }
      throw err;
    }
    if (!isPlainObject(patched) || !isPlainObject(patched.metadata)) {
      throw invalid(t.def, name, [{ reason: 'FieldValueRequired', message: 'Required value', field: 'metadata' }]);
    }
    const pm = patched.metadata as KubeObject['metadata'];
    if (pm.name !== name) throw badRequest(`the name of the object (${String(pm.name)}) does not match the name on the URL (${name})`);
    if (t.def.namespaced && pm.namespace !== current.metadata.namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    return this.replace(t, current, patched as KubeObject, options.subresource);
  }

  /** The `pods/binding` subresource: assigns an unscheduled pod to a node. */
  bind(namespace: string, podName: string, nodeName: string): KubeObject {
    const t = this.table('pods');
    const current = t.objects.get(keyOf(namespace, podName));
    if (!current) throw notFound(t.def, podName);
    const spec = isPlainObject(current.spec) ? current.spec : {};
    if (typeof spec.nodeName === 'string' && spec.nodeName !== '') {
      throw conflict(t.def, podName, `pod ${podName} is already assigned to node "${spec.nodeName}"`);
    }
    if (current.metadata.deletionTimestamp) throw conflict(t.def, podName, `pod ${podName} is being deleted, cannot be assigned to a host`);
    const status = isPlainObject(current.status) ? current.status : {};
    const conditions = (Array.isArray(status.conditions) ? status.conditions : []).filter((c) => !(isPlainObject(c) && c.type === 'PodScheduled'));
    conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: rfc3339(this.now()) });
    const next: KubeObject = {
      ...current,
      metadata: { ...current.metadata },
      spec: { ...spec, nodeName },
      status: { ...status, conditions },
    };
    return this.commit(t, current, next);
  }

  /**
   * Deletes now, or — when finalizers remain — marks `deletionTimestamp` and leaves removal to
   * whoever clears the finalizers. Returns the last state and whether it is gone.
   */
  delete(resource: ResourceName, namespace: string | undefined, name: string, preconditions: Preconditions = {}): { object: KubeObject; deleted: boolean } {
    const t = this.table(resource);
    const ns = t.def.namespaced ? namespace || 'default' : undefined;
    const current = t.objects.get(keyOf(ns, name));
    if (!current) throw notFound(t.def, name);
    if (preconditions.uid !== undefined && preconditions.uid !== current.metadata.uid) {
      throw conflict(t.def, name, `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${current.metadata.uid}`);
    }
    if (preconditions.resourceVersion !== undefined && preconditions.resourceVersion !== current.metadata.resourceVersion) {
      throw conflict(t.def, name, `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`);
    }
    if ((current.metadata.finalizers?.length ?? 0) > 0) {
      if (current.metadata.deletionTimestamp) return { object: current, deleted: false };
      const next: KubeObject = {
        ...current,
        metadata: { ...current.metadata, deletionTimestamp: rfc3339(this.now()), deletionGracePeriodSeconds: 0 },
      };
      return { object: this.commit(t, current, next), deleted: false };
    }
    if (resource === 'namespaces') this.emptyNamespace(name);
    return { object: this.remove(t, current), deleted: true };
  }

  /** DELETE on a collection: every match, one by one (each its own version and event). */
  deleteCollection(resource: ResourceName, selection: Selection = {}): KubeObject[] {
    const { items } = this.list(resource, selection);
    return items.map((o) => this.delete(resource, o.metadata.namespace, o.metadata.name!).object);
  }

  /**
   * Subscribes to changes of one type. Listener calls are serialized in version order even when a
   * listener writes to the store. Returns the unsubscribe function.
   */
  watch(resource: ResourceName, listener: WatchListener, options: WatchOptions = {}): () => void {
    const t = this.table(resource);
    const watcher: Watcher = {
      namespace: t.def.namespaced ? options.namespace || undefined : undefined,
      labels: parseLabelSelector(options.labelSelector),
      fields: parseFieldSelector(options.fieldSelector, t.def),
      listener,
    };
    const from = options.resourceVersion;
    let initial: WatchEvent[] = [];
    if (from === '0' || from === '') {
      initial = this.list(resource, options).items.map((object) => ({ type: 'ADDED', object }));
    } else if (from !== undefined) {
      const v = Number(from);
      if (!/^\d+$/.test(from)) throw badRequest(`invalid resource version: ${JSON.stringify(from)}`);
      const replay = t.history.since(v);
      if (!replay) throw this.tooOld(t, v);
      for (const e of replay) {
        const out = this.filtered(watcher, e);
        if (out) initial.push(out);
      }
    }
    // Deliver the backlog before any later change: register only after it has been handed over,
    // and queue behind events already being drained so order holds.
    for (const e of initial) this.safeCall(listener, e);
    t.watchers.add(watcher);
    return () => { t.watchers.delete(watcher); };
  }

  /** Forgets watch history through the current version: any watch from before now gets 410. */
  compact(): void {
    for (const t of this.tables.values()) t.history.compact(this.rv);
  }

  /** The version below which a watch of `resource` gets 410 Expired. */
  oldestResumableVersion(resource: ResourceName): number {
    return this.table(resource).history.oldestResumable;
  }

  tooOld(t: Table | ResourceName, version: number): ApiError {
    const table = typeof t === 'string' ? this.table(t) : t;
    return expired(`too old resource version: ${version} (${table.history.oldestResumable + 1})`);
  }

  // ————— internals —————

  private table(resource: ResourceName): Table {
    const t = this.tables.get(resource);
    if (!t) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${String(resource)})`);
    return t;
  }

  private sortedKeys(t: Table): string[] {
    if (!t.sortedKeys) t.sortedKeys = [...t.objects.keys()].sort();
    return t.sortedKeys;
  }

  private replace(t: Table, current: KubeObject, input: KubeObject, subresource: 'status' | undefined): KubeObject {
    const def = t.def;
    const name = current.metadata.name!;
    const wantRv = input.metadata.resourceVersion;
    if (wantRv !== undefined && wantRv !== '' && wantRv !== current.metadata.resourceVersion) throw conflict(def, name);
    if (input.metadata.uid !== undefined && input.metadata.uid !== '' && input.metadata.uid !== current.metadata.uid) {
      throw conflict(def, name, `Precondition failed: UID in precondition: ${input.metadata.uid}, UID in object meta: ${current.metadata.uid}`);
    }
    if (input.apiVersion !== undefined && input.apiVersion !== apiVersionOf(def)) throw badRequest(`the API version in the data (${input.apiVersion}) does not match the expected API version (${apiVersionOf(def)})`);
    if (input.kind !== undefined && input.kind !== def.kind) throw badRequest(`the kind in the data (${input.kind}) does not match the expected kind (${def.kind})`);
    let next: KubeObject = { ...input, apiVersion: apiVersionOf(def), kind: def.kind, metadata: { ...input.metadata } };
    if (subresource === 'status') {
      next = { ...next, spec: current.spec };
      if (next.spec === undefined) delete next.spec;
      if (def.name === 'pods') next.metadata.ownerReferences = current.metadata.ownerReferences;
    } else if (def.statusIsSubresource) {
      next = { ...next, status: current.status };
      if (next.status === undefined) delete next.status;
    }
    const undecodable = microTimeDecodeErrors(def.name, next);
    if (undecodable.length > 0) throw badRequest(undecodable.join('; '));
    const m = next.metadata;
    // System fields are the server's, whatever the client sent.
    m.name = name;
    if (def.namespaced) m.namespace = current.metadata.namespace;
    else delete m.namespace;
    m.uid = current.metadata.uid;
    m.creationTimestamp = current.metadata.creationTimestamp;
    if (current.metadata.deletionTimestamp) {
      m.deletionTimestamp = current.metadata.deletionTimestamp;
      m.deletionGracePeriodSeconds = current.metadata.deletionGracePeriodSeconds;
    } else {
      delete m.deletionTimestamp;
      delete m.deletionGracePeriodSeconds;
    }
    if (def.name === 'namespaces') m.labels = { ...(m.labels ?? {}), 'kubernetes.io/metadata.name': name };
    const causes = validateObject(def, next);
    if (def.name === 'pods' && subresource !== 'status') causes.push(...validatePodSpecUpdate(current, next));
    if (causes.length > 0) throw invalid(def, name, causes);
    if (def.name === 'pods') {
      const g = current.metadata.generation ?? 1;
      m.generation = jsonEqual(current.spec, next.spec) ? g : g + 1;
    } else {
      delete m.generation;
    }
    // Clearing the last finalizer of an object being deleted completes the deletion.
    if (m.deletionTimestamp && (m.finalizers?.length ?? 0) === 0) {
      this.commit(t, current, next);
      return this.remove(t, t.objects.get(keyOf(m.namespace, name))!);
    }
    return this.commit(t, current, next);
  }

  /** Writes `next` over `current` with a new version; a no-op write keeps the version (as etcd does). */
  private commit(t: Table, current: KubeObject, next: KubeObject): KubeObject {
    next.metadata.resourceVersion = current.metadata.resourceVersion;
    if (jsonEqual(current, next)) return current;
    const rv = ++this.rv;
    next.metadata.resourceVersion = String(rv);
    deepFreeze(next);
    const key = keyOf(next.metadata.namespace, next.metadata.name!);
    this.put(t, key, next, current);
    this.emit(t, { type: 'MODIFIED', object: next, previous: current, resourceVersion: rv });
    return next;
  }

  private remove(t: Table, current: KubeObject): KubeObject {
    const rv = ++this.rv;
    const gone = deepFreeze({ ...current, metadata: { ...current.metadata, resourceVersion: String(rv) } });
    const key = keyOf(current.metadata.namespace, current.metadata.name!);
    t.objects.delete(key);
    t.sortedKeys = undefined;
    if (t.def.namespaced) t.byNamespace.get(current.metadata.namespace!)?.delete(key);
    if (t.def.name === 'pods') this.podsByNode.get(nodeNameOf(current))?.delete(key);
    this.emit(t, { type: 'DELETED', object: gone, previous: current, resourceVersion: rv });
    return gone;
  }

  private put(t: Table, key: string, obj: KubeObject, previous: KubeObject | undefined): void {
    if (!previous) t.sortedKeys = undefined;
    t.objects.set(key, obj);
    if (t.def.namespaced) {
      const ns = obj.metadata.namespace!;
      let set = t.byNamespace.get(ns);
      if (!set) t.byNamespace.set(ns, (set = new Set()));
      set.add(key);
    }
    if (t.def.name === 'pods') {
      const before = previous ? nodeNameOf(previous) : undefined;
      const after = nodeNameOf(obj);
      if (before !== after) {
        if (before !== undefined) this.podsByNode.get(before)?.delete(key);
        let set = this.podsByNode.get(after);
        if (!set) this.podsByNode.set(after, (set = new Set()));
        set.add(key);
      }
    }
  }

  private emptyNamespace(namespace: string): void {
    for (const t of this.tables.values()) {
      if (!t.def.namespaced) continue;
      for (const key of [...(t.byNamespace.get(namespace) ?? [])]) {
        const o = t.objects.get(key);
        if (o) this.remove(t, o);
      }
    }
  }

  private emit(t: Table, event: StoreEvent): void {
    t.history.push(event);
    this.pending.push({ table: t, event });
    if (this.draining) return;
    this.draining = true;
    try {
      for (let item = this.pending.shift(); item; item = this.pending.shift()) {
        for (const w of [...item.table.watchers]) {
          if (!item.table.watchers.has(w)) continue;
          const out = this.filtered(w, item.event);
          if (out) this.safeCall(w.listener, out);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private safeCall(listener: WatchListener, e: WatchEvent): void {
    try {
      listener(e);
    } catch (err) {
      this.logger?.error({ err }, 'watch listener threw; the write it observed is committed');
    }
  }

  /** What one watcher sees of a change: selector transitions become ADDED / DELETED. */
  private filtered(w: Watcher, e: StoreEvent): WatchEvent | undefined {
    const match = (o: KubeObject | undefined): boolean =>
      o !== undefined
      && (w.namespace === undefined || o.metadata.namespace === w.namespace)
      && matchesLabels(w.labels, o.metadata.labels)
      && matchesFields(w.fields, o);
    switch (e.type) {
      case 'ADDED': return match(e.object) ? { type: 'ADDED', object: e.object } : undefined;
      case 'DELETED': return match(e.previous ?? e.object) ? { type: 'DELETED', object: e.object } : undefined;
      case 'MODIFIED': {
        const now = match(e.object);
        const before = match(e.previous);
        if (now && before) return { type: 'MODIFIED', object: e.object };
        if (now) return { type: 'ADDED', object: e.object };
        if (before) return { type: 'DELETED', object: e.object };
        return undefined;
      }
    }
  }
}

/**
 * The store freezes what it keeps, so it never keeps the caller's objects. The JSON round trip
 * also turns typed client objects (Date fields) into the wire form the store holds.
 */
function ownedCopy(o: KubeObject): KubeObject {
  return JSON.parse(JSON.stringify(o)) as KubeObject;
}

/** Index of the first key of the sorted `keys` after `key` (binary search). */
function firstAfter(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function nodeNameOf(pod: KubeObject): string {
  const spec = pod.spec;
  return isPlainObject(spec) && typeof spec.nodeName === 'string' ? spec.nodeName : '';
}
