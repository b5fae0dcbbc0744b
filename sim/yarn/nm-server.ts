/**
 * A simulated NodeManager web service for one node (reference §5): node info and the container
 * list/get the agent reads. Stop/start/restart behave like the daemon: refused connections while
 * down, and a start after a stop is a re-registration (new nmStartupTime, RM override lost).
 */
import type http from 'node:http';
import { type SpnegoFilter, pseudoAuthFilter } from './auth.js';
import type { YarnCluster } from './cluster.js';
import { containerInfo, nmNodeInfo } from './dao.js';
import { type Reply, RestartableServer, send, splitUrl } from './http.js';
import { containerIdError } from './java-ids.js';
import {
  EXCEPTIONS, type EmptyListStyle, type Format, contentTypeOf, negotiate, renderDoc, renderItem, renderList,
  renderRemoteException,
} from './render.js';
import type { Res } from './types.js';

export interface NmServerOptions {
  port?: number;
  emptyListStyle: EmptyListStyle;
  anonymousAllowed: boolean;
  /** Kerberos: hadoop-auth's SPNEGO filter instead of simple auth. */
  spnego?: SpnegoFilter;
}

const PREFIX = '/ws/v1/node';

export class SimNodeManager {
  private readonly server: RestartableServer;
  private stopped = false;

  constructor(readonly cluster: YarnCluster, readonly nodeId: string, private readonly options: NmServerOptions) {
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

  async start(): Promise<void> {
    if (this.server.running) return;
    await this.server.start();
    if (this.stopped) {
      this.stopped = false;
      this.cluster.restartNodeManager(this.nodeId);
    }
  }

  /** The NM process is down (containers keep running; the RM has not noticed yet). */
  async stop(): Promise<void> {
    if (!this.server.running) return;
    this.stopped = true;
    await this.server.stop();
  }

  /**
   * NM restart: refuses connections for `downMs` (real ms), then re-registers, optionally with
   * another capability (`yarn.nodemanager.resource.*` changed).
   */
  async restart(opts: { downMs?: number; reported?: Res } = {}): Promise<void> {
    await this.stop();
    if (opts.downMs && opts.downMs > 0) await new Promise((r) => setTimeout(r, opts.downMs));
    await this.server.start();
    this.stopped = false;
    this.cluster.restartNodeManager(this.nodeId, opts.reported ? { reported: opts.reported } : {});
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, _body: Buffer): void {
    const headOnly = req.method === 'HEAD';
    const spnego = this.options.spnego;
    if (!spnego) {
      send(res, this.route(req), headOnly);
      return;
    }
    void spnego.filter(req).then((verdict) => {
      if ('reply' in verdict) {
        send(res, verdict.reply, headOnly);
        return;
      }
      const reply = this.route(req, true);
      send(res, { ...reply, headers: { ...(reply.headers ?? {}), ...verdict.headers } }, headOnly);
    });
  }

  private route(req: http.IncomingMessage, authenticated = false): Reply {
    this.cluster.tick();
    const { path, query } = splitUrl(req.url);
    const denied = authenticated ? undefined : pseudoAuthFilter(query, this.options.anonymousAllowed);
    if (denied) return denied;
    const node = this.cluster.node(this.nodeId);
    if (!node) return { status: 503 };
    const p = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    if (p !== PREFIX && !p.startsWith(PREFIX + '/')) return this.notFound();
    const segs = p.slice(PREFIX.length).split('/').filter((_, i) => i > 0);
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const known = segs.length === 0 || (segs.length === 1 && (segs[0] === 'info' || segs[0] === 'containers'))
      || (segs.length === 2 && segs[0] === 'containers' && segs[1] !== '');
    if (!known) return this.notFound();
    if (method !== 'GET') return { status: 405, headers: { Allow: 'GET,HEAD,OPTIONS' } };
    const format = negotiate(req.headers.accept);
    if (!format) return { status: 406 };

    if (segs.length === 0 || segs[0] === 'info') {
      this.cluster.counters.hit('nm.info');
      return ok(format, renderDoc(format, 'nodeInfo', nmNodeInfo(node, this.cluster.clock.now())));
    }
    if (segs.length === 1) {
      this.cluster.counters.hit('nm.containers');
      const items = [...node.nmContainers.values()].map((c) => renderItem(format, 'container', containerInfo(c, node)));
      return ok(format, renderList(format, 'containers', 'container', items, this.options.emptyListStyle));
    }
    this.cluster.counters.hit('nm.container');
    const id = segs[1]!;
    if (containerIdError(id)) return this.error(format, 400, EXCEPTIONS.badRequest(`java.lang.Exception: invalid container id, ${id}`));
    const c = node.nmContainers.get(id);
    if (!c) return this.error(format, 404, EXCEPTIONS.notFound(`java.lang.Exception: container with id, ${id}, not found`));
    return ok(format, renderDoc(format, 'container', containerInfo(c, node)));
  }

  private notFound(): Reply {
    this.cluster.counters.hit('nm.notFound');
    return { status: 404 };
  }

  private error(format: Format, status: number, e: Parameters<typeof renderRemoteException>[1]): Reply {
    return { status, headers: { 'Content-Type': contentTypeOf(format) }, body: renderRemoteException(format, e) };
  }
}

function ok(format: Format, body: string): Reply {
  return { status: 200, headers: { 'Content-Type': contentTypeOf(format) }, body };
}
