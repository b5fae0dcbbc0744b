/**
 * ResourceManager delegation tokens, the alternative to Kerberos for the RM's REST API: with
 * Kerberos HTTP authentication the RM puts hadoop-auth's DelegationTokenAuthenticationHandler in
 * front of it, which takes a token the RM issued (`POST /ws/v1/cluster/delegation-token`, over a
 * Kerberos-authenticated connection) as the header `X-Hadoop-Delegation-Token: <token>` on every
 * call — the token's URL-safe string (Hadoop's `Token.encodeToUrlString`). A token it does not
 * accept (expired, cancelled, from another RM's secret) is a 403 with a JSON
 * `AuthenticationException`; an accepted one sets no cookie, so the header goes on every request.
 */
import { readFileSync, statSync } from 'node:fs';
import { YarnAuthenticationError, YarnConfigError } from './errors.js';
import type { Authenticator } from './spnego.js';

export const DELEGATION_TOKEN_HEADER = 'X-Hadoop-Delegation-Token';

/** A token file larger than this is not a token (real ones are a few hundred bytes). */
const MAX_TOKEN_FILE_BYTES = 64 * 1024;
/** Base64 URL-safe without padding, as `Token.encodeToUrlString` writes it. */
const URL_STRING = /^[A-Za-z0-9_-]+$/;

/**
 * The token in `file`: the token's URL-safe string alone, or the RM's whole answer to
 * `POST /ws/v1/cluster/delegation-token` (JSON with the string as `token`). Anything else is one
 * error naming the file.
 */
export function readDelegationToken(file: string): string {
  const bad = (problem: string) => new YarnConfigError(file, undefined, problem);
  let text: string;
  try {
    if (statSync(file).size > MAX_TOKEN_FILE_BYTES) throw bad(`larger than ${MAX_TOKEN_FILE_BYTES} bytes: not a delegation token`);
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    if (err instanceof YarnConfigError) throw err;
    throw bad(`cannot read the delegation token file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let token = text;
  if (text.startsWith('{')) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw bad(`not valid JSON (${(err as Error).message})`);
    }
    const field = (doc as { token?: unknown } | null)?.token;
    if (typeof field !== 'string') throw bad('JSON without a "token" string: expected the RM\'s answer to POST /ws/v1/cluster/delegation-token, or the token alone');
    token = field.trim();
  }
  if (token === '') throw bad('empty: expected a delegation token');
  if (!URL_STRING.test(token)) {
    throw bad('not a delegation token: expected its URL-safe string (letters, digits, "-" and "_"), as the RM returns it in "token"');
  }
  return token;
}

/** The RM refused the delegation token (or takes none). */
export class DelegationTokenError extends YarnAuthenticationError {
  constructor(source: string, message: string) {
    super(source, message);
    this.name = 'DelegationTokenError';
  }
}

/**
 * Sends the token on every request; a 401 or a 403 that is the handler's own refusal (its JSON
 * `AuthenticationException`) becomes one {@link DelegationTokenError} naming the token's file.
 * A servlet's 403 (an authorization refusal after the token was accepted) passes through.
 */
export function delegationTokenAuth(token: string, file: string): Authenticator {
  return {
    async exchange(url, send) {
      const res = await send({ [DELEGATION_TOKEN_HEADER]: token });
      if (res.status === 401) {
        // The header was not looked at: this server has no delegation-token handler in front of it.
        throw new DelegationTokenError(url.origin,
          `${url.origin} does not take delegation tokens (HTTP 401${res.header('www-authenticate') ? `, WWW-Authenticate: ${res.header('www-authenticate')}` : ''}): the RM's yarn.resourcemanager.webapp.delegation-token-auth-filter.enabled must be true, or use Kerberos`);
      }
      if (res.status === 403 && /AuthenticationException/.test(res.excerpt())) {
        throw new DelegationTokenError(url.origin,
          `${url.origin} refused the delegation token from ${file} (HTTP ${res.status}: ${res.excerpt() || 'no detail'}): fetch a new one (POST /ws/v1/cluster/delegation-token) into the file and restart`);
      }
      return res;
    },
  };
}
