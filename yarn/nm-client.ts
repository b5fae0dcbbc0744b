/**
 * NodeManager REST client for the node agent (reference §5): node info (with NM restart
 * detection through `nmStartupTime`) and the containers list, JSON or XML.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../log/logger.js';
import { decodeBody, type BodyFormat } from './document.js';
import { YarnArgumentError, YarnDocumentError, YarnHttpError } from './errors.js';
import { YarnHttp, encodePathSegment, normaliseBaseUrl, type YarnHttpOptions } from './http.js';
import { isContainerId } from './ids.js';
import { isLiveContainerState, type NmContainer, type NmNodeInfo, type RejectedItem } from './model.js';
import { decodeNmContainers, digestOfNmBody, type NmContainerSummary, type NmContainerSummaryOptions } from './nm-containers.js';
import { OffThreadDecoder } from './off-thread-decoder.js';
import { parseNmContainer, parseNmContainers, parseNmNodeInfo } from './parse.js';

export const NM_BASE_PATH = '/ws/v1/node';
export const DEFAULT_NM_URL = 'http://127.0.0.1:8042';

export interface NodeManagerClientOptions extends YarnHttpOptions {
  /** NM web app base URL. Default `http://127.0.0.1:8042`. */
  url?: string;
  format?: BodyFormat;
  logger?: Logger;
  /** Container lists larger than this are decoded in a worker thread (default 1 MiB). */
  offThreadBytes?: number;
  /** Heap of that worker, MB (default: 3 × maxBodyBytes, at least 64). */
  decoderHeapMb?: number;
}

export const DEFAULT_OFF_THREAD_BYTES = 2 ** 20;

/** Default largest NM answer accepted: generous for real nodes (200 containers ≈ 100 KB of JSON). */
export const DEFAULT_NM_MAX_BODY_BYTES = 16 * 2 ** 20;

export interface NmContainerList {
  containers: NmContainer[];
  rejected: RejectedItem[];
}

/** Result of `nodeInfo()`: the info plus whether the NM restarted since the previous call. */
export interface NmNodeInfoReading {
  info: NmNodeInfo;
  /** `nmStartupTime` differs from the one seen on the previous call (false on the first call). */
  restarted: boolean;
  previousStartupTime?: number;
}

/** Pure: containers that have, or may have, a process the agent may measure or evict. */
export function liveContainersOf(containers: readonly NmContainer[]): NmContainer[] {
  return containers.filter((c) => isLiveContainerState(c.state));
}

export class NodeManagerClient {
  readonly url: string;
  private readonly http: YarnHttp;
  private readonly format: BodyFormat;
  private readonly logger: Logger | undefined;
  private lastStartupTime: number | undefined;
  /** The last list and a digest of the body it came from (the body itself is not kept). */
  private lastContainers: { digest: string; list: NmContainerList } | undefined;
  private lastSummary: { digest: string; summary: NmContainerSummary } | undefined;
  private readonly offThreadBytes: number;
  private readonly decoder: OffThreadDecoder;

  constructor(options: NodeManagerClientOptions = {}) {
    this.url = normaliseBaseUrl(options.url ?? DEFAULT_NM_URL);
    this.format = options.format ?? 'json';
    this.logger = options.logger;
    this.http = new YarnHttp({ cluster: 'nm', ...options, maxBodyBytes: options.maxBodyBytes ?? DEFAULT_NM_MAX_BODY_BYTES });
    this.offThreadBytes = options.offThreadBytes ?? DEFAULT_OFF_THREAD_BYTES;
    // A JSON body needs about three times its size of heap to decode: never less than 64 MB.
    const bodyLimit = options.maxBodyBytes ?? DEFAULT_NM_MAX_BODY_BYTES;
    this.decoder = new OffThreadDecoder({ heapMb: options.decoderHeapMb ?? Math.max(64, Math.ceil((3 * bodyLimit) / 2 ** 20)) });
  }

  /** Last `nmStartupTime` seen by `nodeInfo()`. */
  get startupTime(): number | undefined {
    return this.lastStartupTime;
  }

  /** `GET /ws/v1/node/info`; notices an NM restart through a changed `nmStartupTime`. */
  async nodeInfo(): Promise<NmNodeInfoReading> {
    const { doc, response } = await this.http.getDocument({ base: this.url, path: `${NM_BASE_PATH}/info`, method: 'GET', accept: this.format, endpoint: 'nm.info' });
    const info = parseNmNodeInfo(doc, response.url);
    const previous = this.lastStartupTime;
    const restarted = previous !== undefined && info.nmStartupTime !== undefined && info.nmStartupTime !== previous;
    if (info.nmStartupTime !== undefined) this.lastStartupTime = info.nmStartupTime;
    if (restarted) this.logger?.warn({ url: this.url, previous, current: info.nmStartupTime }, 'NodeManager restarted');
    const reading: NmNodeInfoReading = { info, restarted };
    if (previous !== undefined) reading.previousStartupTime = previous;
    return reading;
  }

  /**
   * `GET /ws/v1/node/containers`, item by item; a bad body is an error, never an empty list. The
   * agent asks every second and the answer rarely changes: a body with the same digest reuses
   * the last parsed and validated list (the list is treated as read-only by callers). A body
   * larger than `maxBodyBytes` is refused as it streams in (YarnDocumentError).
   */
  async listContainers(): Promise<NmContainerList> {
    const response = await this.http.send({ base: this.url, path: `${NM_BASE_PATH}/containers`, method: 'GET', accept: this.format, endpoint: 'nm.containers.list', raw: true });
    const bytes = response.bytes ?? Buffer.alloc(0);
    if (response.status >= 300) throw this.http.httpError({ ...response, body: bytes.toString('utf8', 0, Math.min(bytes.length, 4096)) });
    const digest = createHash('sha1').update(response.contentType ?? '').update('\0').update(bytes).digest('base64');
    const last = this.lastContainers;
    if (last && last.digest === digest) return last.list;
    const parsed = parseNmContainers(decodeBody(bytes.toString('utf8'), response.contentType, response.url), response.url);
    if (parsed.rejected.length) this.logger?.warn({ url: response.url, rejected: parsed.rejected.length, first: parsed.rejected.slice(0, 5) }, 'NM container entries skipped');
    const list = { containers: parsed.items, rejected: parsed.rejected };
    this.lastContainers = { digest, list };
    return list;
  }

  /**
   * The node agent's view of `GET /ws/v1/node/containers`: this node's entries, at most
   * `opts.max`, with counts and samples of what was left out (nm-containers.ts). Bounded work on
   * the calling thread whatever the NM answers: the body is refused past `maxBodyBytes`, an
   * unchanged body (same digest) reuses the last summary, and a body larger than
   * `offThreadBytes` is digested and decoded in a worker thread with its own bounded heap.
   */
  async listNodeContainers(opts: NmContainerSummaryOptions): Promise<NmContainerSummary> {
    const response = await this.http.send({ base: this.url, path: `${NM_BASE_PATH}/containers`, method: 'GET', accept: this.format, endpoint: 'nm.containers.list', raw: true });
    const bytes = response.bytes ?? Buffer.alloc(0);
    if (response.status >= 300) throw this.http.httpError({ ...response, body: bytes.toString('utf8', 0, Math.min(bytes.length, 4096)) });
    const last = this.lastSummary;
    if (bytes.length <= this.offThreadBytes) {
      const digest = digestOfNmBody(response.contentType, bytes, opts);
      if (last && last.digest === digest) return last.summary;
      const summary = decodeNmContainers(bytes, response.contentType, response.url, opts);
      this.lastSummary = { digest, summary };
      return summary;
    }
    const r = await this.decoder.decode(bytes, response.contentType, response.url, opts, last?.digest);
    if ('unchanged' in r && last) return last.summary;
    if (!('summary' in r)) throw new YarnDocumentError(response.url, 'the decoder answered "unchanged" without a previous list', '');
    this.lastSummary = { digest: r.digest, summary: r.summary };
    return r.summary;
  }

  /** Containers in a live state (see LIVE_CONTAINER_STATES for the choice). */
  async liveContainers(): Promise<NmContainer[]> {
    return liveContainersOf((await this.listContainers()).containers);
  }

  /**
   * `GET /ws/v1/node/containers/{id}`. A `NotFoundException` (not on this NM) is `undefined`;
   * a 404 without RemoteException (wrong path / not an NM) stays an error.
   */
  async getContainer(containerId: string): Promise<NmContainer | undefined> {
    if (!isContainerId(containerId)) throw new YarnArgumentError('containerId', `malformed container id ${JSON.stringify(containerId)}`);
    try {
      const { doc, response } = await this.http.getDocument({
        base: this.url, path: `${NM_BASE_PATH}/containers/${encodePathSegment(containerId)}`, method: 'GET', accept: this.format, endpoint: 'nm.containers.get',
      });
      return parseNmContainer(doc, response.url);
    } catch (err) {
      if (err instanceof YarnHttpError && err.status === 404 && err.isRemote('NotFoundException')) return undefined;
      throw err;
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.http.close(), this.decoder.close()]);
  }
}
