/**
 * A NodeManager that says whatever a test wants, over real loopback HTTP: a list of entries
 * (any fields, any state, any node), or a raw body (garbage, huge, streamed), or a delay.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const FAKE_NODE_ID = 'node-a:45454';

export interface NmEntry {
  id: string;
  nodeId?: string;
  mb?: number;
  vcores?: number;
  state?: string;
  /** Extra or overriding fields, e.g. `{ exitCode: 'NaN' }`. */
  fields?: Record<string, unknown>;
  /** Only id, state and nodeId (short entries for very long lists). */
  minimal?: boolean;
}

export function nmEntryJson(e: NmEntry, nodeId = FAKE_NODE_ID): Record<string, unknown> {
  if (e.minimal) return { id: e.id, state: e.state ?? 'RUNNING', nodeId: e.nodeId ?? nodeId, ...e.fields };
  return {
    id: e.id, state: e.state ?? 'RUNNING', exitCode: -1000, diagnostics: '', user: 'etl', totalMemoryNeededMB: e.mb ?? 2048,
    totalVCoresNeeded: e.vcores ?? 1, executionType: 'GUARANTEED', containerLogsLink: '', nodeId: e.nodeId ?? nodeId,
    containerLogFiles: [], ...e.fields,
  };
}

export class FakeNm {
  entries: NmEntry[] = [];
  /** When set, the container list answer is this body instead of the entries. */
  rawContainers: { contentType: string; body: string | Buffer } | undefined;
  /** When set, the container list is streamed by this function instead. */
  streamContainers: ((res: http.ServerResponse) => void) | undefined;
  /** Requests served, by path. */
  readonly served = new Map<string, number>();
  private server: http.Server | undefined;
  private rendered: { entries: NmEntry[]; body: Buffer } | undefined;
  port = 0;

  constructor(readonly nodeId = FAKE_NODE_ID) {}

  /**
   * The container list body, rendered once per list: a 50,000-entry list is serialised here, when
   * the test asks (before it starts measuring), not while the agent's requests are being timed.
   */
  render(): Buffer {
    if (this.rendered?.entries !== this.entries) {
      this.rendered = { entries: this.entries, body: Buffer.from(JSON.stringify({ containers: { container: this.entries.map((e) => nmEntryJson(e, this.nodeId)) } })) };
    }
    return this.rendered.body;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const p = (req.url ?? '').split('?')[0]!;
      this.served.set(p, (this.served.get(p) ?? 0) + 1);
      if (p === '/ws/v1/node/info') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ nodeInfo: { id: this.nodeId, nodeHostName: 'node-a', nmStartupTime: 1_700_000_000_000, nodeHealthy: true } }));
        return;
      }
      if (p !== '/ws/v1/node/containers') {
        res.writeHead(404).end();
        return;
      }
      if (this.streamContainers) {
        this.streamContainers(res);
        return;
      }
      if (this.rawContainers) {
        res.writeHead(200, { 'content-type': this.rawContainers.contentType }).end(this.rawContainers.body);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(this.render());
    });
    await new Promise<void>((r) => this.server!.listen(this.port, '127.0.0.1', () => r()));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}
