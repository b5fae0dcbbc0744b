/**
 * The Kerberos identity of one Loom process (the operator's or the agent's), as Hadoop's
 * `UserGroupInformation` keeps it: a principal logged in from a keytab, re-logged in from the
 * keytab before its ticket-granting ticket expires (at 80 % of its lifetime, Hadoop's renew
 * window), or an existing ticket cache (`kinit`), used as it is.
 *
 * MIT's GSS library reads its configuration from the environment, which is per process, so the
 * login owns these variables for the whole process:
 * - `KRB5_CONFIG`: a small file of Loom's goes first (`dns_canonicalize_hostname = false`,
 *   `rdns = false`: the service principal is `HTTP/<host of the URL>`, never a DNS answer, as
 *   hadoop-auth's Java client does), then the user's `KRB5_CONFIG` (default `/etc/krb5.conf`).
 * - keytab mode: `KRB5_CLIENT_KTNAME` is the keytab and `KRB5CCNAME` a private cache in a
 *   directory of Loom's (the user's own cache is never touched); each re-login fills a new cache
 *   and switches to it, so a negotiation in flight keeps the one it started with.
 * - cache mode: `KRB5CCNAME` is the configured cache (else the inherited one).
 */
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { Logger } from '../../log/logger.js';
import { systemClock, type Clock, type Timer } from '../../clock/clock.js';
import { CredentialCacheError, parseCredentialCache, tgtLifetime, type TgtLifetime } from './ccache.js';
import { KerberosError } from './errors.js';
import { loadKerberos, type GssClientContext, type KerberosBinding } from './module.js';
import { expandHost, isPrincipal, type ServiceName } from './principal.js';

/** Hadoop's `TICKET_RENEW_WINDOW`: re-login once 80 % of the ticket's lifetime has passed. */
export const RELOGIN_FRACTION = 0.8;
/** Never re-login more often than this, whatever the ticket says (Hadoop's minimum is 60 s). */
export const MIN_RELOGIN_INTERVAL_MS = 1_000;

export interface KerberosSettings {
  /** Client principal; `_HOST` is this machine's name. Required with a keytab. */
  principal?: string;
  /** Keytab to log in from (and re-login from). Without it: the ticket cache. */
  keytab?: string;
  /** Ticket cache to use without a keytab (default: `KRB5CCNAME`, else MIT's default). */
  ticketCache?: string;
  /** Service principal override (`HTTP/_HOST@REALM`; `_HOST` is the URL's host). */
  servicePrincipal?: string;
}

export interface KerberosLoginEvent {
  kind: 'login' | 'relogin' | 'failure';
  principal: string;
  /** TGT end, ms since the epoch, when known. */
  expiresAt?: number;
  error?: string;
}

export interface KerberosLoginOptions extends KerberosSettings {
  clock?: Clock;
  logger?: Logger;
  /** For `_HOST` in the client principal (default this machine's host name). */
  hostname?: string;
  /** Where the private cache and configuration go (default a new temp dir). */
  workDir?: string;
  /** The process environment MIT reads (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  binding?: KerberosBinding;
  /** Hosts whose realm must be fixed (a service principal override with a realm). */
  domainRealms?: Record<string, string>;
  onEvent?: (e: KerberosLoginEvent) => void;
}

/** Turns an MIT error message into what the user should do. */
export function explainLoginFailure(message: string, who: string, keytab: string | undefined): { failure: 'credentials' | 'kdc'; text: string } {
  const m = message.replace(/\s+/g, ' ').trim();
  if (/not found in Kerberos database|Client '.*' not found|CLIENT_NOT_FOUND/i.test(m)) {
    return { failure: 'kdc', text: `the KDC does not know the principal ${who} (${m})` };
  }
  if (/Preauthentication failed|Password incorrect|Decrypt integrity check failed|bad encryption type|integrity check/i.test(m)) {
    return { failure: 'kdc', text: `the keys in ${keytab ?? 'the keytab'} do not match the KDC's for ${who} — the keytab is stale or for another principal (${m})` };
  }
  if (/Cannot contact any KDC|Cannot find KDC|unable to reach any KDC/i.test(m)) {
    return { failure: 'kdc', text: `no KDC answers for ${who}'s realm — check krb5.conf [realms] and KRB5_CONFIG (${m})` };
  }
  if (keytab && /Keytab contains no suitable keys|No key table entry found|in cache collection|Key table entry not found/i.test(m)) {
    return { failure: 'credentials', text: `the keytab ${keytab} has no key for ${who} (${m})` };
  }
  if (!keytab) {
    return { failure: 'credentials', text: `no usable ticket for ${who || 'the default principal'} in the ticket cache — run kinit, or give --kerberos-keytab and --kerberos-principal (${m})` };
  }
  return { failure: 'credentials', text: `cannot log in as ${who} from ${keytab} (${m})` };
}

/** Explains a failure to get a service ticket (the first step of a negotiation). */
export function explainServiceFailure(message: string, service: ServiceName): string {
  const m = message.replace(/\s+/g, ' ').trim();
  if (/not found in Kerberos database|S_PRINCIPAL_UNKNOWN|Server .* not found/i.test(m)) {
    return `the KDC has no service principal ${service.principal} — the server's SPNEGO principal must be HTTP/<host of the URL>, or name it with --kerberos-service-principal (${m})`;
  }
  if (/expired/i.test(m)) return `the ticket expired and could not be renewed (${m})`;
  return `cannot get a ticket for ${service.principal} (${m})`;
}

export class KerberosLogin {
  readonly principal: string | undefined;
  readonly keytab: string | undefined;
  private readonly clock: Clock;
  private readonly env: NodeJS.ProcessEnv;
  private readonly workDir: string;
  private readonly ownsWorkDir: boolean;
  private binding: KerberosBinding | undefined;
  private timer: Timer | undefined;
  private pending: Promise<void> | undefined;
  private generation = 0;
  private stopped = false;
  /** The current TGT, when the cache is a readable file. */
  lifetime: TgtLifetime | undefined;
  logins = 0;

  constructor(private readonly o: KerberosLoginOptions) {
    this.clock = o.clock ?? systemClock;
    this.env = o.env ?? process.env;
    if (o.keytab !== undefined && !o.principal) {
      throw new KerberosError(o.keytab, 'credentials', `a keytab (${o.keytab}) needs the principal to log in as: set --kerberos-principal`);
    }
    const principal = o.principal ? expandHost(o.principal, o.hostname ?? hostname()) : undefined;
    if (principal !== undefined && !isPrincipal(principal)) {
      throw new KerberosError(principal, 'credentials', `${JSON.stringify(principal)} is not a principal (expected name[/instance][@REALM])`);
    }
    this.principal = principal;
    this.keytab = o.keytab !== undefined ? resolve(o.keytab) : undefined;
    this.ownsWorkDir = o.workDir === undefined;
    this.workDir = o.workDir ?? mkdtempSync(join(tmpdir(), 'loom-krb5-'));
  }

  /** Who we are, for messages. */
  get who(): string {
    return this.principal ?? '(ticket cache principal)';
  }

  /** Configures the environment, loads the module and logs in; throws one KerberosError line. */
  async start(): Promise<void> {
    this.binding = this.o.binding ?? loadKerberos();
    this.configureEnvironment();
    await this.login('login');
  }

  private configureEnvironment(): void {
    const overlay = join(this.workDir, 'krb5-loom.conf');
    const realms = Object.entries(this.o.domainRealms ?? {}).map(([host, realm]) => `  ${host} = ${realm}`);
    writeFileSync(overlay, [
      '# Written by Loom: service principals are HTTP/<host of the URL>, as hadoop-auth asks for them.',
      '[libdefaults]', '  dns_canonicalize_hostname = false', '  rdns = false',
      ...(realms.length ? ['[domain_realm]', ...realms] : []), '',
    ].join('\n'));
    const user = this.env.KRB5_CONFIG || '/etc/krb5.conf';
    this.env.KRB5_CONFIG = `${overlay}:${user}`;
    if (this.keytab) {
      try {
        accessSync(this.keytab, constants.R_OK);
      } catch (err) {
        throw new KerberosError(this.keytab, 'credentials', `cannot read the keytab ${this.keytab} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      this.env.KRB5_CLIENT_KTNAME = `FILE:${this.keytab}`;
    } else if (this.o.ticketCache) {
      this.env.KRB5CCNAME = this.o.ticketCache;
    }
  }

  /** The path of the cache we use, when it is a file. */
  cacheFile(): string | undefined {
    const name = this.env.KRB5CCNAME;
    if (!name) return `/tmp/krb5cc_${process.getuid?.() ?? 0}`;
    if (name.startsWith('FILE:')) return name.slice(5);
    if (!name.includes(':') && isAbsolute(name)) return name;
    return undefined;
  }

  private async login(kind: 'login' | 'relogin'): Promise<void> {
    // One login at a time: a re-login asked for while another runs follows it.
    const run = (this.pending ?? Promise.resolve()).then(() => this.doLogin(kind));
    const settled: Promise<void> = run.then(() => undefined, () => undefined).then(() => {
      if (this.pending === settled) this.pending = undefined;
    });
    this.pending = settled;
    await run;
  }

  private async doLogin(kind: 'login' | 'relogin'): Promise<void> {
    const binding = this.binding!;
    const previous = this.keytab ? this.cacheFile() : undefined;
    if (this.keytab) {
      // A fresh cache: MIT fills it from KRB5_CLIENT_KTNAME when credentials are acquired.
      this.generation++;
      this.env.KRB5CCNAME = `FILE:${join(this.workDir, `ccache.${this.generation}`)}`;
    }
    try {
      // Acquiring initiator credentials for our principal logs in (keytab) or checks the cache.
      await binding.initializeClient('HTTP@localhost', { ...(this.principal ? { principal: this.principal } : {}), mechOID: binding.GSS_MECH_OID_SPNEGO });
    } catch (err) {
      const { failure, text } = explainLoginFailure((err as Error).message, this.who, this.keytab);
      this.o.onEvent?.({ kind: 'failure', principal: this.who, error: text });
      if (kind === 'relogin') {
        // Keep the previous cache: its ticket may still be valid; try again at the next turn.
        if (previous) this.env.KRB5CCNAME = `FILE:${previous}`;
        this.o.logger?.error({ principal: this.who, err: text }, 'Kerberos re-login failed; retrying');
        this.schedule(Math.max(MIN_RELOGIN_INTERVAL_MS, (this.lifetime ? (this.lifetime.endMs - this.clock.wallNow()) / 4 : 60_000)));
        return;
      }
      throw new KerberosError(this.keytab ?? this.env.KRB5CCNAME ?? 'ticket cache', failure, text, { cause: err });
    }
    this.lifetime = this.readLifetime();
    if (!this.keytab && this.lifetime && this.lifetime.endMs <= this.clock.wallNow()) {
      throw new KerberosError(this.cacheFile() ?? 'ticket cache', 'credentials', `the ticket of ${this.lifetime.principal} in ${this.cacheFile()} expired at ${new Date(this.lifetime.endMs).toISOString()} — run kinit, or give --kerberos-keytab`);
    }
    if (previous && this.keytab && previous !== this.cacheFile()) rmSync(previous, { force: true });
    this.logins++;
    const event: KerberosLoginEvent = { kind, principal: this.lifetime?.principal ?? this.who };
    if (this.lifetime) event.expiresAt = this.lifetime.endMs;
    this.o.onEvent?.(event);
    this.o.logger?.info({ principal: event.principal, keytab: this.keytab, expiresAt: this.lifetime ? new Date(this.lifetime.endMs).toISOString() : undefined }, kind === 'login' ? 'Kerberos login' : 'Kerberos re-login from the keytab');
    if (this.keytab) this.scheduleRelogin();
  }

  private readLifetime(): TgtLifetime | undefined {
    const file = this.cacheFile();
    if (!file) return undefined;
    let buf: Buffer;
    try {
      buf = readFileSync(file);
    } catch {
      return undefined;
    }
    try {
      return tgtLifetime(parseCredentialCache(buf, file));
    } catch (err) {
      if (err instanceof CredentialCacheError) this.o.logger?.warn({ err: err.message }, 'cannot read the ticket lifetime from the credential cache');
      return undefined;
    }
  }

  /** Pure: ms from `now` until the re-login (80 % into the ticket's lifetime). */
  static reloginDelay(lifetime: TgtLifetime, nowMs: number): number {
    const at = lifetime.startMs + (lifetime.endMs - lifetime.startMs) * RELOGIN_FRACTION;
    return Math.max(MIN_RELOGIN_INTERVAL_MS, Math.round(at - nowMs));
  }

  private scheduleRelogin(): void {
    if (!this.lifetime) {
      this.o.logger?.warn({ principal: this.who, cache: this.cacheFile() }, 'cannot read the ticket lifetime; re-login every 10 minutes');
      this.schedule(600_000);
      return;
    }
    // The ticket was just issued: its age is zero by the KDC's clock, whatever ours says.
    this.schedule(KerberosLogin.reloginDelay(this.lifetime, this.lifetime.startMs));
  }

  private schedule(ms: number): void {
    this.timer?.cancel();
    if (this.stopped) return;
    this.timer = this.clock.setTimer(ms, () => {
      this.timer = undefined;
      void this.login('relogin').catch(() => undefined);
    });
  }

  /** Re-login now (keytab mode); a no-op with a ticket cache. */
  async relogin(): Promise<void> {
    if (!this.keytab) return;
    await this.login('relogin');
  }

  /** Resolves once no login or re-login is running. */
  async whenIdle(): Promise<void> {
    while (this.pending) await this.pending;
  }

  /** A new initiator context for one negotiation with `service`. Never reused. */
  async client(service: ServiceName): Promise<GssClientContext> {
    if (!this.binding) throw new Error('KerberosLogin.start() was not called');
    if (this.pending) await this.pending;
    const b = this.binding;
    return b.initializeClient(service.hostBased, {
      ...(this.principal ? { principal: this.principal } : {}),
      mechOID: b.GSS_MECH_OID_SPNEGO,
      gssFlag: b.GSS_C_MUTUAL_FLAG | b.GSS_C_SEQUENCE_FLAG,
    });
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    if (this.ownsWorkDir) rmSync(this.workDir, { recursive: true, force: true });
  }
}
