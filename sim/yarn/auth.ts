/**
 * Hadoop's simple ("pseudo") HTTP authentication as both daemons install it (reference §4): the
 * caller is `?user.name=`; without it the request is anonymous, which the filter either lets
 * through (`anonymousAllowed`, the default) or answers 401 itself — before any servlet runs, so
 * without a RemoteException body.
 */
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
