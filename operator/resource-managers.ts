/**
 * The ResourceManager clients of the operator's side, built in one place: `loom operator`,
 * `loom release` and `loom status` reach the RMs exactly alike — one client per YARN cluster of
 * the Hadoop configuration, with the same authentication (a Kerberos login, an RM delegation
 * token, or simple auth's `user.name`), CA bundle and timeouts.
 */
import type { Logger } from '../log/logger.js';
import { componentLogger } from '../log/logger.js';
import { SettingsError } from '../settings/settings.js';
import { discoverYarnClusters, type YarnClusterEndpoints } from '../yarn/site.js';
import { ResourceManagerClient } from '../yarn/rm-client.js';
import type { YarnRequestEvent } from '../yarn/http.js';
import { YarnAuthenticationError } from '../yarn/errors.js';
import type { KerberosSettings } from '../yarn/kerberos/login.js';
import { startKerberos, type KerberosSession } from '../yarn/kerberos/session.js';
import { delegationTokenAuth, readDelegationToken } from '../yarn/delegation-token.js';

/** How to reach and authenticate to the RMs (a part of the operator's settings). */
export interface RmAccess {
  hadoopConfDir?: string;
  rmUser?: string;
  rmCaFile?: string;
  /** SPNEGO; absent: simple auth (or the delegation token). */
  kerberos?: KerberosSettings;
  /** A file holding an RM delegation token, sent instead of Kerberos. */
  rmDelegationTokenFile?: string;
  rmTimeoutMs: number;
  /** Calls in flight per cluster (default: the client's). */
  rmConcurrency?: number;
}

export interface ResourceManagers {
  clusters: readonly YarnClusterEndpoints[];
  /** By YARN cluster id. */
  clients: ReadonlyMap<string, ResourceManagerClient>;
  /**
   * Asks each cluster for its active RM: an RM that refuses our credentials (or asks for Kerberos
   * we were not given) throws its one line; any other failure (an RM down) is left to the caller.
   */
  checkAuthentication(): Promise<void>;
  close(): Promise<void>;
}

/** Reads the Hadoop configuration and the credentials, logs in, and builds one client per cluster. */
export async function connectResourceManagers(a: RmAccess, o: { logger: Logger; onRequest?: (e: YarnRequestEvent) => void }): Promise<ResourceManagers> {
  if (!a.hadoopConfDir) throw new SettingsError('--hadoop-conf-dir', 'not set: pass --hadoop-conf-dir or set HADOOP_CONF_DIR');
  if (a.kerberos && a.rmDelegationTokenFile) {
    throw new SettingsError('--rm-delegation-token-file', 'cannot be used together with Kerberos (--kerberos-principal, --kerberos-keytab, --kerberos-ticket-cache): the RM takes one or the other; keep one');
  }
  const clusters = discoverYarnClusters(a.hadoopConfDir, { logger: o.logger });
  const token = a.rmDelegationTokenFile !== undefined ? readDelegationToken(a.rmDelegationTokenFile) : undefined;
  const kerberos: KerberosSession | undefined = a.kerberos
    ? await startKerberos(a.kerberos, { urls: clusters.flatMap((c) => c.rmUrls), logger: componentLogger(o.logger, 'yarn.kerberos') })
    : undefined;
  const clients = new Map<string, ResourceManagerClient>();
  for (const c of clusters) {
    const auth = kerberos ? kerberos.authenticator() : token !== undefined ? delegationTokenAuth(token, a.rmDelegationTokenFile!) : undefined;
    clients.set(c.clusterId, new ResourceManagerClient({
      ...(auth ? { auth } : {}),
      rmUrls: c.rmUrls, cluster: c.clusterId, timeoutMs: a.rmTimeoutMs,
      ...(a.rmConcurrency !== undefined ? { connections: a.rmConcurrency } : {}),
      ...(a.rmUser ? { user: a.rmUser } : {}), ...(a.rmCaFile ? { caFile: a.rmCaFile } : {}),
      ...(o.onRequest ? { onRequest: o.onRequest } : {}),
      logger: componentLogger(o.logger, 'yarn.rm'), // the client names its cluster in every line
    }));
  }
  const close = async (): Promise<void> => {
    await Promise.all([...clients.values()].map((c) => c.close()));
    kerberos?.stop();
  };
  return {
    clusters, clients, close,
    async checkAuthentication() {
      await Promise.all([...clients.values()].map(async (c) => {
        try {
          await c.discoverActive();
        } catch (err) {
          if (err instanceof YarnAuthenticationError) throw err;
        }
      }));
    },
  };
}
