/** Kerberos settings → a logged-in identity and the SPNEGO authenticators the YARN clients use. */
import type { Logger } from '../../log/logger.js';
import type { Clock } from '../../clock/clock.js';
import { SpnegoAuthenticator, type SpnegoEvent } from '../spnego.js';
import { KerberosLogin, type KerberosLoginEvent, type KerberosSettings } from './login.js';
import { serviceNameFor } from './principal.js';

export interface KerberosSession {
  login: KerberosLogin;
  /** One authenticator per client: each keeps its own cookies per origin. */
  authenticator(): SpnegoAuthenticator;
  stop(): void;
}

/**
 * Logs in (throws one KerberosError line when it cannot) and returns what the YARN clients need.
 * `urls` are the servers this process talks to: a service principal override with a realm maps
 * their hosts to it.
 */
export async function startKerberos(s: KerberosSettings, o: {
  urls: readonly string[]; logger?: Logger; clock?: Clock;
  onLogin?: (e: KerberosLoginEvent) => void; onSpnego?: (e: SpnegoEvent) => void;
}): Promise<KerberosSession> {
  const domainRealms: Record<string, string> = {};
  if (s.servicePrincipal) {
    for (const url of o.urls) {
      const name = serviceNameFor(url, s.servicePrincipal);
      if (name.realm) domainRealms[name.host] = name.realm;
    }
  }
  const login = new KerberosLogin({
    ...s, domainRealms,
    ...(o.logger ? { logger: o.logger } : {}), ...(o.clock ? { clock: o.clock } : {}), ...(o.onLogin ? { onEvent: o.onLogin } : {}),
  });
  try {
    await login.start();
  } catch (err) {
    login.stop();
    throw err;
  }
  return {
    login,
    authenticator: () => new SpnegoAuthenticator({
      login, ...(s.servicePrincipal ? { servicePrincipal: s.servicePrincipal } : {}),
      ...(o.logger ? { logger: o.logger } : {}), ...(o.clock ? { clock: o.clock } : {}), ...(o.onSpnego ? { onEvent: o.onSpnego } : {}),
    }),
    stop: () => login.stop(),
  };
}
