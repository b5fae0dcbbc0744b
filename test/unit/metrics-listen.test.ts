/** The metrics listener's address: a bad one or one in use names the flag and the address. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveMetrics } from '../../metrics/endpoint.js';
import { SettingsError } from '../../settings/settings.js';

const probe = { live: () => ({ ok: true }), healthy: () => ({ ok: true }), ready: () => ({ ok: true }) };

describe('serveMetrics', () => {
  let busy: Server;
  let port: number;
  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    port = (busy.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => busy.close(() => r())));

  it('a port in use says which flag and address are taken, not a raw listen EADDRINUSE', async () => {
    const err = await serveMetrics(`127.0.0.1:${port}`, new Registry(), probe).then(() => undefined, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(SettingsError);
    expect(err!.message).toBe(`--metrics-addr: cannot listen on 127.0.0.1:${port}: address already in use (another process is listening there) (EADDRINUSE)`);
    expect(err!.message).not.toMatch(/listen EADDRINUSE/);
  });

  it('names the setting it was given', async () => {
    await expect(serveMetrics('nonsense', new Registry(), probe, '--health-addr')).rejects.toThrow(/^--health-addr: "nonsense" is not host:port/);
  });

  it('serves on a free port', async () => {
    const ep = await serveMetrics('127.0.0.1:0', new Registry(), probe);
    const res = await fetch(`${ep.url}/healthz`);
    expect(res.status).toBe(200);
    await ep.close();
  });
});
