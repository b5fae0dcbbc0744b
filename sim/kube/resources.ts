/**
 * The resource types the simulated API server serves, with the facts discovery, routing,
 * validation and field selectors need about each. One table, so adding a type is one entry.
 */

/** Store key of a resource: the plural name, qualified by group only where it is ambiguous. */
export type ResourceName = 'namespaces' | 'nodes' | 'pods' | 'leases' | 'events';

export interface ResourceDef {
  readonly name: ResourceName;
  /** URL plural. */
  readonly plural: string;
  readonly kind: string;
  readonly listKind: string;
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly singular: string;
  readonly subresources: readonly string[];
  /** Field labels the real apiserver accepts in a fieldSelector for this type (besides metadata.*). */
  readonly fieldLabels: readonly string[];
  /** Main-resource writes keep the old `status` (it has a status subresource). */
  readonly statusIsSubresource: boolean;
  readonly categories?: readonly string[];
}

export const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] as const;

export const RESOURCES: Readonly<Record<ResourceName, ResourceDef>> = {
  namespaces: {
    name: 'namespaces', plural: 'namespaces', kind: 'Namespace', listKind: 'NamespaceList', group: '', version: 'v1',
    namespaced: false, shortNames: ['ns'], singular: 'namespace', subresources: ['status'],
    fieldLabels: ['status.phase'], statusIsSubresource: true,
  },
  nodes: {
    name: 'nodes', plural: 'nodes', kind: 'Node', listKind: 'NodeList', group: '', version: 'v1',
    namespaced: false, shortNames: ['no'], singular: 'node', subresources: ['status'],
    fieldLabels: ['spec.unschedulable'], statusIsSubresource: true,
  },
  pods: {
    name: 'pods', plural: 'pods', kind: 'Pod', listKind: 'PodList', group: '', version: 'v1',
    namespaced: true, shortNames: ['po'], singular: 'pod', subresources: ['status', 'binding'],
    fieldLabels: [
      'spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork',
      'status.phase', 'status.podIP', 'status.nominatedNodeName',
    ],
    statusIsSubresource: true, categories: ['all'],
  },
  leases: {
    name: 'leases', plural: 'leases', kind: 'Lease', listKind: 'LeaseList', group: 'coordination.k8s.io', version: 'v1',
    namespaced: true, shortNames: [], singular: 'lease', subresources: [], fieldLabels: [], statusIsSubresource: false,
  },
  events: {
    name: 'events', plural: 'events', kind: 'Event', listKind: 'EventList', group: '', version: 'v1',
    namespaced: true, shortNames: ['ev'], singular: 'event', subresources: [],
    fieldLabels: [
      'involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid',
      'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath',
      'reason', 'reportingComponent', 'source', 'type',
    ],
    statusIsSubresource: false,
  },
};

export const RESOURCE_NAMES = Object.keys(RESOURCES) as ResourceName[];

export function apiVersionOf(def: ResourceDef): string {
  return def.group === '' ? def.version : `${def.group}/${def.version}`;
}

/** `nodes`, `leases.coordination.k8s.io` — how Status messages name a resource. */
export function qualifiedResource(def: ResourceDef): string {
  return def.group === '' ? def.plural : `${def.plural}.${def.group}`;
}

export function isResourceName(s: string): s is ResourceName {
  return Object.prototype.hasOwnProperty.call(RESOURCES, s);
}

/** Resources served under one group/version, e.g. ('', 'v1') or ('coordination.k8s.io', 'v1'). */
export function resourcesIn(group: string, version: string): ResourceDef[] {
  return RESOURCE_NAMES.map((n) => RESOURCES[n]).filter((d) => d.group === group && d.version === version);
}
