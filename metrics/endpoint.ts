/** `/metrics` (Prometheus text), `/livez`, `/healthz` and `/readyz` on one small HTTP listener. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { parseListenAddress } from '../settings/listen-address.js';
import { SettingsError } from '../settings/settings.js';

export interface HealthProbe {
  /** `/livez`, for a livenessProbe: the loops are turning — a restart would help only when this fails. */
  live(): { ok: boolean; detail?: string };
  /** `/healthz`: every check of the program passes. */
  healthy(): { ok: boolean; detail?: string };
  /** Ready: synced and able to do its job. */
  ready(): { ok: boolean; detail?: string };
}

export interface MetricsEndpoint {
  url: string;
  close(): Promise<void>;
}

/** What the kernel's refusal to listen means, in words. */
const LISTEN_PROBLEMS: Record<string, string> = {
  EADDRINUSE: 'address already in use (another process is listening there)',
  EACCES: 'permission denied (a port below 1024 needs privileges)',
  EADDRNOTAVAIL: 'no such address on this host',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'host name lookup failed',
};

/**
 * Serve on `addr` (`host:port`, `:port` or `[v6]:port`; port 0 picks a free one). A bad or busy
 * address is a {@link SettingsError} naming `setting` (the flag it came from) and the address.
 */
export async function serveMetrics(addr: string, registry: Registry, probe: HealthProbe, setting = '--metrics-addr'): Promise<MetricsEndpoint> {
  const parsed = parseListenAddress(addr);
  if ('problem' in parsed) throw new SettingsError(setting, parsed.problem);
  const { host, port } = parsed;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err)),
      );
      return;
    }
    if (path === '/livez' || path === '/healthz' || path === '/readyz') {
      const r = path === '/livez' ? probe.live() : path === '/healthz' ? probe.healthy() : probe.ready();
      res.writeHead(r.ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' }).end(`${r.ok ? 'ok' : 'not ok'}${r.detail ? `: ${r.detail}` : ''}\n`);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? 'error';
      reject(new SettingsError(setting, `cannot listen on ${addr}: ${LISTEN_PROBLEMS[code] ?? err.message} (${code})`));
    });
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const shownHost = a.family === 'IPv6' ? `[${a.address}]` : a.address === '0.0.0.0' ? '127.0.0.1' : a.address;
  return {
    url: `http://${shownHost}:${a.port}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
