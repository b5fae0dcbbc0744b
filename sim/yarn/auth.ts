/**
 * Hadoop's simple ("pseudo") HTTP authentication as both daemons install it (reference §4): the
 * caller is `?user.name=`; without it the request is anonymous, which the filter either lets
 * through (`anonymousAllowed`, the default) or answers 401 itself — before any servlet runs, so
 * without a RemoteException body.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { loadKerberos, type KerberosBinding } from '../../yarn/kerberos/module.js';
import { AUTH_COOKIE } from '../../yarn/spnego.js';
import type { Reply } from './http.js';

export function callerOf(query: URLSearchParams): string | undefined {
  const u = query.get('user.name');
  return u === null || u === '' ? undefined : u;
}

export function pseudoAuthFilter(query: URLSearchParams, anonymousAllowed: boolean): Reply | undefined {
  if (anonymousAllowed || callerOf(query) !== undefined) return undefined;
  return {
    status: 401,
    headers: { 'WWW-Authenticate': 'PseudoAuth', 'Content-Type': 'text/html;charset=iso-8859-1' },
    body: '<html><head><title>Error 401 Authentication required</title></head><body><h2>HTTP ERROR 401</h2><p>Authentication required</p></body></html>\n',
  };
}

// ------------------------------------------------------------------ Kerberos (SPNEGO)

export interface SpnegoFilterOptions {
  /** The server's principal, `HTTP/localhost` by default; its key must be in the keytab. */
  principal?: string;
  /** Acceptor keytab (the process's `KRB5_KTNAME` is set to it). */
  keytab: string;
  /** `hadoop.http.authentication.token.validity` in ms (Hadoop's default 10 h). */
  tokenValidityMs?: number;
  /** `hadoop.http.authentication.signature.secret`; default random per simulator. */
  secret?: string;
  /** Time for cookie expiry (the YARN model's clock). */
  clock: { now(): number };
  /** Delegation tokens the RM accepts as `X-Hadoop-Delegation-Token` (token → owner principal). */
  delegationTokens?: ReadonlyMap<string, string>;
  binding?: KerberosBinding;
}

/** What the filter decided: a reply of its own, or the authenticated caller plus headers to add. */
export type SpnegoVerdict = { reply: Reply } | { user: string; headers: Record<string, string> };

const COOKIE_CLEARED = `${AUTH_COOKIE}=; Path=/; HttpOnly`;

function errorPage(status: number, reason: string): string {
  const text = reason.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]!);
  return `<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;charset=iso-8859-1"/>\n<title>Error ${status} ${text}</title>\n</head>\n<body><h2>HTTP ERROR ${status} ${text}</h2>\n</body>\n</html>\n`;
}

function unauthorized(status: 401 | 403, reason: string, challenge: boolean): Reply {
  const headers: Record<string, string> = { 'Set-Cookie': COOKIE_CLEARED, 'Content-Type': 'text/html;charset=iso-8859-1' };
  if (challenge) headers['WWW-Authenticate'] = 'Negotiate';
  return { status, headers, body: errorPage(status, reason) };
}

/**
 * hadoop-auth's `AuthenticationFilter` with the `kerberos` handler (reference §4), in its order:
 * a valid signed `hadoop.auth` cookie first; else `Authorization: Negotiate <token>` accepted with
 * the keytab — success sets a fresh cookie and answers the mutual-authentication token; no
 * credentials (or a bad or expired cookie without a token) is 401 with `WWW-Authenticate:
 * Negotiate`; every failed accept (wrong service principal, replayed or garbled token) is 403
 * without a challenge. Each refusal clears the cookie.
 */
export class SpnegoFilter {
  readonly principal: string;
  private readonly secret: Buffer;
  private readonly validityMs: number;
  private readonly binding: KerberosBinding;
  /** Accepts, refusals and cookie hits, for tests. */
  readonly counts = { negotiated: 0, cookie: 0, challenged: 0, refused: 0, delegation: 0 };

  constructor(private readonly o: SpnegoFilterOptions) {
    this.principal = o.principal ?? 'HTTP/localhost';
    this.secret = Buffer.from(o.secret ?? randomBytes(32).toString('hex'));
    this.validityMs = o.tokenValidityMs ?? 36_000_000;
    this.binding = o.binding ?? loadKerberos();
    // The acceptor reads its keys from the default keytab.
    process.env.KRB5_KTNAME = `FILE:${o.keytab}`;
  }

  sign(payload: string): string {
    return `${payload}&s=${createHmac('sha256', this.secret).update(payload).digest('base64')}`;
  }

  /** The payload of a signed cookie value, or an error reason. */
  verify(value: string): { payload: Record<string, string> } | { error: string } {
    const signed = value.replace(/^"(.*)"$/, '$1');
    const at = signed.lastIndexOf('&s=');
    if (at < 0) return { error: 'Invalid signed text' };
    const payload = signed.slice(0, at);
    const expected = createHmac('sha256', this.secret).update(payload).digest();
    const given = Buffer.from(signed.slice(at + 3), 'base64');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { error: 'Invalid signature' };
    const fields: Record<string, string> = {};
    for (const kv of payload.split('&')) {
      const eq = kv.indexOf('=');
      if (eq > 0) fields[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    return { payload: fields };
  }

  private cookieOf(req: IncomingMessage): string | undefined {
    const header = req.headers.cookie;
    if (!header) return undefined;
    for (const part of header.split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === AUTH_COOKIE) return part.slice(eq + 1).trim();
    }
    return undefined;
  }

  private issue(user: string, principal: string, type: string): string {
    const payload = `u=${user}&p=${principal}&t=${type}&e=${this.o.clock.now() + this.validityMs}`;
    return `${AUTH_COOKIE}="${this.sign(payload)}"; Path=/; HttpOnly`;
  }

  async filter(req: IncomingMessage): Promise<SpnegoVerdict> {
    let cookieError: string | undefined;
    const cookie = this.cookieOf(req);
    if (cookie !== undefined) {
      const checked = cookie.replace(/^"(.*)"$/, '$1') === '' ? { error: 'Unauthorized access' } : this.verify(cookie);
      if ('payload' in checked) {
        const p = checked.payload;
        if (p.t !== 'kerberos' && p.t !== 'kerberos-dt') cookieError = 'Invalid AuthenticationToken type';
        else if (!/^\d+$/.test(p.e ?? '') || Number(p.e) <= this.o.clock.now()) cookieError = 'AuthenticationToken expired';
        else {
          this.counts.cookie++;
          return { user: p.u ?? '', headers: {} };
        }
      } else {
        cookieError = checked.error;
      }
    }
    const dt = req.headers['x-hadoop-delegation-token'];
    if (typeof dt === 'string' && this.o.delegationTokens) {
      // hadoop-auth's DelegationTokenAuthenticationHandler: a refused token is a 403 the handler
      // writes itself (HttpExceptionUtils: the exception as JSON; no challenge, cookie untouched);
      // an accepted one makes an ephemeral token (expires 0), for which the filter sets no cookie.
      const owner = this.o.delegationTokens.get(dt);
      if (!owner) {
        this.counts.refused++;
        const cause = `org.apache.hadoop.security.token.SecretManager$InvalidToken: token (${dt.slice(0, 40)}) can't be found in cache`;
        return {
          reply: {
            status: 403,
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ RemoteException: { message: cause, exception: 'AuthenticationException', javaClassName: 'org.apache.hadoop.security.authentication.client.AuthenticationException' } }),
          },
        };
      }
      this.counts.delegation++;
      return { user: owner.split('@')[0]!.split('/')[0]!, headers: {} };
    }
    const authorization = req.headers.authorization;
    if (!authorization || !/^Negotiate\s/i.test(authorization)) {
      this.counts.challenged++;
      return { reply: unauthorized(401, cookieError ?? 'Authentication required', true) };
    }
    const token = authorization.replace(/^Negotiate\s+/i, '').trim();
    try {
      const ctx = await this.binding.initializeServer(this.principal.replace('/', '@'));
      await ctx.step(token);
      if (!ctx.contextComplete) throw new Error('SPNEGO sequence not complete');
      const principal = ctx.username;
      const user = principal.split('@')[0]!.split('/')[0]!;
      this.counts.negotiated++;
      const headers: Record<string, string> = { 'Set-Cookie': this.issue(user, principal, 'kerberos') };
      if (ctx.response) headers['WWW-Authenticate'] = `Negotiate ${ctx.response}`;
      return { user, headers };
    } catch (err) {
      this.counts.refused++;
      return { reply: unauthorized(403, `GSSException: ${(err as Error).message.replace(/\s+/g, ' ')}`, false) };
    }
  }
}
