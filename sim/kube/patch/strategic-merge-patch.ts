/**
 * Strategic merge patch for the types the simulator serves. The real apiserver reads the merge
 * strategy of each list from struct tags; here it is a table of the list fields that carry
 * `patchStrategy:"merge"` on Pod, Node, Namespace, Lease and Event (field names do not clash
 * across those types). Lists not in the table are replaced, as the apiserver does.
 * Directives: `$patch: replace|delete` (maps and list items), `$deleteFromPrimitiveList/<f>`,
 * `$retainKeys`; `$setElementOrder/<f>` is accepted and ignored (order is kept as merged).
 */
import { isPlainObject, setOwn } from '../object.js';
import { PatchError } from './patch-error.js';

/** List field → merge key. */
const MERGE_KEYS: Readonly<Record<string, string>> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  env: 'name',
  imagePullSecrets: 'name',
  resourceClaims: 'name',
  ports: 'containerPort',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  hostAliases: 'ip',
  conditions: 'type',
  addresses: 'type',
  podIPs: 'ip',
  ownerReferences: 'uid',
};

/** Lists of scalars merged as sets. */
const PRIMITIVE_MERGE = new Set(['finalizers']);

const DELETE = Symbol('delete');

function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((e) => !(isPlainObject(e) && '$patch' in e && Object.keys(e).length === 1)).map(stripDirectives);
  if (!isPlainObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith('$')) setOwn(out, k, stripDirectives(x));
  return out;
}

function mergeMap(original: unknown, patch: Record<string, unknown>): unknown {
  const directive = patch.$patch;
  if (directive === 'replace') return stripDirectives(patch);
  if (directive === 'delete') return DELETE;
  if (directive !== undefined && directive !== 'merge') throw new PatchError('malformed', `Unknown patch type: ${String(directive)}`);
  const out: Record<string, unknown> = {};
  if (isPlainObject(original)) for (const [k, v] of Object.entries(original)) setOwn(out, k, v);
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      if (!Array.isArray(v)) throw new PatchError('malformed', `${k} must be a list`);
      const cur = out[field];
      if (Array.isArray(cur)) out[field] = cur.filter((x) => !v.includes(x));
    }
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue;
    if (v === null) { delete out[k]; continue; }
    const own = Object.prototype.hasOwnProperty.call(out, k) ? out[k] : undefined;
    if (Array.isArray(v)) { setOwn(out, k, mergeList(k, own, v)); continue; }
    if (isPlainObject(v)) {
      const merged = mergeMap(own, v);
      if (merged === DELETE) delete out[k];
      else setOwn(out, k, merged);
      continue;
    }
    setOwn(out, k, v);
  }
  const retain = patch.$retainKeys;
  if (retain !== undefined) {
    if (!Array.isArray(retain)) throw new PatchError('malformed', '$retainKeys must be a list');
    for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  }
  return out;
}

function mergeList(field: string, original: unknown, patch: unknown[]): unknown[] {
  if (patch.some((e) => isPlainObject(e) && e.$patch === 'replace' && Object.keys(e).length === 1)) {
    return stripDirectives(patch) as unknown[];
  }
  const orig = Array.isArray(original) ? original : [];
  if (PRIMITIVE_MERGE.has(field)) {
    const out = [...orig];
    for (const x of patch) if (!out.includes(x)) out.push(x);
    return out;
  }
  const key = MERGE_KEYS[field];
  if (key === undefined) return stripDirectives(patch) as unknown[];
  const out: unknown[] = [...orig];
  for (const el of patch) {
    if (!isPlainObject(el)) throw new PatchError('failed', `the list ${field} must hold objects with merge key ${key}`);
    if (!Object.prototype.hasOwnProperty.call(el, key)) {
      throw new PatchError('failed', `map: ${JSON.stringify(el)} does not contain declared merge key: ${key}`);
    }
    const idx = out.findIndex((o) => isPlainObject(o) && o[key] === el[key]);
    if (el.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = mergeMap(out[idx], el);
    else out.push(stripDirectives(el));
  }
  return out;
}

/** Applies a strategic merge patch (parsed JSON object) to `target`. Throws {@link PatchError}. */
export function applyStrategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) throw new PatchError('malformed', 'a strategic merge patch must be a JSON object');
  const merged = mergeMap(target, patch);
  if (merged === DELETE) throw new PatchError('failed', 'cannot delete the whole object with a patch');
  return merged;
}
