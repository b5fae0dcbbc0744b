/** URL path → what it addresses, following the apiserver's path layout. Pure. */
import { type ResourceDef, resourcesIn } from './resources.js';

export type Route =
  | { kind: 'version' }
  | { kind: 'health' }
  | { kind: 'api' }
  | { kind: 'apis' }
  | { kind: 'group'; group: string }
  | { kind: 'resources'; group: string; version: string }
  | { kind: 'object'; def: ResourceDef; namespace?: string; name?: string; subresource?: string; watchPath: boolean }
  | { kind: 'unknown' };

function findDef(group: string, version: string, plural: string): ResourceDef | undefined {
  return resourcesIn(group, version).find((d) => d.plural === plural);
}

function objectRoute(group: string, version: string, rest: string[]): Route {
  let watchPath = false;
  if (rest[0] === 'watch') { watchPath = true; rest = rest.slice(1); }
  const [a, b, c, d, e, ...extra] = rest;
  if (a === undefined) return watchPath ? { kind: 'unknown' } : { kind: 'resources', group, version };
  if (extra.length > 0) return { kind: 'unknown' };
  if (a === 'namespaces' && b !== undefined && c !== undefined) {
    const def = findDef(group, version, c);
    if (def?.namespaced) {
      const r: Route = { kind: 'object', def, namespace: b, watchPath };
      if (d !== undefined) r.name = d;
      if (e !== undefined) r.subresource = e;
      return r;
    }
    // /api/v1/namespaces/<name>/status: a subresource of the namespace itself.
    if (group === '' && d === undefined) {
      const ns = findDef('', 'v1', 'namespaces');
      if (ns && ns.subresources.includes(c)) return { kind: 'object', def: ns, name: b, subresource: c, watchPath };
    }
    return { kind: 'unknown' };
  }
  const def = findDef(group, version, a);
  if (!def || d !== undefined) return { kind: 'unknown' };
  if (b === undefined) return { kind: 'object', def, watchPath };
  // A namespaced object is only addressable under its namespace.
  if (def.namespaced) return { kind: 'unknown' };
  const r: Route = { kind: 'object', def, name: b, watchPath };
  if (c !== undefined) r.subresource = c;
  return r;
}

export function route(pathname: string): Route {
  const segs = pathname.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
  const [root, x, y, ...rest] = segs;
  if (root === 'version' && x === undefined) return { kind: 'version' };
  if ((root === 'healthz' || root === 'livez' || root === 'readyz') && x === undefined) return { kind: 'health' };
  if (root === 'api') {
    if (x === undefined) return { kind: 'api' };
    if (x !== 'v1') return { kind: 'unknown' };
    return objectRoute('', 'v1', y === undefined ? [] : [y, ...rest]);
  }
  if (root === 'apis') {
    if (x === undefined) return { kind: 'apis' };
    if (y === undefined) return { kind: 'group', group: x };
    if (resourcesIn(x, y).length === 0) return { kind: 'unknown' };
    return objectRoute(x, y, rest);
  }
  return { kind: 'unknown' };
}
