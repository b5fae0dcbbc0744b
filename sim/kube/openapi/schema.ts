/**
 * OpenAPI schema building blocks for the simulator's published API (Swagger 2.0 shape, refs to
 * `#/definitions/…`; the v3 documents rewrite refs to `#/components/schemas/…`). The Kubernetes
 * extensions that clients act on are kept: `x-kubernetes-group-version-kind` (kubectl finds a
 * kind's schema by it), `x-kubernetes-patch-merge-key` / `-patch-strategy` (strategic merge patch
 * in `kubectl apply`), `x-kubernetes-list-type` / `-list-map-keys`, `x-kubernetes-map-type`.
 */
export interface Schema {
  type?: string;
  format?: string;
  description?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  enum?: string[];
  $ref?: string;
  [extension: `x-${string}`]: unknown;
}

export const str: Schema = { type: 'string' };
export const int32: Schema = { type: 'integer', format: 'int32' };
export const int64: Schema = { type: 'integer', format: 'int64' };
export const bool: Schema = { type: 'boolean' };
export const num: Schema = { type: 'number', format: 'double' };

export const ref = (name: string): Schema => ({ $ref: `#/definitions/${name}` });
export const mapOf = (values: Schema): Schema => ({ type: 'object', additionalProperties: values });
export const strMap: Schema = mapOf(str);

export function obj(properties: Record<string, Schema>, o: { description?: string; required?: string[]; atomic?: boolean } = {}): Schema {
  const s: Schema = { type: 'object', properties };
  if (o.description) s.description = o.description;
  if (o.required?.length) s.required = o.required;
  if (o.atomic) s['x-kubernetes-map-type'] = 'atomic';
  return s;
}

/** A list; `map` keys make it a list-map (merged by key in strategic merge patch). */
export function list(items: Schema, o: { map?: string[]; mergeKey?: string; strategy?: string; set?: boolean } = {}): Schema {
  const s: Schema = { type: 'array', items };
  if (o.map) { s['x-kubernetes-list-type'] = 'map'; s['x-kubernetes-list-map-keys'] = o.map; }
  else if (o.set) s['x-kubernetes-list-type'] = 'set';
  else s['x-kubernetes-list-type'] = 'atomic';
  if (o.mergeKey) s['x-kubernetes-patch-merge-key'] = o.mergeKey;
  if (o.strategy ?? (o.mergeKey ? 'merge' : undefined)) s['x-kubernetes-patch-strategy'] = o.strategy ?? 'merge';
  return s;
}

/**
 * An object the simulator publishes but does not model field by field (it stores it as sent):
 * named as such in its description, and field validation does not look inside it.
 */
export function opaque(description: string): Schema {
  return { type: 'object', description: `${description} (not modelled field by field by the Loom simulator)`, 'x-kubernetes-preserve-unknown-fields': true };
}

export const gvk = (group: string, version: string, kind: string) => [{ group, version, kind }];
