/**
 * The OpenAPI documents the simulator publishes, built once from the resource table and the
 * schemas: `/openapi/v2` (Swagger 2.0, every path) and `/openapi/v3` (an index of one document
 * per group-version, each with its paths and the schemas they use). kubectl reads them to
 * validate (it sends `fieldValidation=Strict` when the PATCH operation of a kind declares that
 * parameter), to compute `kubectl apply`'s strategic merge patch and for `kubectl explain`.
 */
import { createHash } from 'node:crypto';
import { PATCH_CONTENT_TYPES } from '../patch/index.js';
import { RESOURCE_NAMES, RESOURCES, type ResourceDef, apiVersionOf } from '../resources.js';
import { SERVER_VERSION } from '../discovery.js';
import {
  BINDING_DEFINITION, DEFINITIONS, DELETE_OPTIONS_DEFINITION, KIND_DEFINITION, LIST_DEFINITION, PATCH_DEFINITION,
  STATUS_DEFINITION, WATCH_EVENT_DEFINITION,
} from './definitions.js';
import type { Schema } from './schema.js';

type Json = Record<string, unknown>;

interface Param { name: string; in: 'query' | 'path' | 'body'; type?: string; required?: boolean; description: string; uniqueItems?: boolean; schema?: Schema }

const q = (name: string, type: string, description: string): Param => ({ name, in: 'query', type, uniqueItems: true, description });
const PRETTY = q('pretty', 'string', "If 'true', then the output is pretty printed.");
const DRY_RUN = q('dryRun', 'string', 'When present, indicates that modifications should not be persisted (not supported by the Loom simulator: answered 400).');
const FIELD_MANAGER = q('fieldManager', 'string', 'fieldManager is a name associated with the actor or entity that is making these changes.');
const FIELD_VALIDATION = q('fieldValidation', 'string',
  'fieldValidation instructs the server on how to handle objects in the request containing unknown fields: Ignore, Warn (the default) or Strict (an error naming every unknown field).');
const FORCE = q('force', 'boolean', 'Force is going to "force" Apply requests (server-side apply is not served by the Loom simulator).');
const LIST_PARAMS = [
  q('allowWatchBookmarks', 'boolean', 'allowWatchBookmarks requests watch events with type "BOOKMARK".'),
  q('continue', 'string', 'The continue option should be set when retrieving more results from the server.'),
  q('fieldSelector', 'string', 'A selector to restrict the list of returned objects by their fields.'),
  q('labelSelector', 'string', 'A selector to restrict the list of returned objects by their labels.'),
  q('limit', 'integer', 'limit is a maximum number of responses to return for a list call.'),
  q('resourceVersion', 'string', 'resourceVersion sets a constraint on what resource versions a request may be served from.'),
  q('resourceVersionMatch', 'string', 'resourceVersionMatch determines how resourceVersion is applied to list calls.'),
  q('sendInitialEvents', 'boolean', 'sendInitialEvents=true may be set together with watch=true.'),
  q('timeoutSeconds', 'integer', 'Timeout for the list/watch call.'),
  q('watch', 'boolean', 'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.'),
];
const pathParam = (name: string, description: string): Param => ({ name, in: 'path', type: 'string', required: true, uniqueItems: true, description });
const body = (def: string): Param => ({ name: 'body', in: 'body', required: true, schema: { $ref: `#/definitions/${def}` }, description: '' });

const JSON_TYPES = ['application/json', 'application/yaml'];
const ref = (def: string): Schema => ({ $ref: `#/definitions/${def}` });

interface Op { action: string; summary: string; params: Param[]; consumes?: string[]; ok: Record<string, string>; kind: ResourceDef; sub?: string; id: string }

function operation(o: Op): Json {
  const gv = { group: o.kind.group, version: o.kind.version, kind: o.sub === 'binding' ? 'Binding' : o.kind.kind };
  const responses: Json = {};
  for (const [code, def] of Object.entries(o.ok)) responses[code] = { description: code === '201' ? 'Created' : code === '202' ? 'Accepted' : 'OK', schema: ref(def) };
  responses['401'] = { description: 'Unauthorized' };
  return {
    description: o.summary,
    consumes: o.consumes ?? ['*/*'],
    produces: [...JSON_TYPES],
    schemes: ['https'],
    tags: [o.kind.group === '' ? `core_${o.kind.version}` : `${o.kind.group.split('.')[0]}_${o.kind.version}`],
    operationId: o.id,
    parameters: o.params,
    responses,
    'x-kubernetes-action': o.action,
    'x-kubernetes-group-version-kind': gv,
  };
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const opId = (verb: string, d: ResourceDef, scope: string, suffix = '') =>
  `${verb}${d.group === '' ? 'Core' : cap(d.group.split('.')[0]!)}${cap(d.version)}${scope}${d.kind}${suffix}`;

/** Every path of one resource, Swagger 2.0 shape. */
function resourcePaths(d: ResourceDef): Record<string, Json> {
  const prefix = d.group === '' ? `/api/${d.version}` : `/apis/${d.group}/${d.version}`;
  const obj = KIND_DEFINITION[d.name]!;
  const listDef = LIST_DEFINITION[d.name]!;
  const nsScope = d.namespaced ? 'Namespaced' : '';
  const coll = d.namespaced ? `${prefix}/namespaces/{namespace}/${d.plural}` : `${prefix}/${d.plural}`;
  const item = `${coll}/{name}`;
  const scopeParams = d.namespaced ? [pathParam('namespace', 'object name and auth scope, such as for teams and projects')] : [];
  const nameParam = pathParam('name', `name of the ${d.kind}`);
  const writeParams = [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION];
  const patchConsumes = Object.keys(PATCH_CONTENT_TYPES);
  const paths: Record<string, Json> = {};
  paths[coll] = {
    get: operation({ action: 'list', summary: `list or watch objects of kind ${d.kind}`, params: LIST_PARAMS, ok: { 200: listDef }, kind: d, id: opId('list', d, nsScope) }),
    post: operation({ action: 'post', summary: `create a ${d.kind}`, params: [body(obj), ...writeParams], ok: { 200: obj, 201: obj, 202: obj }, kind: d, id: opId('create', d, nsScope) }),
    delete: operation({ action: 'deletecollection', summary: `delete collection of ${d.kind}`, params: [body(DELETE_OPTIONS_DEFINITION), ...LIST_PARAMS.filter((p) => p.name !== 'watch'), DRY_RUN], ok: { 200: STATUS_DEFINITION }, kind: d, id: opId('deletecollection', d, nsScope) }),
    parameters: [...scopeParams, PRETTY],
  };
  paths[item] = {
    get: operation({ action: 'get', summary: `read the specified ${d.kind}`, params: [], ok: { 200: obj }, kind: d, id: opId('read', d, nsScope) }),
    put: operation({ action: 'put', summary: `replace the specified ${d.kind}`, params: [body(obj), ...writeParams], ok: { 200: obj, 201: obj }, kind: d, id: opId('replace', d, nsScope) }),
    patch: operation({ action: 'patch', summary: `partially update the specified ${d.kind}`, params: [body(PATCH_DEFINITION), ...writeParams, FORCE], consumes: patchConsumes, ok: { 200: obj, 201: obj }, kind: d, id: opId('patch', d, nsScope) }),
    delete: operation({ action: 'delete', summary: `delete a ${d.kind}`, params: [body(DELETE_OPTIONS_DEFINITION), DRY_RUN, q('gracePeriodSeconds', 'integer', 'The duration in seconds before the object should be deleted.'), q('propagationPolicy', 'string', 'Whether and how garbage collection will be performed.')], ok: { 200: d.name === 'pods' ? obj : STATUS_DEFINITION, 202: obj }, kind: d, id: opId('delete', d, nsScope) }),
    parameters: [nameParam, ...scopeParams, PRETTY],
  };
  for (const sub of d.subresources) {
    if (sub === 'binding') {
      paths[`${item}/binding`] = {
        post: operation({ action: 'post', summary: `create binding of a ${d.kind}`, params: [body(BINDING_DEFINITION), ...writeParams], ok: { 200: BINDING_DEFINITION, 201: BINDING_DEFINITION, 202: BINDING_DEFINITION }, kind: d, sub, id: opId('create', d, nsScope, 'Binding') }),
        parameters: [pathParam('name', 'name of the Binding'), ...scopeParams, PRETTY],
      };
    } else {
      paths[`${item}/${sub}`] = {
        get: operation({ action: 'get', summary: `read ${sub} of the specified ${d.kind}`, params: [], ok: { 200: obj }, kind: d, id: opId('read', d, nsScope, cap(sub)) }),
        put: operation({ action: 'put', summary: `replace ${sub} of the specified ${d.kind}`, params: [body(obj), ...writeParams], ok: { 200: obj, 201: obj }, kind: d, id: opId('replace', d, nsScope, cap(sub)) }),
        patch: operation({ action: 'patch', summary: `partially update ${sub} of the specified ${d.kind}`, params: [body(PATCH_DEFINITION), ...writeParams, FORCE], consumes: patchConsumes, ok: { 200: obj, 201: obj }, kind: d, id: opId('patch', d, nsScope, cap(sub)) }),
        parameters: [nameParam, ...scopeParams, PRETTY],
      };
    }
  }
  if (d.namespaced) {
    paths[`${prefix}/${d.plural}`] = {
      get: operation({ action: 'list', summary: `list or watch objects of kind ${d.kind}`, params: LIST_PARAMS, ok: { 200: listDef }, kind: d, id: opId('list', d, '', 'ForAllNamespaces') }),
      parameters: [PRETTY],
    };
  }
  return paths;
}

/** Names of the definitions a schema reaches, itself included. */
function closure(names: string[]): string[] {
  const seen = new Set<string>();
  const visit = (s: unknown): void => {
    if (Array.isArray(s)) { s.forEach(visit); return; }
    if (s === null || typeof s !== 'object') return;
    for (const [k, v] of Object.entries(s)) {
      if (k === '$ref' && typeof v === 'string') {
        const name = v.replace(/^#\/definitions\//, '');
        if (!seen.has(name)) { seen.add(name); visit(DEFINITIONS[name]); }
      } else visit(v);
    }
  };
  for (const n of names) { seen.add(n); visit(DEFINITIONS[n]); }
  return [...seen].sort();
}

const groupVersions = (): { key: string; defs: ResourceDef[] }[] => {
  const by = new Map<string, ResourceDef[]>();
  for (const n of RESOURCE_NAMES) {
    const d = RESOURCES[n];
    const key = d.group === '' ? `api/${d.version}` : `apis/${d.group}/${d.version}`;
    by.set(key, [...(by.get(key) ?? []), d]);
  }
  return [...by.entries()].map(([key, defs]) => ({ key, defs }));
};

const INFO = { title: 'Kubernetes', version: SERVER_VERSION.gitVersion };
const SECURITY_V2 = { BearerToken: { description: 'Bearer Token authentication', in: 'header', name: 'authorization', type: 'apiKey' } };

/** The Swagger 2.0 document (`/openapi/v2`). */
export function openApiV2(): Json {
  const paths: Record<string, Json> = {};
  for (const n of RESOURCE_NAMES) Object.assign(paths, resourcePaths(RESOURCES[n]));
  return {
    swagger: '2.0',
    info: INFO,
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    definitions: Object.fromEntries(Object.keys(DEFINITIONS).sort().map((k) => [k, DEFINITIONS[k]])),
    securityDefinitions: SECURITY_V2,
    security: [{ BearerToken: [] }],
  };
}

/** A Swagger 2.0 schema as OpenAPI 3.0 (refs to components). */
function toV3(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toV3);
  if (v === null || typeof v !== 'object') return v;
  const out: Json = {};
  for (const [k, x] of Object.entries(v)) out[k] = k === '$ref' && typeof x === 'string' ? x.replace('#/definitions/', '#/components/schemas/') : toV3(x);
  return out;
}

/** A Swagger 2.0 operation as OpenAPI 3.0: the body parameter becomes a requestBody, responses get content. */
function operationV3(op: Json): Json {
  const params = (op.parameters as Param[]).filter((p) => p.in !== 'body').map((p) => {
    const { type, uniqueItems: _u, in: where, ...rest } = p;
    return { ...rest, in: where, schema: { type, uniqueItems: true } };
  });
  const bodyParam = (op.parameters as Param[]).find((p) => p.in === 'body');
  const produces = op.produces as string[];
  const responses: Json = {};
  for (const [code, r] of Object.entries(op.responses as Record<string, Json>)) {
    responses[code] = r.schema ? { description: r.description, content: Object.fromEntries(produces.map((t) => [t, { schema: toV3(r.schema) }])) } : { description: r.description };
  }
  const { consumes, produces: _p, schemes: _s, parameters: _params, responses: _r, ...rest } = op;
  return {
    ...rest,
    parameters: params,
    ...(bodyParam ? { requestBody: { required: true, content: Object.fromEntries((consumes as string[]).map((t) => [t, { schema: toV3(bodyParam.schema) }])) } } : {}),
    responses,
  };
}

function pathItemV3(item: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(item)) {
    if (k === 'parameters') out.parameters = (v as Param[]).map(({ type, uniqueItems: _u, ...rest }) => ({ ...rest, schema: { type, uniqueItems: true } }));
    else out[k] = operationV3(v as Json);
  }
  return out;
}

export interface V3Documents {
  /** `/openapi/v3`: group-version → `serverRelativeURL` (with the document's hash). */
  index: Json;
  /** `api/v1`, `apis/coordination.k8s.io/v1` → [document JSON text, hash]. */
  documents: Map<string, { text: string; hash: string }>;
}

/** The OpenAPI 3.0 documents (`/openapi/v3` and `/openapi/v3/<group-version>`). */
export function openApiV3(): V3Documents {
  const documents = new Map<string, { text: string; hash: string }>();
  const paths: Json = {};
  for (const { key, defs } of groupVersions()) {
    const raw: Record<string, Json> = {};
    for (const d of defs) Object.assign(raw, resourcePaths(d));
    const used = closure([STATUS_DEFINITION, DELETE_OPTIONS_DEFINITION, PATCH_DEFINITION, WATCH_EVENT_DEFINITION,
      ...defs.flatMap((d) => [KIND_DEFINITION[d.name]!, LIST_DEFINITION[d.name]!]), ...(defs.some((d) => d.subresources.includes('binding')) ? [BINDING_DEFINITION] : [])]);
    const doc = {
      openapi: '3.0.0',
      info: INFO,
      paths: Object.fromEntries(Object.entries(raw).sort(([a], [b]) => a.localeCompare(b)).map(([p, item]) => [p, pathItemV3(item)])),
      components: {
        schemas: Object.fromEntries(used.map((n) => [n, toV3(DEFINITIONS[n])])),
        securitySchemes: { BearerToken: { type: 'apiKey', description: 'Bearer Token authentication', name: 'authorization', in: 'header' } },
      },
    };
    const text = JSON.stringify(doc);
    const hash = createHash('sha512').update(text).digest('hex').slice(0, 128).toUpperCase();
    documents.set(key, { text, hash });
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
  }
  return { index: { paths }, documents };
}

export { apiVersionOf };
