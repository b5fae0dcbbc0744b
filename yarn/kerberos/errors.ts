/** Kerberos failures: every message starts with "Kerberos:" and says what to fix. */
import { YarnAuthenticationError } from '../errors.js';

export type KerberosFailure =
  /** The optional native module is missing or does not load. */
  | 'module'
  /** No usable credentials: empty ticket cache, unreadable keytab, principal not in the keytab. */
  | 'credentials'
  /** The KDC refused us: unknown principal, wrong key (stale keytab), unknown service, KDC down. */
  | 'kdc'
  /** The server refused our ticket (403 after Negotiate), or asked for Kerberos we were not given. */
  | 'server'
  /** The server's mutual-authentication token did not verify. */
  | 'mutual';

export class KerberosError extends YarnAuthenticationError {
  constructor(source: string, readonly failure: KerberosFailure, message: string, options?: { cause?: unknown }) {
    super(source, `Kerberos: ${message}`, options);
    this.name = 'KerberosError';
  }
}
