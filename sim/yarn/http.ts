/**
 * A loopback HTTP listener that can be stopped (connections refused) and started again on the same
 * port, as a crashed and restarted daemon would be.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /**
   * A large body as pieces (instead of `body`): written a few hundred KB at a time, the event loop
   * turning between writes, as a threaded server (the RM's Jetty) serves one request while it
   * answers others. A 35 MB node list joined and sent in one go held this process for 0.15–0.4 s.
   */
  pieces?: readonly Buffer[];
}

/** Bytes written per turn of the event loop for a body given as pieces. */
const PIECES_PER_TURN_BYTES = 256 * 1024;

/** Largest request body the simulators accept (a resize body is ~100 bytes). */
const MAX_BODY = 1 << 20;

export class RestartableServer {
  private server: http.Server | undefined;
  private boundPort: number;

  constructor(private readonly handler: Handler, private readonly host = '127.0.0.1', port = 0) {
    this.boundPort = port;
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `http://${this.host}:${this.boundPort}`;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY) {
          res.writeHead(413, { 'Content-Type': 'text/plain;charset=utf-8', Connection: 'close' }).end('request body too large');
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => {
        if (res.writableEnded) return;
        try {
          this.handler(req, res, Buffer.concat(chunks));
        } catch (err) {
          if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain;charset=utf-8' });
          res.end(`simulator error: ${(err as Error).message}`);
        }
      });
    });
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.boundPort, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.boundPort = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Closes the listener and every open connection: clients now get ECONNREFUSED. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
    // Let in-process clients see the FIN before anyone reuses a pooled keep-alive socket, so the
    // next request meets a closed port (ECONNREFUSED) rather than a dead socket.
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function send(res: http.ServerResponse, reply: Reply, headOnly = false): void {
  const headers: Record<string, string> = { ...(reply.headers ?? {}) };
  if (reply.pieces) {
    const pieces = reply.pieces;
    headers['Content-Length'] = String(pieces.reduce((sum, p) => sum + p.length, 0));
    res.writeHead(reply.status, headers);
    if (headOnly) {
      res.end();
      return;
    }
    let next = 0;
    const step = (): void => {
      if (res.destroyed) return;
      const batch: Buffer[] = [];
      let bytes = 0;
      while (next < pieces.length && bytes < PIECES_PER_TURN_BYTES) {
        bytes += pieces[next]!.length;
        batch.push(pieces[next++]!);
      }
      const flushed = res.write(batch.length === 1 ? batch[0]! : Buffer.concat(batch, bytes));
      if (next >= pieces.length) res.end();
      else if (flushed) setImmediate(step);
      else res.once('drain', step);
    };
    step();
    return;
  }
  const body = reply.body ?? '';
  headers['Content-Length'] = String(Buffer.byteLength(body));
  res.writeHead(reply.status, headers);
  res.end(headOnly ? undefined : body);
}

/** Path and query of a request, path percent-decoded per segment as JAX-RS path params are. */
export function splitUrl(rawUrl: string | undefined): { path: string; rawPath: string; query: URLSearchParams; rawQuery: string } {
  const raw = rawUrl ?? '/';
  const q = raw.indexOf('?');
  const rawPath = q < 0 ? raw : raw.slice(0, q);
  const rawQuery = q < 0 ? '' : raw.slice(q + 1);
  let path = rawPath;
  try {
    path = rawPath.split('/').map((s) => decodeURIComponent(s)).join('/');
  } catch {
    path = rawPath;
  }
  return { path, rawPath, query: new URLSearchParams(rawQuery), rawQuery };
}

/** Media type of a Content-Type header, lower-cased, parameters dropped. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}
