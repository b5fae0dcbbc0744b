/**
 * The yarn-copilot compatible HTTP API on a unix socket (reference/koordinator.md §3.2): what
 * koordlet's runtime-plugin client calls. The socket's directory is created, a stale socket
 * removed (a live one — another agent — is refused), and the mode set (default 0600: whoever can
 * connect can kill YARN containers). Every bad request is a 400 with a JSON body, never a crash.
 */
import fs from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../log/logger.js';
import {
  type ContainerInfo, CopilotRequestError, type KillByResourceRequest, parseKillByResourceRequest, parseKillContainerRequest,
} from './copilot-wire.js';

export interface CopilotBackend {
  /** This node's containers in every non-final state (NEW, LOCALIZING, SCHEDULED, RUNNING …). */
  containers(): ContainerInfo[];
  /** Any container of this node the NM lists (any state). */
  container(id: string): ContainerInfo | undefined;
  /** Kill one live container; returns its info read before the kill. Throws CopilotRequestError. */
  killContainer(id: string): Promise<ContainerInfo>;
  /** Release at least the request when possible; returns the released `ResourceList`. */
  killContainersByResource(request: KillByResourceRequest): Promise<Record<string, string>>;
}

export interface CopilotServer {
  socketPath: string;
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;

export async function serveCopilot(socketPath: string, mode: number, backend: CopilotBackend, logger: Logger): Promise<CopilotServer> {
  const abs = path.resolve(socketPath);
  fs.mkdirSync(path.dirname(abs), { recursive: true, mode: 0o755 });
  await removeStaleSocket(abs);
  const server: Server = createServer((req, res) => {
    handle(req, res, backend, logger).catch((err: unknown) => {
      logger.error({ err: (err as Error).message, method: req.method, url: req.url }, 'copilot API handler failed');
      if (!res.headersSent) reply(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  // Create the socket with the wanted mode from the start (no window where it is world-writable).
  // Node binds a pipe synchronously inside listen(), so the umask is restored before anything
  // else in this process can create a file.
  const listening = new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const oldMask = process.umask(0o777 & ~mode);
  try {
    server.listen(abs);
  } finally {
    process.umask(oldMask);
  }
  await listening;
  fs.chmodSync(abs, mode);
  logger.info({ socket: abs, mode: `0${mode.toString(8)}` }, 'yarn-copilot API listening');
  return {
    socketPath: abs,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          try {
            fs.unlinkSync(abs);
          } catch {
            // already gone
          }
          resolve();
        });
      }),
  };
}

/** A socket file nobody listens on is stale: remove it. A listening one or a non-socket is refused. */
async function removeStaleSocket(file: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`--socket ${file} exists and is not a socket: refusing to replace it`);
  const live = await new Promise<boolean>((resolve) => {
    const s = net.connect(file);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
  if (live) throw new Error(`--socket ${file}: another process is listening on it (another agent?)`);
  fs.unlinkSync(file);
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
}

function readBody(req: IncomingMessage, route: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (b: Buffer) => {
      size += b.length;
      if (size > MAX_BODY) {
        reject(new CopilotRequestError(route, `request body larger than ${MAX_BODY} bytes`));
        req.resume();
        return;
      }
      chunks.push(b);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function handle(req: IncomingMessage, res: ServerResponse, backend: CopilotBackend, logger: Logger): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://copilot');
  const route = `${req.method ?? 'GET'} ${url.pathname}`;
  try {
    switch (route) {
      case 'GET /health':
        return reply(res, 200, 'ok');
      case 'GET /information':
        return reply(res, 200, { name: 'yarn', version: 'v1' });
      case 'GET /v1/containers':
        return reply(res, 200, backend.containers());
      case 'GET /v1/container': {
        const id = url.searchParams.get('containerID') ?? '';
        const info = id === '' ? undefined : backend.container(id);
        if (!info) throw new CopilotRequestError(route, id === '' ? 'query parameter is required' : `container ${JSON.stringify(id.slice(0, 120))} not found on this node`, 'containerID');
        return reply(res, 200, info);
      }
      case 'POST /v1/killContainer': {
        const id = parseKillContainerRequest(await readBody(req, route));
        logger.info({ container: id }, 'copilot API: killContainer');
        const info = await backend.killContainer(id);
        return reply(res, 200, { items: [info] });
      }
      case 'POST /v1/killContainersByResource': {
        const request = parseKillByResourceRequest(await readBody(req, route));
        logger.info({ request }, 'copilot API: killContainersByResource');
        return reply(res, 200, await backend.killContainersByResource(request));
      }
      default:
        return reply(res, 404, { error: `no route ${route}` });
    }
  } catch (err) {
    if (err instanceof CopilotRequestError) {
      logger.info({ route, input: err.fields }, 'copilot API: request refused');
      return reply(res, 400, { error: err.message });
    }
    throw err;
  }
}
