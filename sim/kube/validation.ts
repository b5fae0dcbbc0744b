/**
 * Object validation the real apiserver does and Loom could trip over: names, label/annotation
 * syntax, pod containers, pod spec immutability. Pure: returns the causes of a 422.
 */
import type { KubeObject } from './object.js';
import { isPlainObject, jsonEqual } from './object.js';
import type { ResourceDef } from './resources.js';
import type { StatusCause } from './status.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export const isDnsLabel = (s: string): boolean => s.length <= 63 && DNS_LABEL.test(s);
export const isDnsSubdomain = (s: string): boolean => s.length <= 253 && DNS_SUBDOMAIN.test(s);

/** Label / annotation key: `[prefix/]name`, prefix a DNS subdomain, name ≤ 63. */
export function isQualifiedName(key: string): boolean {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && !isDnsSubdomain(prefix)) return false;
  return name.length > 0 && name.length <= 63 && QUALIFIED_NAME_PART.test(name);
}

export const isLabelValue = (v: string): boolean => v.length <= 63 && LABEL_VALUE.test(v);

const TOTAL_ANNOTATION_LIMIT = 256 * 1024;

function required(field: string): StatusCause {
  return { reason: 'FieldValueRequired', message: 'Required value', field };
}

function invalidValue(field: string, value: unknown, why: string): StatusCause {
  return { reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(value)}: ${why}`, field };
}

function validateMeta(def: ResourceDef, obj: KubeObject, out: StatusCause[]): void {
  const m = obj.metadata;
  const name = m.name;
  if (typeof name !== 'string' || name === '') {
    out.push({ ...required('metadata.name'), message: 'Required value: name or generateName is required' });
  } else {
    const ok = def.name === 'namespaces' ? isDnsLabel(name) : isDnsSubdomain(name);
    if (!ok) {
      out.push(invalidValue('metadata.name', name,
        def.name === 'namespaces'
          ? "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
          : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"));
    }
  }
  for (const [field, map] of [['metadata.labels', m.labels], ['metadata.annotations', m.annotations]] as const) {
    if (map === undefined || map === null) continue;
    if (!isPlainObject(map)) { out.push(invalidValue(field, map, 'must be a map of string keys to string values')); continue; }
    let size = 0;
    for (const [k, v] of Object.entries(map)) {
      if (!isQualifiedName(k)) out.push(invalidValue(field, k, 'name part must consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character'));
      if (typeof v !== 'string') { out.push(invalidValue(`${field}.${k}`, v, 'must be a string')); continue; }
      if (field === 'metadata.labels' && !isLabelValue(v)) {
        out.push(invalidValue(field, v, "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"));
      }
      size += k.length + v.length;
    }
    if (field === 'metadata.annotations' && size > TOTAL_ANNOTATION_LIMIT) {
      out.push({ reason: 'FieldValueTooLong', message: `Too long: must have at most ${TOTAL_ANNOTATION_LIMIT} bytes`, field });
    }
  }
  if (m.finalizers !== undefined && !(Array.isArray(m.finalizers) && m.finalizers.every((f) => typeof f === 'string'))) {
    out.push(invalidValue('metadata.finalizers', m.finalizers, 'must be a list of strings'));
  }
}

function validatePodSpec(obj: KubeObject, out: StatusCause[]): void {
  const spec = obj.spec;
  if (!isPlainObject(spec)) { out.push(required('spec')); return; }
  const containers = spec.containers;
  if (!Array.isArray(containers) || containers.length === 0) { out.push(required('spec.containers')); return; }
  const seen = new Set<string>();
  containers.forEach((c, i) => {
    const f = `spec.containers[${i}]`;
    if (!isPlainObject(c)) { out.push(invalidValue(f, c, 'must be an object')); return; }
    if (typeof c.name !== 'string' || c.name === '') out.push(required(`${f}.name`));
    else if (!isDnsLabel(c.name)) out.push(invalidValue(`${f}.name`, c.name, 'a lowercase RFC 1123 label is required'));
    else if (seen.has(c.name)) out.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(c.name)}`, field: `${f}.name` });
    else seen.add(c.name);
    if (typeof c.image !== 'string' || c.image === '') out.push(required(`${f}.image`));
  });
  if (spec.nodeName !== undefined && (typeof spec.nodeName !== 'string' || (spec.nodeName !== '' && !isDnsSubdomain(spec.nodeName)))) {
    out.push(invalidValue('spec.nodeName', spec.nodeName, 'must be a valid node name'));
  }
}

function validateLeaseSpec(obj: KubeObject, out: StatusCause[]): void {
  const spec = obj.spec;
  if (spec === undefined) return;
  if (!isPlainObject(spec)) { out.push(invalidValue('spec', spec, 'must be an object')); return; }
  const d = spec.leaseDurationSeconds;
  if (d !== undefined && d !== null && (typeof d !== 'number' || !Number.isInteger(d) || d <= 0)) {
    out.push(invalidValue('spec.leaseDurationSeconds', d, 'must be greater than 0'));
  }
  const t = spec.leaseTransitions;
  if (t !== undefined && t !== null && (typeof t !== 'number' || !Number.isInteger(t) || t < 0)) {
    out.push(invalidValue('spec.leaseTransitions', t, 'must be greater than or equal to 0'));
  }
}

function validateEvent(obj: KubeObject, out: StatusCause[]): void {
  const io = obj.involvedObject;
  if (io !== undefined && !isPlainObject(io)) out.push(invalidValue('involvedObject', io, 'must be an object'));
  const ns = isPlainObject(io) ? io.namespace : undefined;
  if (typeof ns === 'string' && ns !== '' && ns !== obj.metadata.namespace) {
    out.push(invalidValue('involvedObject.namespace', ns, 'does not match event.namespace'));
  }
}

/** Causes that make a create/update of this object a 422 (empty = valid). */
export function validateObject(def: ResourceDef, obj: KubeObject): StatusCause[] {
  const out: StatusCause[] = [];
  validateMeta(def, obj, out);
  if (def.name === 'pods') validatePodSpec(obj, out);
  if (def.name === 'leases') validateLeaseSpec(obj, out);
  if (def.name === 'events') validateEvent(obj, out);
  return out;
}

/**
 * A pod's spec is immutable after create except container images, activeDeadlineSeconds and
 * added tolerations (ValidatePodUpdate). Binding to a node goes through the `binding` subresource.
 */
export function validatePodSpecUpdate(oldObj: KubeObject, newObj: KubeObject): StatusCause[] {
  const strip = (spec: unknown): unknown => {
    if (!isPlainObject(spec)) return spec;
    const s: Record<string, unknown> = { ...spec };
    delete s.activeDeadlineSeconds;
    delete s.tolerations;
    for (const key of ['containers', 'initContainers']) {
      const list = s[key];
      if (Array.isArray(list)) s[key] = list.map((c) => (isPlainObject(c) ? { ...c, image: undefined } : c));
    }
    return s;
  };
  if (jsonEqual(strip(oldObj.spec), strip(newObj.spec))) return [];
  return [{
    reason: 'FieldValueForbidden',
    message: 'Forbidden: pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations)',
    field: 'spec',
  }];
}

/** metav1.MicroTime: RFC 3339 with exactly six fractional digits (Go's RFC3339Micro layout). */
const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/;

const MICRO_TIME_FIELDS: Readonly<Record<string, ReadonlyArray<readonly string[]>>> = {
  leases: [['spec', 'acquireTime'], ['spec', 'renewTime']],
  events: [['eventTime'], ['series', 'lastObservedTime']],
};

/**
 * MicroTime fields the apiserver cannot decode (it answers 400 before validation). Catches the
 * classic client bug of sending `Date.toISOString()` (milliseconds) where MicroTime is required.
 */
/** resource.Quantity's decoder (`quantities must match the regular expression …`). */
const QUANTITY = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;
const QUANTITY_MESSAGE = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

function quantityMaps(resource: string, obj: KubeObject): [string, unknown][] {
  const maps: [string, unknown][] = [];
  if (resource === 'pods' && isPlainObject(obj.spec)) {
    for (const key of ['containers', 'initContainers'] as const) {
      const list = obj.spec[key];
      if (!Array.isArray(list)) continue;
      list.forEach((c, i) => {
        if (!isPlainObject(c) || !isPlainObject(c.resources)) return;
        maps.push([`spec.${key}[${i}].resources.requests`, c.resources.requests], [`spec.${key}[${i}].resources.limits`, c.resources.limits]);
      });
    }
    maps.push(['spec.overhead', obj.spec.overhead]);
  }
  if (resource === 'nodes' && isPlainObject(obj.status)) {
    maps.push(['status.capacity', obj.status.capacity], ['status.allocatable', obj.status.allocatable]);
  }
  return maps;
}

/**
 * Values the apiserver cannot even decode (400, before validation): MicroTimes without six
 * fractional digits, quantities that are not quantities.
 */
export function microTimeDecodeErrors(resource: string, obj: KubeObject): string[] {
  const out: string[] = [];
  for (const [field, map] of quantityMaps(resource, obj)) {
    if (!isPlainObject(map)) continue;
    for (const [name, v] of Object.entries(map)) {
      if (typeof v !== 'string' || !QUANTITY.test(v)) out.push(`${field}[${name}]: ${QUANTITY_MESSAGE} (got ${JSON.stringify(v)})`);
    }
  }
  for (const path of MICRO_TIME_FIELDS[resource] ?? []) {
    let v: unknown = obj;
    for (const p of path) v = isPlainObject(v) ? v[p] : undefined;
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string' || !MICRO_TIME.test(v)) {
      out.push(`${path.join('.')}: parsing time ${JSON.stringify(v)} as "2006-01-02T15:04:05.000000Z07:00": MicroTime needs exactly six fractional digits`);
    }
  }
  return out;
}
