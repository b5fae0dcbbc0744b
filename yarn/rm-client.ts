/**
 * ResourceManager REST client with HA (reference §2, §3, "Implications" 1–7).
 *
 * The active RM is the one whose `GET /ws/v1/cluster/info` (never redirected by a standby) says
 * `haState: ACTIVE`. A standby answers every other path with 307; we never follow it blindly
 * (with no Location it means "no active known"; with one, we still prefer our own probe): we
 * re-probe and retry once on the new active. A 307 means the standby did not execute the call,
 * so this is the one case where a POST is sent twice.
 */
import type { Logger } from '../log/logger.js';
import type { BodyFormat } from './document.js';
import { decodeBody, formatOfContentType } from './document.js';
import {
  YarnArgumentError, YarnAuthenticationError, YarnDocumentError, YarnError, YarnHttpError, YarnNoActiveRmError, YarnTransportError,
} from './errors.js';
import { OffThreadDecoder, type RmNodesDeltaResult, type RmNodesStreamJob, type RmNodesStreamResult } from './off-thread-decoder.js';
import {
  DEFAULT_MAX_BODY_BYTES, YarnHttp, encodePathSegment, normaliseBaseUrl, type AnswerHead, type BodyReceiver, type HttpMethod, type YarnHttpOptions, type YarnResponse,
} from './http.js';
import { isContainerId, parseNodeId } from './ids.js';
import {
  ACTIVE_NODE_STATES, NODE_STATES, SIGNAL_COMMANDS,
  type ClusterInfo, type ClusterMetrics, type NodeState, type RejectedItem, type RmNode, type SignalCommand,
} from './model.js';
import {
  parseClusterInfo, parseClusterMetrics, parseResourceInfo, parseRmNode, parseRmNodes,
} from './parse.js';
import type { YarnResource } from './resource.js';
import { dedupeNodesByHost, rmNodeDiffers } from './rm-node-list.js';
import { serializeResourceOption } from './serialize.js';

export const RM_BASE_PATH = '/ws/v1/cluster';

export interface ResourceManagerClientOptions extends YarnHttpOptions {
  /** Web app base URLs of the RMs (one, or one per HA rm-id). */
  rmUrls: readonly string[];
  /** Ask for JSON (default) or XML. */
  format?: BodyFormat;
  logger?: Logger;
  /** Node lists larger than this are decoded in a worker thread (default 1 MiB). */
  offThreadBytes?: number;
}

/** Identity of the RM incarnation we talk to; a change means overrides were lost. */
export interface RmEpoch {
  activeUrl: string;
  /** `clusterInfo.id` (cluster timestamp). */
  id?: number;
  startedOn?: number;
}

export interface RmNodeList {
  /** One node per host, active states preferred. */
  nodes: RmNode[];
  /** Items the RM returned that failed validation (skipped). */
  rejected: RejectedItem[];
  /** Older entries for a host that also has a better one (e.g. LOST id of a restarted NM). */
  superseded: RmNode[];
}

export interface NodeResourceUpdate {
  nodeId: string;
  requested: YarnResource;
  overCommitTimeoutMs: number;
  /** What the POST answered (may lag: the RM applies the change asynchronously). */
  echoed?: YarnResource;
  /** `totalResource` read back with `GET /nodes/{id}` after the POST. */
  total: YarnResource;
  /** `total` equals `requested`. */
  applied: boolean;
  /** `usedResource` read back with the total: what YARN holds once the new total is in force. */
  used?: YarnResource;
}

export interface ListNodesOptions {
  /** Node states to ask for; `'all'` asks for every state. Default: the active ones. */
  states?: readonly (NodeState | Lowercase<NodeState>)[] | 'all';
}

/** Internal: the call hit a standby (or no RM) and was not executed — re-probe and retry. */
class FailoverSignal extends Error {
  constructor(readonly error: YarnError | YarnDocumentError) {
    super(error.message);
  }
}

/**
 * Receives a node list as it streams in: held here while it is small, handed to the decoder
 * worker chunk by chunk once it passes the off-thread size (what was held first, then each chunk
 * as it arrives), so a large list is never assembled on this thread.
 */
class NodeListReceiver<J extends RmNodesStreamJob> implements BodyReceiver {
  private held: Buffer[] = [];
  private size = 0;
  private stream: ReturnType<OffThreadDecoder['openStream']> | undefined;

  constructor(private readonly decoder: OffThreadDecoder, private readonly offThreadBytes: number, private readonly job: J, private readonly head: AnswerHead) {}

  write(chunk: Uint8Array): void {
    if (this.stream) {
      this.stream.write(chunk);
      return;
    }
    this.held.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.size += chunk.byteLength;
    if (this.size > this.offThreadBytes) {
      this.stream = this.decoder.openStream(this.job, this.head.contentType, this.head.url);
      for (const c of this.held) this.stream.write(c);
      this.held = [];
    }
  }

  end(): void {}

  abort(): void {
    this.held = [];
    this.stream?.abort();
  }

  /** The decoded list from the worker, or the small body held here (to decode here). */
  outcome(): { decoded: Promise<RmNodesStreamResult<J>> } | { held: Buffer } {
    if (this.stream) return { decoded: this.stream.finish() as Promise<RmNodesStreamResult<J>> };
    const held = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held, this.size);
    this.held = [];
    return { held };
  }
}

interface ProbeOutcome {
  url: string;
  info?: ClusterInfo;
  outcome: string;
}

export { dedupeNodesByHost, rmNodeDiffers };

export class ResourceManagerClient {
  readonly cluster: string;
  readonly rmUrls: readonly string[];
  private readonly http: YarnHttp;
  private readonly format: BodyFormat;
  private readonly logger: Logger | undefined;
  private active: string | undefined;
  private currentEpoch: RmEpoch | undefined;
  private discovering: Promise<string> | undefined;
  private readonly offThreadBytes: number;
  private readonly decoder: OffThreadDecoder;

  constructor(options: ResourceManagerClientOptions) {
    if (options.rmUrls.length === 0) throw new YarnArgumentError(options.cluster ?? 'yarn', 'no RM URL configured');
    this.rmUrls = [...new Set(options.rmUrls.map(normaliseBaseUrl))];
    this.cluster = options.cluster ?? 'yarn';
    this.format = options.format ?? 'json';
    this.logger = options.logger;
    this.http = new YarnHttp({ ...options, cluster: this.cluster });
    this.offThreadBytes = options.offThreadBytes ?? 2 ** 20;
    // A JSON body needs about three times its size of heap to decode, plus the validated nodes.
    const bodyLimit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    // Kept past the longest poll period (60 s) so the list a delta is taken from survives between polls.
    this.decoder = new OffThreadDecoder({ heapMb: Math.max(64, Math.ceil((4 * bodyLimit) / 2 ** 20)), idleMs: 120_000 });
  }

  /** The RM currently believed active (undefined before the first call or after a failover). */
  get activeUrl(): string | undefined {
    return this.active;
  }

  /** Cluster id / startedOn of the active RM as last seen; compare to detect restart or failover. */
  get epoch(): RmEpoch | undefined {
    return this.currentEpoch;
  }

  /** Probe every RM and remember the active one. Concurrent callers share one probe round. */
  discoverActive(): Promise<string> {
    this.discovering ??= this.probeAll().finally(() => {
      this.discovering = undefined;
    });
    return this.discovering;
  }

  private async probeAll(): Promise<string> {
    const single = this.rmUrls.length === 1;
    const outcomes = await Promise.all(this.rmUrls.map((url) => this.probe(url, single)));
    const actives = outcomes.filter((o) => o.info?.haState === 'ACTIVE' || (single && o.info && o.info.haState === undefined));
    if (actives.length === 0) {
      this.active = undefined;
      throw new YarnNoActiveRmError(this.cluster, outcomes.map(({ url, outcome }) => ({ url, outcome })));
    }
    if (actives.length > 1) {
      this.logger?.warn({ cluster: this.cluster, actives: actives.map((a) => a.url) }, 'more than one RM reports ACTIVE; using the most recently started');
    }
    // Split brain is transient; the latest to become active is the one the others will yield to.
    const chosen = actives.reduce((a, b) => ((b.info?.startedOn ?? 0) > (a.info?.startedOn ?? 0) ? b : a));
    if (this.active !== chosen.url) this.logger?.info({ cluster: this.cluster, active: chosen.url }, 'active RM');
    this.active = chosen.url;
    this.noteEpoch(chosen.url, chosen.info!);
    return chosen.url;
  }

  private async probe(url: string, single: boolean): Promise<ProbeOutcome> {
    try {
      const res = await this.http.send({
        base: url, path: `${RM_BASE_PATH}/info`, method: 'GET', accept: this.format, endpoint: 'cluster.info.probe',
        // With a partner RM to try, do not wait on a dead one; a lone RM gets the normal retries.
        ...(single ? {} : { retries: 0 }),
      });
      if (res.status >= 300) return { url, outcome: `HTTP ${res.status}${res.location ? ` → ${res.location}` : ' without Location'}` };
      const info = parseClusterInfo(decodeBody(res.body, res.contentType, res.url), res.url);
      return { url, info, outcome: info.haState ?? 'no haState' };
    } catch (err) {
      // Refused credentials are not "not active": no other RM will take them either.
      if (err instanceof YarnAuthenticationError) throw err;
      return { url, outcome: err instanceof Error ? err.message : String(err) };
    }
  }

  private noteEpoch(activeUrl: string, info: ClusterInfo): void {
    const epoch: RmEpoch = { activeUrl };
    if (info.id !== undefined) epoch.id = info.id;
    if (info.startedOn !== undefined) epoch.startedOn = info.startedOn;
    const prev = this.currentEpoch;
    if (prev && (prev.id !== epoch.id || prev.startedOn !== epoch.startedOn || prev.activeUrl !== epoch.activeUrl)) {
      this.logger?.warn({ cluster: this.cluster, previous: prev, current: epoch }, 'RM epoch changed (restart or failover)');
    }
    this.currentEpoch = epoch;
  }

  /**
   * Run `call` against the active RM; on a failover signal re-probe and run it once more on the
   * (possibly new) active. A second failover signal is reported as the underlying error.
   */
  private async onActive<T>(call: (base: string) => Promise<T>): Promise<T> {
    const first = this.active ?? (await this.discoverActive());
    try {
      return await call(first);
    } catch (err) {
      if (!(err instanceof FailoverSignal)) throw err;
      this.logger?.info({ cluster: this.cluster, from: first, reason: err.error.message }, 'RM failover suspected; re-probing');
      if (this.active === first) this.active = undefined;
      const next = this.active ?? (await this.discoverActive());
      try {
        return await call(next);
      } catch (err2) {
        if (err2 instanceof FailoverSignal) {
          this.active = undefined;
          throw err2.error;
        }
        throw err2;
      }
    }
  }

  /** One HTTP exchange with the RM at `base`, turning "not executed here" answers into FailoverSignal. */
  private async exchange(base: string, method: HttpMethod, path: string, endpoint: string, extra: { query?: Record<string, string>; body?: string; signal?: AbortSignal; beforeSend?: () => void; raw?: boolean; receive?: (head: AnswerHead) => BodyReceiver | undefined } = {}): Promise<YarnResponse> {
    let res: YarnResponse;
    try {
      res = await this.http.send({ base, path, method, accept: this.format, endpoint, ...extra });
    } catch (err) {
      // Connection never made: safe to send elsewhere, even a POST. A GET may also move on after
      // its own retries; a POST that timed out or was reset may have run, so it is not resent.
      if (err instanceof YarnTransportError && (method === 'GET' || err.kind === 'connect')) throw new FailoverSignal(err);
      // AdminService.checkRMStatus: "ResourceManager <id> is not Active!" — refused, not executed.
      if (err instanceof YarnHttpError && (err.isRemote('StandbyException') || /is not active/i.test(err.remoteException?.message ?? err.excerpt))) {
        throw new FailoverSignal(err);
      }
      throw err;
    }
    if (res.status >= 300 && res.status < 400) {
      // A standby's redirect (with or without Location): the request was not executed.
      throw new FailoverSignal(this.http.httpError(res));
    }
    const text = res.bytes ? res.bytes.toString('utf8', 0, Math.min(res.bytes.length, 200)) : res.body;
    if (method === 'GET' && text.trim() !== '' && formatOfContentType(res.contentType) === undefined) {
      // "There is no active RM right now." comes as a 200 text/plain from a standby.
      throw new FailoverSignal(new YarnDocumentError(res.url, `expected JSON or XML, got Content-Type ${res.contentType ?? '(none)'}`, text.slice(0, 200), res.contentType));
    }
    return res;
  }

  private async getDoc(path: string, endpoint: string, query?: Record<string, string>, signal?: AbortSignal): Promise<{ doc: unknown; url: string }> {
    return this.onActive(async (base) => {
      const res = await this.exchange(base, 'GET', path, endpoint, { ...(query ? { query } : {}), ...(signal ? { signal } : {}) });
      return { doc: decodeBody(res.body, res.contentType, res.url), url: res.url };
    });
  }

  /** `GET /ws/v1/cluster/info` on the active RM; a STANDBY answer triggers a re-probe. */
  async clusterInfo(): Promise<ClusterInfo> {
    return this.onActive(async (base) => {
      const res = await this.exchange(base, 'GET', `${RM_BASE_PATH}/info`, 'cluster.info');
      const info = parseClusterInfo(decodeBody(res.body, res.contentType, res.url), res.url);
      const standalone = this.rmUrls.length === 1 && info.haState === undefined;
      if (info.haState !== 'ACTIVE' && !standalone) {
        throw new FailoverSignal(new YarnDocumentError(res.url, `RM reports haState ${info.haState ?? '(none)'}`, ''));
      }
      this.noteEpoch(base, info);
      return info;
    });
  }

  async clusterMetrics(): Promise<ClusterMetrics> {
    const { doc, url } = await this.getDoc(`${RM_BASE_PATH}/metrics`, 'cluster.metrics');
    return parseClusterMetrics(doc, url);
  }

  /**
   * `GET /nodes?states=…` (default: RUNNING,UNHEALTHY,NEW,DECOMMISSIONING), validated item by
   * item and deduplicated by host.
   */
  async listNodes(options: ListNodesOptions = {}): Promise<RmNodeList> {
    // 1.8 KB per node: 35 MB at 20,000 nodes, ≈ 0.3–1 s of parsing that would hold up every
    // other answer of this process (a change waiting for its resize) — done in the worker.
    const got = await this.fetchNodeList(options, { kind: 'rm-nodes' });
    const list = 'decoded' in got ? await got.decoded : this.decodeHere(got.held, got.res);
    this.noteRejected(list.rejected, got.res.url);
    return list;
  }

  /**
   * {@link listNodes} (active states), answered as the difference from the list named `since`
   * (the `token` of an earlier answer of this method) when a large list was decoded in the worker
   * and the worker still holds that one; otherwise whole. Unchanged nodes are not sent back:
   * rebuilding 20,000 decoded nodes on this thread is what a poll of a large cluster cost it.
   * "Changed" means state, total or used ({@link rmNodeDiffers}).
   */
  async listNodesSince(since: string | undefined): Promise<RmNodesDeltaResult | (RmNodeList & { full: true; token?: undefined })> {
    const got = await this.fetchNodeList({}, { kind: 'rm-nodes-delta', since });
    if (!('decoded' in got)) {
      const list = this.decodeHere(got.held, got.res);
      this.noteRejected(list.rejected, got.res.url);
      return { ...list, full: true };
    }
    const out = await got.decoded;
    this.noteRejected(out.rejected, got.res.url);
    return out;
  }

  /**
   * `GET /nodes`, its body streamed into a {@link NodeListReceiver}: a large one is decoded by the
   * worker as `job`, a small one (or one no receiver took) comes back as bytes to decode here.
   */
  private async fetchNodeList<J extends RmNodesStreamJob>(options: ListNodesOptions, job: J): Promise<{ res: YarnResponse } & ({ decoded: Promise<RmNodesStreamResult<J>> } | { held: Buffer })> {
    const states = options.states ?? ACTIVE_NODE_STATES;
    let query: Record<string, string> | undefined;
    if (states !== 'all') {
      const upper = states.map((s) => s.toUpperCase());
      const bad = upper.filter((s) => !(NODE_STATES as readonly string[]).includes(s));
      if (bad.length) throw new YarnArgumentError('states', `unknown node state(s) ${bad.join(', ')}`);
      if (upper.length) query = { states: upper.join(',') };
    }
    return this.onActive(async (base) => {
      let receiver: NodeListReceiver<J> | undefined;
      const receive = (head: AnswerHead): BodyReceiver | undefined => {
        // Not JSON or XML: kept as bytes, so that exchange() can tell a standby's text answer.
        if (formatOfContentType(head.contentType) === undefined) return undefined;
        receiver = new NodeListReceiver(this.decoder, this.offThreadBytes, job, head);
        return receiver;
      };
      let res: YarnResponse;
      try {
        res = await this.exchange(base, 'GET', `${RM_BASE_PATH}/nodes`, 'nodes.list', { ...(query ? { query } : {}), raw: true, receive });
      } catch (err) {
        receiver?.abort();
        throw err;
      }
      if (res.received === undefined) return { res, held: res.bytes ?? Buffer.alloc(0) };
      return { res, ...(res.received as NodeListReceiver<J>).outcome() };
    });
  }

  private decodeHere(bytes: Buffer, res: YarnResponse): RmNodeList {
    const parsed = parseRmNodes(decodeBody(bytes.toString('utf8'), res.contentType, res.url), res.url);
    return { ...dedupeNodesByHost(parsed.items), rejected: parsed.rejected };
  }

  private noteRejected(rejected: RejectedItem[], url: string): void {
    if (rejected.length) this.logger?.warn({ cluster: this.cluster, url, rejected: rejected.slice(0, 5), count: rejected.length }, 'RM node entries skipped');
  }

  /** `GET /nodes/{host:port}`; 404 NotFoundException surfaces as YarnHttpError. */
  async getNode(nodeId: string, options: { signal?: AbortSignal } = {}): Promise<RmNode> {
    const { doc, url } = await this.getDoc(nodePath(nodeId), 'nodes.get', undefined, options.signal);
    return parseRmNode(doc, url);
  }

  /**
   * `POST /nodes/{id}/resource` with the exact unwrapped body and an explicit timeout, then read
   * back `totalResource`. Refuses 0/0, negative or fractional resources before any I/O.
   */
  async updateNodeResource(
    nodeId: string, resource: YarnResource, overCommitTimeoutMs: number,
    options: { allowEmpty?: boolean; signal?: AbortSignal; beforeSend?: () => void } = {},
  ): Promise<NodeResourceUpdate> {
    const path = `${nodePath(nodeId)}/resource`;
    const body = serializeResourceOption(resource, overCommitTimeoutMs, `${this.cluster} ${nodeId}`, options.allowEmpty ?? false);
    const guard = { ...(options.signal ? { signal: options.signal } : {}), ...(options.beforeSend ? { beforeSend: options.beforeSend } : {}) };
    const echoed = await this.onActive(async (base) => {
      const res = await this.exchange(base, 'POST', path, 'nodes.resource.update', { body, ...guard });
      if (res.body.trim() === '') return undefined;
      return parseResourceInfo(decodeBody(res.body, res.contentType, res.url), res.url);
    });
    const node = await this.getNode(nodeId, options.signal ? { signal: options.signal } : {});
    if (!node.totalResource) {
      throw new YarnDocumentError(`${this.active ?? ''}${nodePath(nodeId)}`, 'node has no totalResource to verify the update against', '');
    }
    const total = node.totalResource;
    const update: NodeResourceUpdate = {
      nodeId, requested: { ...resource }, overCommitTimeoutMs, total,
      applied: total.memoryMiB === resource.memoryMiB && total.vcores === resource.vcores,
    };
    if (echoed) update.echoed = echoed;
    if (node.usedResource) update.used = node.usedResource;
    return update;
  }

  /** `POST /containers/{id}/signal/{command}` (200 with an empty body on success). */
  async signalContainer(containerId: string, command: SignalCommand): Promise<void> {
    if (!isContainerId(containerId)) throw new YarnArgumentError('containerId', `malformed container id ${JSON.stringify(containerId)}`);
    if (!(SIGNAL_COMMANDS as readonly string[]).includes(command)) throw new YarnArgumentError('command', `unknown signal command ${JSON.stringify(command)}`);
    const path = `${RM_BASE_PATH}/containers/${encodePathSegment(containerId)}/signal/${encodePathSegment(command)}`;
    await this.onActive((base) => this.exchange(base, 'POST', path, 'containers.signal'));
  }

  async close(): Promise<void> {
    await Promise.all([this.http.close(), this.decoder.close()]);
  }
}

function nodePath(nodeId: string): string {
  if (parseNodeId(nodeId) === undefined) throw new YarnArgumentError('nodeId', `malformed node id ${JSON.stringify(nodeId)} (expected host:port)`);
  return `${RM_BASE_PATH}/nodes/${encodePathSegment(nodeId.trim())}`;
}
