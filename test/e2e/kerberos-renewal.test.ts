/**
 * Tickets that really expire: a KDC issuing 1-minute tickets (clock skew 5 s, so an expired ticket
 * is refused at once), the simulators' hadoop.auth cookie valid 5 s (so the operator negotiates
 * again and again with fresh service tickets), and `loom operator` running past the first
 * ticket's end. It re-logs in from its keytab before expiry and keeps reading and writing the RM.
 * This is the one suite that waits on real time (about 70 s): expiry is the KDC's clock.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SimWorld } from '../../sim/world.js';
import { SpnegoFilter } from '../../sim/yarn/index.js';
import { GIB, setOrigin, waitFor } from '../integration/operator-helpers.js';
import { REALM, TestKdc, kerberosAvailable, kerberosBinding } from '../kdc.js';

const unavailable = kerberosAvailable();
if (unavailable) console.log(`skipping the Kerberos renewal run: ${unavailable}`);

const CLI = ['--import', 'tsx', 'cli/main.ts'];
const cwd = new URL('../..', import.meta.url).pathname;

describe.skipIf(unavailable !== undefined)('1-minute tickets', () => {
  let kdc: TestKdc;
  let world: SimWorld;
  let filter: SpnegoFilter;
  let operator: ChildProcess | undefined;
  let log = '';
  const dir = mkdtempSync(join(tmpdir(), 'loom-kerberos-renewal-'));
  const envBefore = { ...process.env };

  beforeAll(async () => {
    kdc = await TestKdc.start({ maxLife: '1m', clockSkewSeconds: 5 });
    kdc.addPrincipal('HTTP/localhost');
    const httpKeytab = kdc.keytab('HTTP/localhost');
    kdc.addPrincipal('loom/operator');
    process.env.KRB5_CONFIG = kdc.krb5Conf;
    process.env.KRB5RCACHEDIR = kdc.dir;
    filter = new SpnegoFilter({ keytab: httpKeytab, clock: { now: () => Date.now() }, tokenValidityMs: 5_000, binding: kerberosBinding() });
    world = await SimWorld.start({ nodes: 2, ha: true, spnego: filter, standIns: false, seed: false, dir: join(dir, 'world') });
  }, 120_000);

  afterAll(async () => {
    if (operator && operator.exitCode === null) {
      const exited = new Promise((r) => operator!.once('exit', r));
      operator.kill('SIGTERM');
      await exited;
    }
    await world?.stop();
    await kdc?.stop();
    for (const k of Object.keys(process.env)) if (!(k in envBefore)) delete process.env[k];
    Object.assign(process.env, envBefore);
    rmSync(dir, { recursive: true, force: true });
  });

  const logLines = () => log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const totalOf = (node: string) => world.yarn.cluster.node(world.nodeIdOf(node))!.total;

  test('loom operator keeps reading and writing the RM across ticket renewals', async () => {
    setOrigin(world, 'node-1', 8_000, 32 * GIB);
    setOrigin(world, 'node-2', 8_000, 32 * GIB);
    operator = spawn(process.execPath, [...CLI, 'operator',
      '--kubeconfig', world.kube.kubeconfigPath, '--hadoop-conf-dir', world.hadoopConfDir, '--metrics-addr', '127.0.0.1:0',
      '--no-leader-election', '--poll-seconds', '1', '--grow-interval-seconds', '0', '--hysteresis-percent', '0',
      '--hysteresis-cpu-milli', '0', '--hysteresis-memory-bytes', '0',
      '--kerberos-principal', `loom/operator@${REALM}`, '--kerberos-keytab', kdc.keytab('loom/operator'),
    ], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KRB5_CONFIG: kdc.krb5Conf, LOOM_LOG_LEVEL: 'info' } });
    operator.stdout!.on('data', (c) => { log += String(c); });
    operator.stderr!.on('data', (c) => { log += String(c); });

    const login = await waitFor(() => logLines().find((l) => l.msg === 'Kerberos login'), 30_000, 'the Kerberos login');
    const firstExpiry = Date.parse(login.expiresAt as string);
    expect(firstExpiry - Date.now()).toBeLessThanOrEqual(60_000);
    const firstTotal = await waitFor(() => {
      const t = totalOf('node-1');
      return t.vcores !== 8 ? t : undefined;
    }, 30_000, 'the first resize');

    // Past the first ticket's end (and the 5 s skew): the operator must have logged in again.
    const relogin = await waitFor(() => logLines().find((l) => l.msg === 'Kerberos re-login from the keytab'), 70_000, 'a re-login');
    expect(Date.parse(relogin.expiresAt as string)).toBeGreaterThan(firstExpiry);
    const negotiatedBefore = filter.counts.negotiated;
    await waitFor(() => Date.now() > firstExpiry + 6_000, 30_000, 'the first ticket to expire');
    await waitFor(() => filter.counts.negotiated > negotiatedBefore + 1, 20_000, 'negotiations after the first ticket expired');

    // A new origin after expiry still reaches the RM.
    setOrigin(world, 'node-1', 4_000, 16 * GIB);
    await waitFor(() => {
      const t = totalOf('node-1');
      return t.vcores !== firstTotal.vcores ? t : undefined;
    }, 20_000, 'a resize after the first ticket expired');
    expect(filter.counts.refused).toBe(0);
    expect(log).not.toMatch(/Kerberos re-login failed|ResourceManager unavailable|refused/);
    expect(operator.exitCode).toBeNull();
  }, 150_000);
});
