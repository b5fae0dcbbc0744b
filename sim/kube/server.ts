/**
 * The simulated Kubernetes API server: the real REST paths over node:http on top of
 * {@link KubeStore}. This file is the imperative shell — parse the request, call the store,
 * write JSON or a watch stream; every decision about objects lives in the store.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Logger, componentLogger, createLogger } from '../../log/logger.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, SERVER_VERSION } from './discovery.js';
import { writeKubeconfig } from './kubeconfig.js';
import { type KubeObject, isPlainObject } from './object.js';
import { PATCH_CONTENT_TYPES, patchTypeOf } from './patch/index.js';
import { type ResourceDef, apiVersionOf } from './resources.js';
import { type Route, route } from './routes.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { RequestStats } from './stats.js';
import {
  ApiError, badRequest, methodNotAllowed, notFound, pathNotFound, successStatus, unsupportedMediaType,
} from './status.js';
import { KubeStore, type WatchEvent } from './store.js';
import { toTable } from './table.js';
import { type RbacPolicy, type RequestAttributes, type UserInfo } from './rbac.js';
import { BINDING_DEFINITION, KIND_DEFINITION, fieldValidationOf, serveOpenApi, unknownFields, withoutUnknownFields } from './openapi/index.js';

export interface KubeApiServerOptions {
  host?: string;
  /** 0 (default) = an ephemeral port. */
  port?: number;
  /** Where to write `kubeconfig`; default a fresh temp dir, removed on stop. */
  kubeconfigDir?: string;
  logger?: Logger;
  /** Serve an existing store (e.g. one seeded before the server starts). */
  store?: KubeStore;
  /** Changes kept per type for watch resumption, when the server makes the store (default 50 000). */
  watchHistory?: number;
  /** Interval of BOOKMARK events on watches that allow them (default 5 000 ms). */
  bookmarkIntervalMs?: number;
  /** A watch whose unsent output exceeds this is closed, as the apiserver drops slow watchers (default 64 MiB). */
  maxWatchBacklogBytes?: number;
  /** Bearer token clients must send (default random). */
  token?: string;
  /**
   * Require the bearer token on API paths (default false: kubectl/client-go do not send bearer
   * tokens over plain http, and the apiserver's old insecure port was unauthenticated too).
   */
  requireToken?: boolean;
  /**
   * Authorize every request with this RBAC policy (sim/kube/rbac.ts): ServiceAccount tokens are
   * its users, the simulator's own token a cluster admin, no token `system:anonymous`.
   */
  rbac?: RbacPolicy;
}

const MAX_BODY_BYTES = 3 * 1024 * 1024;
const LIST_CHUNK_BYTES = 1 << 20;

/**
 * JSON of an object version sent on watches, computed once however many watchers receive it.
 * Lists do not use it: caching 150k pods' JSON would double the simulator's memory.
 */
const serialized = new WeakMap<object, string>();
function watchJson(o: KubeObject): string {
  let s = serialized.get(o);
  if (s === undefined) {
    s = JSON.stringify(o);
    serialized.set(o, s);
  }
  return s;
}

type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export function verbOf(method: string, r: Extract<Route, { kind: 'object' }>, query: URLSearchParams): Verb | undefined {
  const watching = r.watchPath || query.get('watch') === 'true' || query.get('watch') === '1';
  switch (method) {
    case 'GET': return r.name !== undefined ? (r.watchPath ? 'watch' : 'get') : watching ? 'watch' : 'list';
    case 'POST': return r.name === undefined || r.subresource === 'binding' ? 'create' : undefined;
    case 'PUT': return r.name !== undefined ? 'update' : undefined;
    case 'PATCH': return r.name !== undefined ? 'patch' : undefined;
    case 'DELETE': return r.name !== undefined ? 'delete' : 'deletecollection';
    default: return undefined;
  }
}

function mediaTypes(header: string | undefined): Array<{ type: string; params: Record<string, string> }> {
  if (!header) return [];
  return header.split(',').map((part) => {
    const [type, ...params] = part.split(';').map((s) => s.trim());
    const p: Record<string, string> = {};
    for (const kv of params) {
      const eq = kv.indexOf('=');
      if (eq > 0) p[kv.slice(0, eq).trim()] = kv.slice(eq + 1).trim();
    }
    return { type: (type ?? '').toLowerCase(), params: p };
  });
}

function wantsTable(accept: string | undefined): boolean {
  return mediaTypes(accept).some((m) => m.type === 'application/json' && m.params.as === 'Table' && m.params.g === 'meta.k8s.io');
}

function acceptsJson(accept: string | undefined): boolean {
  const types = mediaTypes(accept);
  if (types.length === 0) return true;
  return types.some((m) => m.type === 'application/json' || m.type === '*/*' || m.type === 'application/*');
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private' });
  res.end(text);
}

function sendObject(res: ServerResponse, code: number, o: KubeObject): void {
  const text = JSON.stringify(o);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private' });
  res.end(text);
}

function sendError(res: ServerResponse, err: ApiError): void {
  if (res.headersSent) { res.destroy(); return; }
  sendJson(res, err.code, err.toStatus());
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new ApiError(413, 'BadRequest', 'Request entity too large: limit is 3145728');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw badRequest('the request body is empty');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(`the body of the request could not be decoded as JSON: ${(err as Error).message}`);
  }
}

/** POST/PUT bodies must be JSON; no Content-Type defaults to JSON, as on the apiserver. */
function requireJsonContent(req: IncomingMessage): void {
  const ct = req.headers['content-type'];
  if (ct === undefined || ct === '') return;
  const base = ct.split(';')[0]!.trim().toLowerCase();
  if (base !== 'application/json') throw unsupportedMediaType(ct, ['application/json']);
}

function intParam(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw badRequest(`invalid value for ${name}: ${JSON.stringify(v)}`);
  return Number(v);
}

async function writeChunks(res: ServerResponse, parts: Iterable<string>): Promise<void> {
  let buf = '';
  for (const p of parts) {
    buf += p;
    if (buf.length >= LIST_CHUNK_BYTES) {
      const ok = res.write(buf);
      buf = '';
      if (!ok) {
        await new Promise<void>((resolve) => {
          const done = (): void => { res.off('drain', done); res.off('close', done); resolve(); };
          res.on('drain', done);
          res.on('close', done);
        });
      }
      if (res.destroyed) return;
    }
  }
  res.end(buf);
}

/** What a request asks for, as the apiserver's RequestInfo sees it (undefined: no verb, the handler answers 405). */
function requestAttributes(method: string, r: Route, url: URL): RequestAttributes | undefined {
  if (r.kind !== 'object') return { kind: 'nonResource', verb: method.toLowerCase(), path: url.pathname };
  const verb = verbOf(method, r, url.searchParams);
  if (!verb) return undefined;
  const a: RequestAttributes = { kind: 'resource', verb, apiGroup: r.def.group, resource: r.def.plural };
  if (r.subresource !== undefined) a.subresource = r.subresource;
  if (r.namespace !== undefined) a.namespace = r.namespace;
  // A list or watch narrowed to one object by name is authorized as that name.
  const byField = /(?:^|,)metadata\.name==?([^,]+)/.exec(url.searchParams.get('fieldSelector') ?? '')?.[1];
  const name = r.name ?? ((verb === 'list' || verb === 'watch') ? byField : undefined);
  if (name !== undefined) a.name = name;
  return a;
}

export class KubeApiServer {
  readonly stats = new RequestStats();
  /** Open watch streams → their close function. */
  private readonly watches = new Map<ServerResponse, () => void>();
  private readonly log: Logger;

  private constructor(
    readonly store: KubeStore,
    private readonly server: Server,
    readonly url: string,
    readonly kubeconfigPath: string,
    readonly token: string,
    private readonly options: KubeApiServerOptions,
    logger: Logger,
    private readonly ownedDir: string | undefined,
  ) {
    this.log = logger;
  }

  static async start(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
    const logger = options.logger ? componentLogger(options.logger, 'sim.kube') : createLogger('sim.kube');
    const storeOptions: ConstructorParameters<typeof KubeStore>[0] = { logger };
    if (options.watchHistory !== undefined) storeOptions.watchHistory = options.watchHistory;
    const store = options.store ?? new KubeStore(storeOptions);
    const token = options.token ?? randomBytes(16).toString('hex');
    const host = options.host ?? '127.0.0.1';
    let self: KubeApiServer | undefined;
    const server = createServer((req, res) => {
      void self!.handle(req, res);
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => { server.off('error', reject); resolve(); });
    });
    const addr = server.address() as AddressInfo;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}`;
    const ownedDir = options.kubeconfigDir ? undefined : await mkdtemp(join(tmpdir(), 'loom-kube-sim-'));
    const kubeconfigPath = await writeKubeconfig(options.kubeconfigDir ?? ownedDir!, url, token);
    self = new KubeApiServer(store, server, url, kubeconfigPath, token, options, logger, ownedDir);
    logger.info({ url, kubeconfigPath }, 'kubernetes api simulator listening');
    return self;
  }

  /** Closes open watch streams and the listener; removes the temp kubeconfig dir if it made one. */
  async stop(): Promise<void> {
    this.closeWatches();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    if (this.ownedDir) await rm(this.ownedDir, { recursive: true, force: true });
  }

  /**
   * Ends every open watch stream now, as an apiserver restart or a dropped connection would;
   * clients re-watch from their last version. Returns how many were closed.
   */
  closeWatches(): number {
    const n = this.watches.size;
    for (const close of [...this.watches.values()]) close();
    return n;
  }

  /** The RBAC policy the server enforces, if any (its denials are recorded). */
  get rbac(): RbacPolicy | undefined {
    return this.options.rbac;
  }

  /** Number of watch streams currently open over HTTP. */
  get openWatches(): number {
    return this.watches.size;
  }

  /** Authentication (bearer token) and RBAC authorization; throws the apiserver's 401/403. */
  private authorize(rbac: RbacPolicy, method: string, r: Route, url: URL, req: IncomingMessage): void {
    const header = req.headers.authorization;
    let user: UserInfo;
    if (header === undefined) user = { name: 'system:anonymous', groups: ['system:unauthenticated'] };
    else {
      const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
      const found = token === this.token ? { name: 'system:admin', groups: ['system:masters', 'system:authenticated'] } : token ? rbac.userOf(token) : undefined;
      if (!found) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
      user = found;
    }
    const attributes = requestAttributes(method, r, url);
    if (attributes) rbac.authorize(user, attributes);
  }

  private authorized(req: IncomingMessage): boolean {
    if (this.options.requireToken !== true) return true;
    return req.headers.authorization === `Bearer ${this.token}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const r = route(url.pathname);
      this.log.debug({ method, path: url.pathname, query: url.search }, 'request');
      if (this.options.rbac) this.authorize(this.options.rbac, method, r, url, req);
      if (r.kind === 'version' || r.kind === 'health') {
        if (method !== 'GET') throw methodNotAllowed(method);
        if (r.kind === 'version') sendJson(res, 200, SERVER_VERSION);
        else { res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }); res.end('ok'); }
        return;
      }
      if (!this.authorized(req)) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
      const openApi = serveOpenApi(method, url.pathname, url.searchParams, req.headers.accept);
      if (openApi) {
        this.stats.record('get', 'openapi', url.pathname.startsWith('/openapi/v2') ? 'v2' : 'v3');
        res.writeHead(openApi.status, { ...openApi.headers, 'Content-Length': String(Buffer.byteLength(openApi.body)) });
        res.end(method === 'HEAD' ? undefined : openApi.body);
        return;
      }
      switch (r.kind) {
        case 'api': return this.discovery(method, res, apiVersions(url.host));
        case 'apis': return this.discovery(method, res, apiGroupList());
        case 'group': return this.discovery(method, res, apiGroup(r.group));
        case 'resources': return this.discovery(method, res, apiResourceList(r.group, r.version));
        case 'unknown': throw pathNotFound();
        case 'object': return await this.handleObject(method, r, url.searchParams, req, res);
      }
    } catch (err) {
      if (err instanceof ApiError) {
        sendError(res, err);
      } else {
        this.log.error({ err, method, url: req.url }, 'internal error');
        sendError(res, new ApiError(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`));
      }
    }
  }

  private discovery(method: string, res: ServerResponse, doc: Record<string, unknown> | undefined): void {
    if (method !== 'GET') throw methodNotAllowed(method);
    if (!doc) throw pathNotFound();
    sendJson(res, 200, doc);
  }

  private async handleObject(
    method: string, r: Extract<Route, { kind: 'object' }>, q: URLSearchParams, req: IncomingMessage, res: ServerResponse,
  ): Promise<void> {
    const def = r.def;
    const verb = verbOf(method, r, q);
    this.stats.record(verb ?? method.toLowerCase(), def.name, r.subresource ?? '');
    if (!verb) throw methodNotAllowed(method);
    if (r.subresource !== undefined && !def.subresources.includes(r.subresource)) throw pathNotFound();
    if (r.subresource === 'binding' && verb !== 'create') throw methodNotAllowed(method);
    if (r.subresource !== undefined && (verb === 'delete' || verb === 'watch')) throw methodNotAllowed(method);
    if (!acceptsJson(req.headers.accept)) {
      throw new ApiError(406, 'NotAcceptable', `only the following media types are accepted: application/json, application/json;as=Table;v=v1;g=meta.k8s.io`);
    }
    if (q.get('dryRun')) throw badRequest('dryRun is not supported by the Loom Kubernetes simulator');
    const validation = fieldValidationOf(q.get('fieldValidation'));
    if (validation === undefined && (verb === 'create' || verb === 'update' || verb === 'patch')) {
      const options = verb === 'create' ? 'CreateOptions' : verb === 'update' ? 'UpdateOptions' : 'PatchOptions';
      throw new ApiError(422, 'Invalid', `${options}.meta.k8s.io "" is invalid: fieldValidation: Unsupported value: ${JSON.stringify(q.get('fieldValidation'))}: supported values: "Ignore", "Strict", "Warn"`);
    }
    /** The body as the apiserver decodes it: unknown fields refused (Strict), warned about (Warn) or dropped. */
    const decoded = <T>(definition: string, body: T, patch = false): T => {
      const unknown = validation === 'Ignore' ? [] : unknownFields(definition, body, { patch });
      if (unknown.length > 0 && validation === 'Strict') {
        throw badRequest(`${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`);
      }
      if (unknown.length > 0) res.setHeader('Warning', unknown.map((f) => `299 - ${JSON.stringify(`unknown field "${f}"`)}`));
      return withoutUnknownFields(definition, body, { patch });
    };
    const namespace = r.namespace;
    const selection = {
      ...(namespace !== undefined ? { namespace } : {}),
      ...(q.get('labelSelector') ? { labelSelector: q.get('labelSelector')! } : {}),
      ...(q.get('fieldSelector') ? { fieldSelector: q.get('fieldSelector')! } : {}),
    };
    switch (verb) {
      case 'get': {
        const o = this.store.get(def.name, namespace, r.name!);
        if (!o) throw notFound(def, r.name!);
        if (wantsTable(req.headers.accept)) {
          sendJson(res, 200, toTable(def, [o], { now: Date.now(), resourceVersion: o.metadata.resourceVersion!, includeObject: q.get('includeObject') ?? 'Metadata' }));
        } else sendObject(res, 200, o);
        return;
      }
      case 'list': return this.list(def, q, selection, req, res);
      case 'watch': {
        const sel = r.name !== undefined ? { ...selection, fieldSelector: [`metadata.name=${r.name}`, selection.fieldSelector].filter(Boolean).join(',') } : selection;
        return this.watch(def, q, sel, req, res);
      }
      case 'create': {
        requireJsonContent(req);
        const body = parseJsonBody(await readBody(req));
        if (r.subresource === 'binding') return this.bind(def, namespace!, r.name!, decoded(BINDING_DEFINITION, body), res);
        const obj = this.checkBody(def, decoded(KIND_DEFINITION[def.name]!, body), namespace);
        sendObject(res, 201, this.store.create(def.name, obj));
        return;
      }
      case 'update': {
        requireJsonContent(req);
        const obj = this.checkBody(def, decoded(KIND_DEFINITION[def.name]!, parseJsonBody(await readBody(req))), namespace);
        if (obj.metadata.name !== r.name) throw badRequest(`the name of the object (${String(obj.metadata.name ?? '')}) does not match the name on the URL (${r.name})`);
        const sub = r.subresource === 'status' ? { subresource: 'status' as const } : {};
        sendObject(res, 200, this.store.update(def.name, obj, sub));
        return;
      }
      case 'patch': {
        const ct = req.headers['content-type'] ?? '';
        const type = patchTypeOf(ct);
        if (!type) throw unsupportedMediaType(ct, Object.keys(PATCH_CONTENT_TYPES));
        const raw = parseJsonBody(await readBody(req));
        // Merge and strategic patches are partial objects of the kind; a JSON patch is a list of operations.
        const body = type === 'json' ? raw : decoded(KIND_DEFINITION[def.name]!, raw, true);
        const sub = r.subresource === 'status' ? { subresource: 'status' as const } : {};
        sendObject(res, 200, this.store.patch(def.name, namespace, r.name!, type, body, sub));
        return;
      }
      case 'delete': {
        const text = await readBody(req);
        const opts = text.trim() === '' ? {} : parseJsonBody(text);
        const pre = isPlainObject(opts) && isPlainObject(opts.preconditions) ? opts.preconditions : {};
        const preconditions = {
          ...(typeof pre.uid === 'string' ? { uid: pre.uid } : {}),
          ...(typeof pre.resourceVersion === 'string' ? { resourceVersion: pre.resourceVersion } : {}),
        };
        const { object, deleted } = this.store.delete(def.name, namespace, r.name!, preconditions);
        if (!deleted) sendObject(res, 202, object);
        else if (def.name === 'pods') sendObject(res, 200, object);
        else sendJson(res, 200, successStatus(def, r.name!, object.metadata.uid));
        return;
      }
      case 'deletecollection': {
        const items = this.store.deleteCollection(def.name, selection);
        sendJson(res, 200, { kind: def.listKind, apiVersion: apiVersionOf(def), metadata: { resourceVersion: this.store.resourceVersion }, items });
        return;
      }
    }
  }

  /** Body of a create/update: an object of this kind, its namespace defaulted from the URL. */
  private checkBody(def: ResourceDef, body: unknown, namespace: string | undefined): KubeObject {
    if (!isPlainObject(body)) throw badRequest(`the body of the request must be a ${def.kind} object`);
    if (body.kind !== undefined && body.kind !== def.kind) throw badRequest(`the kind in the body (${String(body.kind)}) does not match the kind on the URL (${def.kind})`);
    if (body.apiVersion !== undefined && body.apiVersion !== apiVersionOf(def)) {
      throw badRequest(`the API version in the body (${String(body.apiVersion)}) does not match the API version on the URL (${apiVersionOf(def)})`);
    }
    const meta = body.metadata === undefined ? {} : body.metadata;
    if (!isPlainObject(meta)) throw badRequest('metadata must be an object');
    const m = { ...meta };
    if (def.namespaced) {
      if (m.namespace !== undefined && m.namespace !== '' && m.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      if (namespace === undefined) throw methodNotAllowed('POST');
      m.namespace = namespace;
    } else {
      delete m.namespace;
    }
    return { ...body, metadata: m } as KubeObject;
  }

  private bind(def: ResourceDef, namespace: string, name: string, body: unknown, res: ServerResponse): void {
    if (!isPlainObject(body) || (body.kind !== undefined && body.kind !== 'Binding')) throw badRequest('the body of a binding must be a Binding');
    const target = isPlainObject(body.target) ? body.target : undefined;
    const nodeName = target?.name;
    if (typeof nodeName !== 'string' || nodeName === '') {
      throw new ApiError(422, 'Invalid', `Binding "${name}" is invalid: target.name: Required value`, { name, kind: 'Binding' });
    }
    if (target!.kind !== undefined && target!.kind !== '' && target!.kind !== 'Node') {
      throw new ApiError(422, 'Invalid', `Binding "${name}" is invalid: target.kind: Unsupported value: ${JSON.stringify(target!.kind)}`, { name, kind: 'Binding' });
    }
    this.store.bind(namespace, name, nodeName);
    sendJson(res, 201, { ...successStatus(def, name), code: 201 });
  }

  private async list(
    def: ResourceDef, q: URLSearchParams, selection: { namespace?: string; labelSelector?: string; fieldSelector?: string },
    req: IncomingMessage, res: ServerResponse,
  ): Promise<void> {
    const limit = intParam(q, 'limit');
    const cont = q.get('continue');
    const result = this.store.list(def.name, { ...selection, ...(limit !== undefined ? { limit } : {}), ...(cont ? { continue: cont } : {}) });
    if (wantsTable(req.headers.accept)) {
      const tableOpts: Parameters<typeof toTable>[2] = { now: Date.now(), resourceVersion: result.resourceVersion, includeObject: q.get('includeObject') ?? 'Metadata' };
      if (result.continue) tableOpts.continue = result.continue;
      if (result.remainingItemCount !== undefined) tableOpts.remainingItemCount = result.remainingItemCount;
      sendJson(res, 200, toTable(def, result.items, tableOpts));
      return;
    }
    const metadata: Record<string, unknown> = { resourceVersion: result.resourceVersion };
    if (result.continue) metadata.continue = result.continue;
    if (result.remainingItemCount !== undefined) metadata.remainingItemCount = result.remainingItemCount;
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    const head = `{"kind":"${def.listKind}","apiVersion":"${apiVersionOf(def)}","metadata":${JSON.stringify(metadata)},"items":[`;
    const items = result.items;
    function* parts(): Generator<string> {
      yield head;
      for (let i = 0; i < items.length; i++) yield i === 0 ? JSON.stringify(items[i]) : `,${JSON.stringify(items[i])}`;
      yield ']}';
    }
    await writeChunks(res, parts());
  }

  private watch(
    def: ResourceDef, q: URLSearchParams, selection: { namespace?: string; labelSelector?: string; fieldSelector?: string },
    req: IncomingMessage, res: ServerResponse,
  ): void {
    const timeoutSeconds = intParam(q, 'timeoutSeconds');
    const bookmarks = q.get('allowWatchBookmarks') === 'true' || q.get('allowWatchBookmarks') === '1';
    const rvParam = q.get('resourceVersion') ?? '';
    if (rvParam !== '' && !/^\d+$/.test(rvParam)) throw badRequest(`invalid resource version: ${JSON.stringify(rvParam)}`);
    const maxBacklog = this.options.maxWatchBacklogBytes ?? 64 * 1024 * 1024;
    // Bad selectors are a plain 400, before the stream starts.
    parseLabelSelector(selection.labelSelector);
    parseFieldSelector(selection.fieldSelector, def);

    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    const timers: NodeJS.Timeout[] = [];
    let unsubscribe: (() => void) | undefined;
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      unsubscribe?.();
      for (const t of timers) clearTimeout(t);
      this.watches.delete(res);
      if (!res.writableEnded) res.end();
    };
    this.watches.set(res, close);
    // The response closes when the client goes away (or we end it).
    res.on('close', close);

    // The initial state of a version-less watch may be large; only live events count against
    // the backlog limit, like the apiserver's per-watcher buffer.
    let replaying = true;
    const writeLine = (line: string): void => {
      if (closed) return;
      res.write(line);
      if (!replaying && res.writableLength > maxBacklog) {
        this.log.warn({ resource: def.name, backlog: res.writableLength }, 'closing a watch that does not keep up');
        close();
      }
    };
    const send = (e: WatchEvent): void => writeLine(`{"type":"${e.type}","object":${watchJson(e.object)}}\n`);

    try {
      // An HTTP watch without a version starts with the current state, as the apiserver does.
      unsubscribe = this.store.watch(def.name, send, { ...selection, resourceVersion: rvParam === '' ? '0' : rvParam });
    } catch (err) {
      if (err instanceof ApiError) {
        // Too old (410) and friends arrive as an ERROR event on an open stream, then it closes.
        writeLine(`${JSON.stringify({ type: 'ERROR', object: err.toStatus() })}\n`);
        close();
        return;
      }
      close();
      throw err;
    }
    replaying = false;
    if (bookmarks) {
      const every = this.options.bookmarkIntervalMs ?? 5_000;
      const tick = (): void => {
        if (closed) return;
        const bookmark = { kind: def.kind, apiVersion: apiVersionOf(def), metadata: { resourceVersion: this.store.resourceVersion } };
        writeLine(`${JSON.stringify({ type: 'BOOKMARK', object: bookmark })}\n`);
        timers[0] = setTimeout(tick, every);
      };
      timers[0] = setTimeout(tick, every);
    }
    if (timeoutSeconds !== undefined && timeoutSeconds > 0) timers.push(setTimeout(close, timeoutSeconds * 1000));
  }
}
