/**
 * Legacy (non-aggregated) discovery documents: `/version`, `/api`, `/api/v1`, `/apis`,
 * `/apis/<group>`, `/apis/<group>/<version>`. kubectl asks for aggregated discovery first and
 * falls back to these when the answer is plain `application/json`.
 */
import { RESOURCE_NAMES, RESOURCES, VERBS, type ResourceDef, resourcesIn } from './resources.js';

export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-loom-sim',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
} as const;

export function apiVersions(serverAddress: string): Record<string, unknown> {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

/** Named groups (the core group is served under /api). */
export function groupNames(): string[] {
  return [...new Set(RESOURCE_NAMES.map((n) => RESOURCES[n].group).filter((g) => g !== ''))].sort();
}

function groupVersions(group: string): string[] {
  return [...new Set(RESOURCE_NAMES.map((n) => RESOURCES[n]).filter((d) => d.group === group).map((d) => d.version))];
}

export function apiGroup(group: string): Record<string, unknown> | undefined {
  const versions = groupVersions(group);
  if (versions.length === 0) return undefined;
  const gv = versions.map((version) => ({ groupVersion: `${group}/${version}`, version }));
  return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions: gv, preferredVersion: gv[0] };
}

export function apiGroupList(): Record<string, unknown> {
  const groups = groupNames().map((g) => {
    const { kind: _k, apiVersion: _a, ...rest } = apiGroup(g)!;
    return rest;
  });
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

function resourceEntries(def: ResourceDef): Record<string, unknown>[] {
  const main: Record<string, unknown> = {
    name: def.plural,
    singularName: def.singular,
    namespaced: def.namespaced,
    kind: def.kind,
    verbs: [...VERBS],
  };
  if (def.shortNames.length > 0) main.shortNames = [...def.shortNames];
  if (def.categories) main.categories = [...def.categories];
  const subs = def.subresources.map((sub) =>
    sub === 'binding'
      ? { name: `${def.plural}/binding`, singularName: '', namespaced: def.namespaced, kind: 'Binding', verbs: ['create'] }
      : { name: `${def.plural}/${sub}`, singularName: '', namespaced: def.namespaced, kind: def.kind, verbs: ['get', 'patch', 'update'] });
  return [main, ...subs];
}

export function apiResourceList(group: string, version: string): Record<string, unknown> | undefined {
  const defs = resourcesIn(group, version);
  if (defs.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group === '' ? version : `${group}/${version}`,
    resources: defs.flatMap(resourceEntries),
  };
}
