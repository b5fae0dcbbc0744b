/**
 * A simulated ResourceManager web service over a shared cluster model: the REST endpoints Loom
 * uses (reference §2), the standby redirect filter (§3), simple auth (§4), JSON/XML by Accept.
 * Order of checks follows the real stack: auth filter → HA filter → Jersey routing (404/405/406/
 * 415) → entity unmarshalling (400) → handler (401 user, 400 id, 404 node, 500 …).
 */
import type http from 'node:http';
import { type SpnegoFilter, callerOf, pseudoAuthFilter } from './auth.js';
import type { YarnCluster } from './cluster.js';
import { SimError } from './cluster.js';
import { NodeRenderCache, clusterInfo, clusterMetrics, resourceInfo } from './dao.js';
import type { HaMember, HaState, RmGroup } from './ha.js';
import { type Reply, RestartableServer, mediaType, send, splitUrl } from './http.js';
import { containerIdError, nodeIdFromString } from './java-ids.js';
import {
  EXCEPTIONS, type EmptyListStyle, type Format, type RemoteExceptionData, TEXT_TYPE,
  contentTypeOf, negotiate, renderDoc, renderListPieces, renderRemoteException,
} from './render.js';
import { type ParseResult, parseResourceOptionJson, parseResourceOptionXml } from './resize-body.js';
import { NODE_STATES, type NodeState, SIGNAL_COMMANDS, type SignalCommand, isInactiveState } from './types.js';

export interface RmServerOptions {
  /** rm-id, e.g. `rm1`. */
  name: string;
  port?: number;
  emptyListStyle: EmptyListStyle;
  /** Writes without `user.name` → 401 AuthorizationException (no authenticated caller). */
  requireUser: boolean;
  /** Simple-auth filter lets anonymous requests through (Hadoop default true). */
  anonymousAllowed: boolean;
  /** Status of an unmapped server-side exception: 500 (Jersey 1, ≤3.4) or 503 (trunk). */
  internalErrorStatus: 500 | 503;
  /** Simulated ms before a resize lands (AdminService applies it asynchronously); 0: at once. */
  resizeDelayMs?: number;
  /** Kerberos: hadoop-auth's SPNEGO filter instead of simple auth. */
  spnego?: SpnegoFilter;
}

/** Paths a standby serves itself (`RMWebAppFilter`), matched exactly. */
const STANDBY_EXEMPT = new Set(['/ws/v1/cluster/info', '/cluster/cluster', '/conf', '/stacks', '/logLevel', '/logs', '/isActive', '/jmx', '/prom']);

const PREFIX = '/ws/v1/cluster';

export class SimResourceManager implements HaMember {
  readonly name: string;
  haState: HaState;
  /** `ClusterInfo.id` / `startedOn`: reset whenever this RM (re)becomes active. */
  clusterTimestamp: number;
  private readonly server: RestartableServer;
  private readonly nodeCache = new NodeRenderCache();
  private stoppedOnce = false;

  constructor(
    readonly cluster: YarnCluster,
    private readonly group: RmGroup<SimResourceManager>,
    private readonly options: RmServerOptions,
    initialState: HaState,
  ) {
    this.name = options.name;
    this.haState = initialState;
    this.clusterTimestamp = cluster.clusterTimestamp;
    this.server = new RestartableServer((req, res, body) => this.handle(req, res, body), '127.0.0.1', options.port ?? 0);
  }

  get url(): string {
    return this.server.url;
  }

  get port(): number {
    return this.server.port;
  }

  get running(): boolean {
    return this.server.running;
  }

  /** `ClusterInfo.id` as clients see it. */
  get id(): number {
    return this.clusterTimestamp;
  }

  async start(): Promise<void> {
    if (this.server.running) return;
    await this.server.start();
    // A daemon that was down lost its in-memory state; if it serves as active, it rebuilt it.
    if (this.stoppedOnce && this.haState === 'ACTIVE') this.becomeActive();
  }

  /** Down: connections are refused until `start()`. */
  async stop(): Promise<void> {
    if (!this.server.running) return;
    this.stoppedOnce = true;
    await this.server.stop();
  }

  /** Process restart: down for `downMs` (real ms), back with new id/startedOn and no overrides. */
  async restart(downMs = 0): Promise<void> {
    await this.stop();
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    await this.start();
  }

  /** Transition to ACTIVE: new cluster timestamp; the model drops overrides and bumps the epoch. */
  becomeActive(): void {
    this.haState = 'ACTIVE';
    this.clusterTimestamp = Math.max(this.cluster.clock.now(), this.cluster.clusterTimestamp + 1);
    this.cluster.resetRmState(this.clusterTimestamp);
    this.nodeCache.clear();
  }

  // ------------------------------------------------------------------ request pipeline

  private handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
    const headOnly = req.method === 'HEAD';
    const spnego = this.options.spnego;
    if (!spnego) {
      send(res, this.route(req, body), headOnly);
      return;
    }
    void spnego.filter(req).then((verdict) => {
      if ('reply' in verdict) {
        this.cluster.counters.hit('rm.unauthorized');
        send(res, verdict.reply, headOnly);
        return;
      }
      const reply = this.route(req, body, verdict.user);
      send(res, { ...reply, headers: { ...(reply.headers ?? {}), ...verdict.headers } }, headOnly);
    });
  }

  /** `authenticated`: the Kerberos caller (secure mode), which replaces `user.name`. */
  private route(req: http.IncomingMessage, body: Buffer, authenticated?: string): Reply {
    this.cluster.tick();
    const { path, rawPath, query, rawQuery } = splitUrl(req.url);
    const denied = authenticated === undefined ? pseudoAuthFilter(query, this.options.anonymousAllowed) : undefined;
    if (denied) {
      this.cluster.counters.hit('rm.unauthorized');
      return denied;
    }
    const caller = authenticated ?? callerOf(query);
    if (this.haState !== 'ACTIVE' && !STANDBY_EXEMPT.has(rawPath) && !rawPath.startsWith('/proxy/')) {
      this.cluster.counters.hit('rm.redirect');
      return this.standbyRedirect(rawPath, rawQuery, query);
    }
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');

    if (rawPath === '/isActive') {
      this.cluster.counters.hit('rm.isActive');
      if (method !== 'GET') return methodNotAllowed('GET');
      const active = this.haState === 'ACTIVE';
      return { status: active ? 200 : 405, headers: { 'Content-Type': TEXT_TYPE, Connection: 'close' }, body: active ? 'I am Active!' : 'I am not Active!' };
    }

    const p = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    if (p !== PREFIX && !p.startsWith(PREFIX + '/')) return this.notFound();
    const segs = p.slice(PREFIX.length).split('/').filter((_, i) => i > 0);

    // GET /ws/v1/cluster, /info, /metrics
    if (segs.length === 0 || (segs.length === 1 && (segs[0] === 'info' || segs[0] === 'metrics'))) {
      if (method !== 'GET') return methodNotAllowed('GET,HEAD,OPTIONS');
      const format = negotiate(req.headers.accept);
      if (!format) return notAcceptable();
      if (segs[0] === 'metrics') {
        this.cluster.counters.hit('rm.metrics');
        return ok(format, renderDoc(format, 'clusterMetrics', clusterMetrics(this.cluster.metrics())));
      }
      this.cluster.counters.hit('rm.clusterInfo');
      return ok(format, renderDoc(format, 'clusterInfo', clusterInfo({ clusterTimestamp: this.clusterTimestamp, haState: this.haState, ha: this.group.ha })));
    }
    if (segs[0] === 'nodes') {
      if (segs.length === 1) {
        if (method !== 'GET') return methodNotAllowed('GET,HEAD,OPTIONS');
        return this.getNodes(req, query);
      }
      if (segs.length === 2 && segs[1] !== '') {
        if (method !== 'GET') return methodNotAllowed('GET,HEAD,OPTIONS');
        return this.getNode(req, segs[1]!);
      }
      if (segs.length === 3 && segs[1] !== '' && segs[2] === 'resource') {
        if (method !== 'POST') return methodNotAllowed('POST,OPTIONS');
        return this.updateNodeResource(req, segs[1]!, caller, body);
      }
    }
    if (segs[0] === 'containers' && segs.length === 4 && segs[1] !== '' && segs[2] === 'signal' && segs[3] !== '') {
      if (method !== 'POST') return methodNotAllowed('POST,OPTIONS');
      return this.signalToContainer(req, segs[1]!, segs[3]!, caller);
    }
    return this.notFound();
  }

  /** `RMWebAppFilter` on a standby: 307 to the active RM, or 307 + Refresh when none is known. */
  private standbyRedirect(rawPath: string, rawQuery: string, query: URLSearchParams): Reply {
    const active = this.group.activeExcept(this);
    if (active) {
      const location = `${active.url}${rawPath}${rawQuery ? `?${rawQuery}` : ''}`;
      return {
        status: 307,
        headers: { Location: location, 'Content-Type': TEXT_TYPE },
        body: `This is standby RM. The redirect url is: ${location}\n`,
      };
    }
    const zk = `\nHA Zookeeper Connection State: ${this.group.ha ? 'CONNECTED' : 'Could not find leader elector. Verify both HA and automatic failover are enabled.'}\n`;
    const retriesRaw = query.get('next.refresh.interval');
    let retries = 0;
    let doRetry = true;
    if (retriesRaw !== null) {
      const n = Number(retriesRaw.trim());
      if (Number.isInteger(n)) retries = n; else doRetry = false;
    }
    const next = 5 * 2 ** retries;
    if (next > 300) doRetry = false;
    if (!doRetry) return { status: 200, headers: { 'Content-Type': TEXT_TYPE }, body: `There is no active RM right now.${zk}` };
    const q = new URLSearchParams(rawQuery);
    q.set('next.refresh.interval', String(retries + 1));
    return {
      status: 307,
      headers: { Refresh: `${next};url=${this.url}${rawPath}?${q.toString()}`, 'Content-Type': TEXT_TYPE },
      body: `Can not find any active RM. Will retry in next ${next} seconds.${zk}`,
    };
  }

  private notFound(): Reply {
    this.cluster.counters.hit('rm.notFound');
    return { status: 404 };
  }

  private error(format: Format, status: number, e: RemoteExceptionData): Reply {
    return { status, headers: { 'Content-Type': contentTypeOf(format) }, body: renderRemoteException(format, e) };
  }

  private getNodes(req: http.IncomingMessage, query: URLSearchParams): Reply {
    this.cluster.counters.hit('rm.nodes');
    const format = negotiate(req.headers.accept);
    if (!format) return notAcceptable();
    const statesParam = query.get('states');
    let accepted: Set<NodeState> | undefined;
    if (statesParam !== null) {
      accepted = new Set();
      // Java: "".split(",") is [""], trailing empties dropped, no trimming; valueOf(toUpperCase).
      const parts = statesParam.includes(',') ? trimTrailingEmpty(statesParam.split(',')) : [statesParam];
      for (const part of parts) {
        const upper = part.toUpperCase();
        if (!(NODE_STATES as readonly string[]).includes(upper)) {
          return this.error(format, 400, EXCEPTIONS.illegalArgument(`No enum constant org.apache.hadoop.yarn.api.records.NodeState.${upper}`));
        }
        accepted.add(upper as NodeState);
      }
    }
    // The items are taken now (a snapshot); the document is written a piece at a time.
    const items: Buffer[] = [];
    // Active nodes first, then inactive ones (RMServerUtils.queryRMNodes).
    for (const inactivePass of [false, true]) {
      for (const node of this.cluster.nodes()) {
        if (isInactiveState(node.state) !== inactivePass) continue;
        if (accepted && !accepted.has(node.state)) continue;
        items.push(this.nodeCache.renderBytes(node, format));
      }
    }
    return { status: 200, headers: { 'Content-Type': contentTypeOf(format) }, pieces: renderListPieces(format, 'nodes', 'node', items, this.options.emptyListStyle) };
  }

  private lookupNode(format: Format, raw: string): { nodeId: string } | { reply: Reply } {
    const parsed = nodeIdFromString(raw);
    if ('error' in parsed) return { reply: this.error(format, 400, parsed.error) };
    if (!this.cluster.node(parsed.id)) {
      return { reply: this.error(format, 404, EXCEPTIONS.notFound(`java.lang.Exception: nodeId, ${raw}, is not found`)) };
    }
    return { nodeId: parsed.id };
  }

  private getNode(req: http.IncomingMessage, raw: string): Reply {
    this.cluster.counters.hit('rm.node');
    const format = negotiate(req.headers.accept);
    if (!format) return notAcceptable();
    const found = this.lookupNode(format, raw);
    if ('reply' in found) return found.reply;
    const node = this.cluster.node(found.nodeId)!;
    const item = this.nodeCache.render(node, format);
    const bodyText = format === 'json' ? `{"node":${item}}` : `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>${item}`;
    return ok(format, bodyText);
  }

  private updateNodeResource(req: http.IncomingMessage, raw: string, caller: string | undefined, body: Buffer): Reply {
    this.cluster.counters.hit('rm.resize');
    const ct = mediaType(req.headers['content-type']);
    if (ct !== 'application/json' && ct !== 'application/xml') return { status: 415 };
    const format = negotiate(req.headers.accept);
    if (!format) return notAcceptable();
    const text = body.toString('utf8');
    const parsed: ParseResult = ct === 'application/json' ? parseResourceOptionJson(text) : parseResourceOptionXml(text);
    if (!parsed.ok) return this.error(format, 400, EXCEPTIONS.unmarshal(parsed.message));
    if (this.options.requireUser && caller === undefined) {
      return this.error(format, 401, EXCEPTIONS.authorization('Unable to obtain user name, user not authenticated'));
    }
    const found = this.lookupNode(format, raw);
    if ('reply' in found) return found.reply;
    const { memoryMiB, vcores, overCommitTimeout } = parsed.value;
    const outcome = this.cluster.queueNodeResourceUpdate(found.nodeId, { memoryMiB, vcores }, overCommitTimeout, this.options.resizeDelayMs ?? 0);
    switch (outcome.kind) {
      case 'not-found':
        return this.error(format, 404, EXCEPTIONS.notFound(`java.lang.Exception: nodeId, ${raw}, is not found`));
      case 'inactive':
        return this.error(format, this.options.internalErrorStatus, EXCEPTIONS.yarnRuntime(`Failed to update the node resource ${found.nodeId}.`));
      case 'unchanged':
      case 'updated':
      case 'queued':
        return ok(format, renderDoc(format, 'resourceInfo', resourceInfo(outcome.total)));
    }
  }

  private signalToContainer(req: http.IncomingMessage, containerId: string, command: string, caller: string | undefined): Reply {
    this.cluster.counters.hit('rm.signal');
    const format = negotiate(req.headers.accept) ?? 'json';
    if (this.options.requireUser && caller === undefined) {
      return this.error(format, 401, EXCEPTIONS.authorization('Unable to obtain user name, user not authenticated'));
    }
    const upper = command.toUpperCase();
    if (!(SIGNAL_COMMANDS as readonly string[]).includes(upper)) {
      return {
        status: 400,
        headers: { 'Content-Type': TEXT_TYPE },
        body: `Invalid command: ${upper}, valid commands are: [${SIGNAL_COMMANDS.join(', ')}]`,
      };
    }
    const bad = containerIdError(containerId);
    if (bad) return { status: 500, headers: { 'Content-Type': TEXT_TYPE }, body: bad };
    try {
      this.cluster.signalContainer(containerId, upper as SignalCommand);
    } catch (err) {
      if (err instanceof SimError) return { status: 500, headers: { 'Content-Type': TEXT_TYPE }, body: err.message };
      throw err;
    }
    return { status: 200 };
  }
}

function ok(format: Format, body: string): Reply {
  return { status: 200, headers: { 'Content-Type': contentTypeOf(format) }, body };
}

function notAcceptable(): Reply {
  return { status: 406 };
}

function methodNotAllowed(allow: string): Reply {
  return { status: 405, headers: { Allow: allow } };
}

function trimTrailingEmpty(parts: string[]): string[] {
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}
