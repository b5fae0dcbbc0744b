/**
 * Kerberos principal names as Hadoop uses them. Pure.
 *
 * - `_HOST` in a configured principal is this machine's host name, lower-cased
 *   (`SecurityUtil.getServerPrincipal`).
 * - The service a client asks a ticket for is `HTTP/<host of the URL, lower-cased>` with no DNS
 *   canonicalisation (hadoop-auth `KerberosAuthenticator`); an override may name another one,
 *   where `_HOST` is the URL's host.
 * - The short name the servers log a caller as is the first component (the default
 *   `auth_to_local` rule for the server's own realm).
 */

/** `primary[/instance]@REALM`, each part non-empty; the realm may be absent (default realm). */
const PRINCIPAL = /^[^/@\s]+(\/[^/@\s]+)?(@[^/@\s]+)?$/;

export function isPrincipal(s: string): boolean {
  return PRINCIPAL.test(s);
}

/** Replaces a `_HOST` instance with `host` lower-cased (Hadoop replaces it only as the instance). */
export function expandHost(principal: string, host: string): string {
  const m = /^([^/@]+)\/_HOST(@.*)?$/.exec(principal);
  if (!m) return principal;
  return `${m[1]}/${host.toLowerCase()}${m[2] ?? ''}`;
}

export interface ServiceName {
  /** `HTTP/rm1.example.com` or `HTTP/rm1.example.com@REALM`, for messages. */
  principal: string;
  /** GSS host-based form the library imports: `HTTP@rm1.example.com`. */
  hostBased: string;
  service: string;
  host: string;
  /** Realm named by an override, if any. */
  realm?: string;
}

/** Host of a URL as Java's `URL.getHost()` gives it: IPv6 without brackets, lower-cased. */
export function urlHost(url: string): string {
  return new URL(url).hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
}

/**
 * The service principal for a request to `url`: `HTTP/<url host>` unless `override` names one
 * (`HTTP/_HOST@REALM` style: `_HOST` is the URL's host).
 */
export function serviceNameFor(url: string, override?: string): ServiceName {
  const host = urlHost(url);
  const raw = override ? expandHost(override, host) : `HTTP/${host}`;
  const m = /^([^/@]+)\/([^/@]+)(?:@([^/@]+))?$/.exec(raw);
  if (!m) throw new Error(`service principal ${JSON.stringify(override)} must look like HTTP/host[@REALM]`);
  const [, service, h, realm] = m as unknown as [string, string, string, string | undefined];
  const name: ServiceName = { principal: raw, hostBased: `${service}@${h.toLowerCase()}`, service, host: h.toLowerCase() };
  if (realm) name.realm = realm;
  return name;
}

/** `loom/node-1@EXAMPLE.COM` → `loom`. */
export function shortName(principal: string): string {
  return principal.split('@')[0]!.split('/')[0]!;
}

/** The realm of a principal, or undefined when it has none. */
export function realmOf(principal: string): string | undefined {
  const at = principal.lastIndexOf('@');
  return at < 0 ? undefined : principal.slice(at + 1);
}
