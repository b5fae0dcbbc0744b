/**
 * SPNEGO against a real MIT KDC on loopback: Loom's client (yarn/spnego.ts, yarn/kerberos/) and the
 * simulators' hadoop-auth filter (sim/yarn/auth.ts), both through the native `kerberos` module.
 * The KDC, its packages and the module are installed when missing; the suite is skipped, with
 * the reason printed, only if that fails.
 */
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { request } from 'undici';
import { ManualClock } from '../../clock/clock.js';
import { SpnegoFilter, startYarnSim, type YarnSim } from '../../sim/yarn/index.js';
import { KerberosError } from '../../yarn/kerberos/errors.js';
import { KerberosLogin } from '../../yarn/kerberos/login.js';
import { NodeManagerClient } from '../../yarn/nm-client.js';
import { ResourceManagerClient } from '../../yarn/rm-client.js';
import { SpnegoAuthenticator, type SpnegoEvent } from '../../yarn/spnego.js';
import { DelegationTokenError, delegationTokenAuth } from '../../yarn/delegation-token.js';
import { mib, vcores } from '../../yarn/resource.js';
import { REALM, TestKdc, kerberosAvailable, kerberosBinding } from '../kdc.js';

const unavailable = kerberosAvailable();
if (unavailable) console.log(`skipping the Kerberos (SPNEGO) suite: ${unavailable}`);

const NODE = 'worker-1:45454';

describe.skipIf(unavailable !== undefined)('SPNEGO against a real KDC', () => {
  let kdc: TestKdc;
  let httpKeytab: string;
  let opKeytab: string;
  const OP = `loom/operator@${REALM}`;
  const envBefore = { ...process.env };
  const cleanups: (() => Promise<void> | void)[] = [];

  beforeAll(async () => {
    kdc = await TestKdc.start({ maxLife: '1m' });
    kdc.addPrincipal('HTTP/localhost');
    kdc.addPrincipal('HTTP/127.0.0.1');
    httpKeytab = kdc.keytab('HTTP/localhost');
    kdc.addPrincipal('loom/operator');
    opKeytab = kdc.keytab('loom/operator');
  }, 120_000);

  afterAll(async () => {
    await kdc?.stop();
  });

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    for (const k of Object.keys(process.env)) if (!(k in envBefore)) delete process.env[k];
    Object.assign(process.env, envBefore);
  });

  /** The environment the simulator and the client share in this process. */
  function useKdc(): void {
    process.env.KRB5_CONFIG = kdc.krb5Conf;
    process.env.KRB5RCACHEDIR = kdc.dir;
  }

  async function secureSim(o: { ha?: boolean; serverClock?: { now(): number }; validityMs?: number; delegationTokens?: Map<string, string> } = {}) {
    useKdc();
    const filter = new SpnegoFilter({
      keytab: httpKeytab, clock: o.serverClock ?? { now: () => Date.now() }, binding: kerberosBinding(),
      ...(o.validityMs ? { tokenValidityMs: o.validityMs } : {}),
      ...(o.delegationTokens ? { delegationTokens: o.delegationTokens } : {}),
    });
    const sim = await startYarnSim({
      nodes: [{ host: 'worker-1', rpcPort: 45454, memoryMiB: 8192, vcores: 8 }], heartbeatMs: 0, spnego: filter, ha: o.ha ?? false,
    });
    cleanups.push(() => sim.stop());
    return { sim, filter };
  }

  async function login(o: Partial<ConstructorParameters<typeof KerberosLogin>[0]> = {}) {
    const workDir = mkdtempSync(join(tmpdir(), 'loom-krb5-test-'));
    const l = new KerberosLogin({ principal: OP, keytab: opKeytab, workDir, binding: kerberosBinding(), ...o });
    cleanups.push(() => { l.stop(); rmSync(workDir, { recursive: true, force: true }); });
    await l.start();
    return l;
  }

  const localhost = (url: string) => url.replace('127.0.0.1', 'localhost');

  function nmClient(sim: YarnSim, auth?: SpnegoAuthenticator, url = localhost(sim.nodeManagers.get(NODE)!.url)) {
    const c = new NodeManagerClient({ url, retries: 0, timeoutMs: 5_000, ...(auth ? { auth } : {}) });
    cleanups.push(() => c.close());
    return c;
  }

  function spnego(l: KerberosLogin, o: { clock?: ManualClock; servicePrincipal?: string } = {}) {
    const events: SpnegoEvent[] = [];
    const auth = new SpnegoAuthenticator({ login: l, onEvent: (e) => events.push(e), ...o });
    return { auth, events, count: (k: SpnegoEvent['kind']) => events.filter((e) => e.kind === k).length };
  }

  test('reads a kerberized NodeManager: one negotiation, then the hadoop.auth cookie', async () => {
    const { sim, filter } = await secureSim();
    const l = await login();
    expect(l.lifetime?.principal).toBe(OP);
    expect(l.lifetime!.endMs - l.lifetime!.startMs).toBe(60_000);
    const { auth, count } = spnego(l);
    const nm = nmClient(sim, auth);
    expect((await nm.nodeInfo()).info.id).toBe(NODE);
    for (let i = 0; i < 3; i++) expect((await nm.listContainers()).containers).toEqual([]);
    expect(filter.counts).toMatchObject({ negotiated: 1, cookie: 3, refused: 0 });
    expect(count('negotiate')).toBe(1);
    expect(auth.cookieFor(new URL(nm.url).origin)).toMatch(/^"u=loom&p=loom\/operator@LOOM\.TEST&t=kerberos&e=\d+&s=/);
  });

  test('a Kerberos server and no Kerberos configured: one error naming Kerberos', async () => {
    const { sim } = await secureSim();
    const err = await nmClient(sim).nodeInfo().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KerberosError);
    expect((err as Error).message).toMatch(/^Kerberos: http:\/\/localhost:\d+ requires Kerberos \(401 WWW-Authenticate: Negotiate\) and none is configured: set --kerberos-principal and --kerberos-keytab/);
  });

  test('the cookie is reused until it expires, then the client negotiates again', async () => {
    const clock = new ManualClock(Date.now());
    const { sim, filter } = await secureSim({ serverClock: { now: () => clock.wallNow() }, validityMs: 60_000 });
    const { auth, count } = spnego(await login(), { clock });
    const nm = nmClient(sim, auth);
    await nm.nodeInfo();
    await clock.advance(59_000);
    await nm.nodeInfo();
    expect(filter.counts).toMatchObject({ negotiated: 1, cookie: 1 });
    await clock.advance(2_000);
    await nm.nodeInfo();
    // The client knew the cookie had expired (its e= field): no request was wasted on it.
    expect(filter.counts).toMatchObject({ negotiated: 2, cookie: 1, challenged: 0 });
    expect(count('negotiate')).toBe(2);
  });

  test('a 401 while holding a cookie drops it and negotiates once more; a POST runs once', async () => {
    const clientClock = new ManualClock(Date.now());
    let serverSkewMs = 0;
    const { sim, filter } = await secureSim({ serverClock: { now: () => Date.now() + serverSkewMs }, validityMs: 60_000 });
    const { auth, count } = spnego(await login(), { clock: clientClock });
    const rm = new ResourceManagerClient({ rmUrls: [localhost(sim.resourceManagers[0]!.url)], auth, retries: 0 });
    cleanups.push(() => rm.close());
    await rm.getNode(NODE);
    serverSkewMs = 120_000; // the server sees the cookie as expired; the client does not
    const update = await rm.updateNodeResource(NODE, { memoryMiB: mib(4096), vcores: vcores(4) }, -1);
    expect(update.applied).toBe(true);
    expect(filter.counts.challenged).toBe(1);
    expect(count('cookie-dropped')).toBe(1);
    expect(count('negotiate')).toBe(2);
    expect(sim.cluster.counters.get('rm.resize')).toBe(1);
  });

  test('failed accepts are 403 without a challenge and clear the cookie; no credentials is 401 Negotiate', async () => {
    const { sim, filter } = await secureSim();
    process.env.KRB5_CLIENT_KTNAME = `FILE:${opKeytab}`;
    process.env.KRB5CCNAME = `FILE:${join(kdc.dir, 'raw-ccache')}`;
    const b = kerberosBinding();
    const ctx = await b.initializeClient('HTTP@localhost', { principal: OP, mechOID: b.GSS_MECH_OID_SPNEGO });
    const token = await ctx.step('');
    const url = `${localhost(sim.nodeManagers.get(NODE)!.url)}/ws/v1/node/info`;
    const send = async (headers: Record<string, string>) => {
      const r = await request(url, { headers: { accept: 'application/json', ...headers } });
      await r.body.text();
      return { status: r.statusCode, challenge: r.headers['www-authenticate'], cookie: r.headers['set-cookie'] };
    };
    const none = await send({});
    expect(none).toMatchObject({ status: 401, challenge: 'Negotiate', cookie: 'hadoop.auth=; Path=/; HttpOnly' });
    const first = await send({ authorization: `Negotiate ${token}` });
    expect(first.status).toBe(200);
    expect(first.challenge).toMatch(/^Negotiate \S+/);
    expect(first.cookie).toMatch(/^hadoop\.auth="u=loom&/);
    const replay = await send({ authorization: `Negotiate ${token}` });
    expect(replay).toMatchObject({ status: 403, challenge: undefined, cookie: 'hadoop.auth=; Path=/; HttpOnly' });
    const garbage = await send({ authorization: `Negotiate ${Buffer.from('not a token').toString('base64')}` });
    expect(garbage).toMatchObject({ status: 403, challenge: undefined });
    const forged = await send({ cookie: 'hadoop.auth="u=root&p=root@LOOM.TEST&t=kerberos&e=99999999999999&s=AAAA"' });
    expect(forged).toMatchObject({ status: 401, challenge: 'Negotiate' });
    expect(filter.counts).toMatchObject({ negotiated: 1, refused: 2 });
  });

  test('the service principal is HTTP/<host of the URL>: calling the NM by IP is refused, an override fixes it', async () => {
    const { sim, filter } = await secureSim();
    const l = await login();
    const byIp = sim.nodeManagers.get(NODE)!.url;
    const err = await nmClient(sim, spnego(l).auth, byIp).nodeInfo().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KerberosError);
    expect((err as KerberosError).failure).toBe('server');
    expect((err as Error).message).toMatch(/^Kerberos: http:\/\/127\.0\.0\.1:\d+ refused loom\/operator@LOOM\.TEST's ticket for HTTP\/127\.0\.0\.1 \(HTTP 403: .*GSSException/);
    expect(filter.counts.refused).toBe(1);
    const fixed = nmClient(sim, spnego(l, { servicePrincipal: 'HTTP/localhost' }).auth, byIp);
    expect((await fixed.nodeInfo()).info.id).toBe(NODE);
    const unknown = nmClient(sim, spnego(l, { servicePrincipal: 'HTTP/nowhere.invalid' }).auth);
    const err2 = await unknown.nodeInfo().catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(KerberosError);
    expect((err2 as KerberosError).failure).toBe('kdc');
    expect((err2 as Error).message).toMatch(/^Kerberos: .*no service principal HTTP\/nowhere\.invalid/);
  });

  test('a mutual-authentication token that does not verify makes the answer untrusted', async () => {
    useKdc();
    const l = await login();
    let withToken = true;
    const server: Server = createServer((req, res) => {
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      if (withToken) headers['WWW-Authenticate'] = `Negotiate ${Buffer.from('forged server token').toString('base64')}`;
      res.writeHead(200, headers).end('{"nodeInfo":{"id":"worker-1:45454"}}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const url = `http://localhost:${(server.address() as { port: number }).port}`;
    const c = new NodeManagerClient({ url, retries: 0, auth: spnego(l).auth });
    cleanups.push(() => c.close());
    const err = await c.nodeInfo().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KerberosError);
    expect((err as KerberosError).failure).toBe('mutual');
    expect((err as Error).message).toMatch(/mutual-authentication token that does not verify/);
    withToken = false; // no token at all: nothing to verify
    expect((await c.nodeInfo()).info.id).toBe('worker-1:45454');
  });

  test('in HA each ResourceManager is its own service with its own cookie', async () => {
    const { sim, filter } = await secureSim({ ha: true });
    const { auth, events } = spnego(await login());
    const urls = sim.resourceManagers.map((r) => localhost(r.url));
    const rm = new ResourceManagerClient({ rmUrls: urls, auth, retries: 0 });
    cleanups.push(() => rm.close());
    await rm.getNode(NODE);
    sim.failover();
    await rm.getNode(NODE);
    await rm.getNode(NODE);
    const origins = urls.map((u) => new URL(u).origin);
    // One negotiation per RM (never rm1's cookie sent to rm2), then each RM's own cookie.
    expect(events.filter((e) => e.kind === 'negotiate').map((e) => e.origin).sort()).toEqual([...origins].sort());
    const cookieUses = events.filter((e) => e.kind === 'cookie').map((e) => e.origin);
    for (const o of origins) expect(cookieUses.filter((c) => c === o).length, o).toBeGreaterThan(0);
    for (const o of origins) expect(auth.cookieFor(o)).toMatch(/^"u=loom&/);
    expect(filter.counts.refused).toBe(0);
  });

  test('login failures: each one error naming Kerberos and the principal', async () => {
    useKdc();
    kdc.addPrincipal('loom/ghost');
    const ghostKeytab = kdc.keytab('loom/ghost');
    kdc.kadmin(`delprinc -force loom/ghost@${REALM}`);
    kdc.addPrincipal('loom/stale');
    const staleKeytab = kdc.keytab('loom/stale', join(kdc.dir, 'stale-old.keytab'));
    kdc.keytab('loom/stale', join(kdc.dir, 'stale-new.keytab')); // new keys: the old keytab no longer matches
    const cases: { o: Partial<ConstructorParameters<typeof KerberosLogin>[0]>; failure: string; message: RegExp }[] = [
      { o: { principal: `loom/ghost@${REALM}`, keytab: ghostKeytab }, failure: 'kdc', message: /the KDC does not know the principal loom\/ghost@LOOM\.TEST/ },
      { o: { principal: `loom/stale@${REALM}`, keytab: staleKeytab }, failure: 'kdc', message: /keys in .*stale-old\.keytab do not match the KDC's for loom\/stale@LOOM\.TEST/ },
      { o: { principal: `loom/other@${REALM}`, keytab: opKeytab }, failure: 'credentials', message: /keytab .* has no key for loom\/other@LOOM\.TEST/ },
      { o: { principal: OP, keytab: join(kdc.dir, 'missing.keytab') }, failure: 'credentials', message: /cannot read the keytab .*missing\.keytab \(ENOENT\)/ },
      { o: { principal: OP, keytab: undefined, ticketCache: `FILE:${join(kdc.dir, 'empty-ccache')}` }, failure: 'credentials', message: /no usable ticket for loom\/operator@LOOM\.TEST in the ticket cache — run kinit/ },
    ];
    const env = { ...process.env };
    for (const c of cases) {
      for (const k of Object.keys(process.env)) if (!(k in env)) delete process.env[k];
      Object.assign(process.env, env);
      const err = await login(c.o).catch((e: unknown) => e);
      expect(err, JSON.stringify(c.o)).toBeInstanceOf(KerberosError);
      expect((err as KerberosError).failure, JSON.stringify(c.o)).toBe(c.failure);
      expect((err as Error).message.split('\n'), JSON.stringify(c.o)).toHaveLength(1);
      expect((err as Error).message, JSON.stringify(c.o)).toMatch(/^Kerberos: /);
      expect((err as Error).message, JSON.stringify(c.o)).toMatch(c.message);
    }
  });

  test('an existing ticket cache (kinit) works without a keytab', async () => {
    const { sim } = await secureSim();
    const cache = join(kdc.dir, 'kinit-ccache');
    kdc.kinit(OP, opKeytab, cache);
    const l = await login({ keytab: undefined, ticketCache: `FILE:${cache}` });
    expect(l.lifetime?.principal).toBe(OP);
    expect((await nmClient(sim, spnego(l).auth).nodeInfo()).info.id).toBe(NODE);
  });

  test('the ticket is re-acquired from the keytab at 80 % of its lifetime, on the injected clock', async () => {
    const { sim } = await secureSim();
    const clock = new ManualClock(Date.now());
    const events: string[] = [];
    const l = await login({ clock, onEvent: (e) => events.push(e.kind) });
    const first = l.lifetime!;
    const firstCache = l.cacheFile()!;
    expect(clock.nextDueIn()).toBeGreaterThan(40_000);
    expect(clock.nextDueIn()).toBeLessThanOrEqual(48_000);
    const nm = nmClient(sim, spnego(l).auth);
    await nm.nodeInfo();
    await clock.advance(clock.nextDueIn()!);
    await l.whenIdle(); // the re-login the timer started
    expect(events).toEqual(['login', 'relogin']);
    expect(l.logins).toBe(2);
    expect(l.lifetime!.startMs).toBeGreaterThanOrEqual(first.startMs);
    expect(l.cacheFile()).not.toBe(firstCache);
    expect(existsSync(firstCache)).toBe(false);
    expect(clock.nextDueIn()).toBeGreaterThan(40_000);
    expect((await nm.nodeInfo()).info.id).toBe(NODE);
  });

  test('a delegation token (X-Hadoop-Delegation-Token) works instead of Kerberos', async () => {
    const { sim, filter } = await secureSim({ delegationTokens: new Map([['dt-123', OP]]) });
    const rm = new ResourceManagerClient({ rmUrls: [localhost(sim.resourceManagers[0]!.url)], headers: { 'X-Hadoop-Delegation-Token': 'dt-123' }, retries: 0 });
    cleanups.push(() => rm.close());
    expect((await rm.getNode(NODE)).id).toBe(NODE);
    expect(filter.counts.delegation).toBe(2); // the active-RM probe, then the node
    expect(filter.counts.negotiated).toBe(0);
    const wrong = new ResourceManagerClient({ rmUrls: [localhost(sim.resourceManagers[0]!.url)], headers: { 'X-Hadoop-Delegation-Token': 'dt-forged' }, retries: 0 });
    cleanups.push(() => wrong.close());
    await expect(wrong.clusterInfo()).rejects.toThrow(/HTTP 403.*InvalidToken/);
  });

  test("the RM answers a delegation token as hadoop-auth's DelegationTokenAuthenticationHandler does: no cookie for a good one, a JSON 403 for a bad one", async () => {
    const { sim } = await secureSim({ delegationTokens: new Map([['dt-123', OP]]) });
    const url = `${localhost(sim.resourceManagers[0]!.url)}/ws/v1/cluster/info`;
    // A good token authenticates this request only: the handler's token expires at 0, so the filter sets no hadoop.auth cookie.
    const ok = await fetch(url, { headers: { 'X-Hadoop-Delegation-Token': 'dt-123', accept: 'application/json' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('set-cookie')).toBeNull();
    // A bad one: 403 without a challenge, the exception as JSON (HttpExceptionUtils), the cookie untouched.
    const bad = await fetch(url, { headers: { 'X-Hadoop-Delegation-Token': 'dt-forged', accept: 'application/json' } });
    expect(bad.status).toBe(403);
    expect(bad.headers.get('www-authenticate')).toBeNull();
    expect(bad.headers.get('set-cookie')).toBeNull();
    expect(bad.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await bad.json()).toEqual({ RemoteException: {
      message: expect.stringMatching(/^org\.apache\.hadoop\.security\.token\.SecretManager\$InvalidToken: /),
      exception: 'AuthenticationException',
      javaClassName: 'org.apache.hadoop.security.authentication.client.AuthenticationException',
    } });
  });

  test('delegationTokenAuth: the token on every call (no cookie to reuse); a refused token, or an RM without the delegation-token filter, is one DelegationTokenError naming the file', async () => {
    const { sim, filter } = await secureSim({ delegationTokens: new Map([['dt-123', OP]]) });
    const url = localhost(sim.resourceManagers[0]!.url);
    const rm = new ResourceManagerClient({ rmUrls: [url], auth: delegationTokenAuth('dt-123', '/etc/loom/rm.token'), retries: 0 });
    cleanups.push(() => rm.close());
    expect((await rm.getNode(NODE)).id).toBe(NODE);
    expect((await rm.getNode(NODE)).id).toBe(NODE);
    expect(filter.counts.delegation).toBe(3); // the active-RM probe, then each call again
    const forged = new ResourceManagerClient({ rmUrls: [url], auth: delegationTokenAuth('dt-forged', '/etc/loom/rm.token'), retries: 0 });
    cleanups.push(() => forged.close());
    const refused = await forged.getNode(NODE).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DelegationTokenError);
    expect((refused as Error).message).toMatch(/refused the delegation token from \/etc\/loom\/rm\.token \(HTTP 403: .*InvalidToken.*\): fetch a new one/);
    // An RM whose filter takes no delegation tokens answers the header with the Negotiate challenge.
    const { sim: plain } = await secureSim({});
    const noFilter = new ResourceManagerClient({ rmUrls: [localhost(plain.resourceManagers[0]!.url)], auth: delegationTokenAuth('dt-123', '/etc/loom/rm.token'), retries: 0 });
    cleanups.push(() => noFilter.close());
    const challenged = await noFilter.getNode(NODE).catch((e: unknown) => e);
    expect(challenged).toBeInstanceOf(DelegationTokenError);
    expect((challenged as Error).message).toMatch(/does not take delegation tokens \(HTTP 401, WWW-Authenticate: Negotiate\)/);
  });
});
