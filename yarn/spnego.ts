/**
 * SPNEGO towards Hadoop web services, as hadoop-auth's client and server agree on it:
 *
 * - A valid `hadoop.auth` cookie for the origin is sent instead of negotiating, until it expires.
 * - Otherwise a fresh token (`Authorization: Negotiate …`) for `HTTP/<host of the URL>` is sent;
 *   a token is never sent twice (the server's replay cache answers 403).
 * - A 401 while holding a cookie: the cookie is dropped and we negotiate once more (the filter ran
 *   before the servlet, so even a POST was not executed).
 * - A 401 or 403 that clears the cookie after our token: the server refused our ticket; one
 *   KerberosError says which principal and service. A 403 that carries a fresh cookie is the
 *   servlet's own answer and goes back to the caller like any other.
 * - `WWW-Authenticate: Negotiate <token>` in the answer is the server's mutual-authentication
 *   token: it must verify, or the answer is not trusted.
 * Each origin (each RM of an HA pair, each NM) is its own service with its own cookie.
 */
import type { Logger } from '../log/logger.js';
import { systemClock, type Clock } from '../clock/clock.js';
import { KerberosError } from './kerberos/errors.js';
import { explainServiceFailure, type KerberosLogin } from './kerberos/login.js';
import { serviceNameFor, type ServiceName } from './kerberos/principal.js';

export const AUTH_COOKIE = 'hadoop.auth';

/** What the authenticator needs to see of an answer. */
export interface AuthAnswer {
  status: number;
  header(name: string): string | undefined;
  setCookies: readonly string[];
  /** Short excerpt of the body, for messages. */
  excerpt(): string;
}

/** Sends one request with extra headers; each call is a new HTTP request. */
export type SendWith<T extends AuthAnswer> = (headers: Record<string, string>) => Promise<T>;

export interface Authenticator {
  exchange<T extends AuthAnswer>(url: URL, send: SendWith<T>): Promise<T>;
}

export interface SpnegoEvent {
  kind: 'negotiate' | 'cookie' | 'cookie-dropped' | 'refused' | 'mutual-failed';
  origin: string;
}

/** The `Negotiate` challenge or token of an answer, if any: `''` for a bare challenge. */
export function negotiateToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const m = /^\s*Negotiate(?:\s+([A-Za-z0-9+/=_-]+))?\s*$/i.exec(part);
    if (m) return m[1] ?? '';
  }
  return undefined;
}

interface StoredCookie {
  /** As received, quotes included (sent back verbatim). */
  value: string;
  /** ms since the epoch, when the cookie or its `e=` field says. */
  expiresAt?: number;
}

/** Pure: the `hadoop.auth` cookie among Set-Cookie headers; '' when the server cleared it. */
export function authCookieOf(setCookies: readonly string[], nowMs: number): StoredCookie | '' | undefined {
  let found: StoredCookie | '' | undefined;
  for (const line of setCookies) {
    const [pair, ...attrs] = line.split(';');
    const eq = pair!.indexOf('=');
    if (eq < 0 || pair!.slice(0, eq).trim() !== AUTH_COOKIE) continue;
    const value = pair!.slice(eq + 1).trim();
    const inner = value.replace(/^"(.*)"$/, '$1');
    if (inner === '') {
      found = '';
      continue;
    }
    const cookie: StoredCookie = { value };
    const e = /(?:^|&)e=(\d{1,16})(?:&|$)/.exec(inner);
    if (e) cookie.expiresAt = Number(e[1]);
    for (const attr of attrs) {
      const [k, v] = attr.split('=').map((s) => s.trim());
      if (!k || v === undefined) continue;
      if (k.toLowerCase() === 'max-age' && /^-?\d+$/.test(v)) cookie.expiresAt = Math.min(cookie.expiresAt ?? Infinity, nowMs + Number(v) * 1000);
      if (k.toLowerCase() === 'expires') {
        const t = Date.parse(v.replace(/-/g, ' '));
        if (Number.isFinite(t)) cookie.expiresAt = Math.min(cookie.expiresAt ?? Infinity, t);
      }
    }
    found = cookie;
  }
  return found;
}

/** No Kerberos configured: a server that asks for it gets one clear error instead of a bare 401. */
export const simpleAuth: Authenticator = {
  async exchange(url, send) {
    const res = await send({});
    if (res.status === 401 && negotiateToken(res.header('www-authenticate')) !== undefined) {
      throw new KerberosError(url.origin, 'credentials',
        `${url.origin} requires Kerberos (401 WWW-Authenticate: Negotiate) and none is configured: set --kerberos-principal and --kerberos-keytab (or a ticket cache)`);
    }
    return res;
  },
};

export interface SpnegoOptions {
  login: KerberosLogin;
  /** Override of `HTTP/<host of the URL>`; `_HOST` is the URL's host. */
  servicePrincipal?: string;
  clock?: Clock;
  logger?: Logger;
  onEvent?: (e: SpnegoEvent) => void;
}

export class SpnegoAuthenticator implements Authenticator {
  private readonly cookies = new Map<string, StoredCookie>();
  private readonly clock: Clock;

  constructor(private readonly o: SpnegoOptions) {
    this.clock = o.clock ?? systemClock;
  }

  /** The cookie we hold for an origin (tests look). */
  cookieFor(origin: string): string | undefined {
    return this.cookies.get(origin)?.value;
  }

  service(url: URL): ServiceName {
    try {
      return serviceNameFor(url.href, this.o.servicePrincipal);
    } catch (err) {
      throw new KerberosError(this.o.servicePrincipal ?? url.origin, 'credentials', (err as Error).message);
    }
  }

  async exchange<T extends AuthAnswer>(url: URL, send: SendWith<T>): Promise<T> {
    const origin = url.origin;
    const cookie = this.cookies.get(origin);
    if (cookie && (cookie.expiresAt === undefined || cookie.expiresAt > this.clock.wallNow())) {
      this.event('cookie', origin);
      const res = await send({ cookie: `${AUTH_COOKIE}=${cookie.value}` });
      this.keepCookie(origin, res);
      if (res.status !== 401) return res;
      this.cookies.delete(origin);
      this.event('cookie-dropped', origin);
      this.o.logger?.debug({ origin }, 'hadoop.auth cookie refused; negotiating again');
    } else if (cookie) {
      this.cookies.delete(origin);
    }
    return this.negotiate(url, send);
  }

  private async negotiate<T extends AuthAnswer>(url: URL, send: SendWith<T>): Promise<T> {
    const origin = url.origin;
    const service = this.service(url);
    let token: string;
    let ctx;
    try {
      ctx = await this.o.login.client(service);
      token = await ctx.step('');
    } catch (err) {
      if (err instanceof KerberosError) throw err;
      throw new KerberosError(origin, 'kdc', `as ${this.o.login.who} for ${origin}: ${explainServiceFailure((err as Error).message, service)}`, { cause: err });
    }
    this.event('negotiate', origin);
    const res = await send({ authorization: `Negotiate ${token}` });
    const cookie = authCookieOf(res.setCookies, this.clock.wallNow());
    const refused = res.status === 401 || (res.status === 403 && (cookie === '' || cookie === undefined));
    if (refused) {
      this.cookies.delete(origin);
      this.event('refused', origin);
      const reason = res.excerpt() || '(no reason given)';
      throw new KerberosError(origin, 'server',
        `${origin} refused ${this.o.login.who}'s ticket for ${service.principal} (HTTP ${res.status}: ${reason}) — the server's SPNEGO principal must be ${service.principal} in its keytab; set --kerberos-service-principal if it is another`);
    }
    const serverToken = negotiateToken(res.header('www-authenticate'));
    if (serverToken) {
      try {
        await ctx.step(serverToken);
      } catch (err) {
        this.event('mutual-failed', origin);
        throw new KerberosError(origin, 'mutual', `${origin} answered with a mutual-authentication token that does not verify for ${service.principal}; the answer is not trusted (${(err as Error).message})`, { cause: err });
      }
      if (!ctx.contextComplete) {
        this.event('mutual-failed', origin);
        throw new KerberosError(origin, 'mutual', `${origin} did not complete mutual authentication for ${service.principal}; the answer is not trusted`);
      }
    }
    if (cookie) this.cookies.set(origin, cookie);
    return res;
  }

  private keepCookie(origin: string, res: AuthAnswer): void {
    const cookie = authCookieOf(res.setCookies, this.clock.wallNow());
    if (cookie === '') this.cookies.delete(origin);
    else if (cookie) this.cookies.set(origin, cookie);
  }

  private event(kind: SpnegoEvent['kind'], origin: string): void {
    try {
      this.o.onEvent?.({ kind, origin });
    } catch {
      // a broken metrics hook must not break the call
    }
  }
}
