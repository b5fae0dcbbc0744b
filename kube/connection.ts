/**
 * How Loom reaches the Kubernetes API: @kubernetes/client-node loads the kubeconfig (file,
 * in-cluster service account, or the default chain) and resolves its auth; requests then go
 * through one kept-alive undici pool, which is much lighter than the generated client when the
 * operator lists and watches 150 000 pods.
 */
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { Agent } from 'undici';

export interface KubeConnection {
  /** API server base URL without a trailing slash. */
  server: string;
  dispatcher: Agent;
  /** Auth headers (bearer token) to send with every request; refreshed by `headers()`. */
  headers(): Promise<Record<string, string>>;
  /** Where the configuration came from, for log lines. */
  source: string;
  close(): Promise<void>;
}

export class KubeConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeConfigError';
  }
}

/** `--kubeconfig FILE`, else in-cluster, else `$KUBECONFIG` / `~/.kube/config`. */
export function loadKubeConfig(file?: string): { kc: KubeConfig; source: string } {
  const kc = new KubeConfig();
  try {
    if (file) {
      if (!existsSync(file)) throw new KubeConfigError(`--kubeconfig ${file}: file not found`);
      kc.loadFromFile(file);
      return { kc, source: file };
    }
    if (process.env.KUBERNETES_SERVICE_HOST && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token')) {
      kc.loadFromCluster();
      return { kc, source: 'in-cluster service account' };
    }
    kc.loadFromDefault();
  } catch (err) {
    if (err instanceof KubeConfigError) throw err;
    throw new KubeConfigError(`kubeconfig ${file ?? '(default)'}: ${(err as Error).message}`);
  }
  if (!kc.getCurrentCluster()) throw new KubeConfigError('no kubeconfig found: pass --kubeconfig, run in a cluster, or set KUBECONFIG');
  return { kc, source: process.env.KUBECONFIG ?? '~/.kube/config' };
}

export async function connect(file?: string, opts: { connections?: number } = {}): Promise<KubeConnection> {
  const { kc, source } = loadKubeConfig(file);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeConfigError(`kubeconfig ${source}: no current cluster`);
  const tls: { ca?: Buffer | string; cert?: Buffer | string; key?: Buffer | string; rejectUnauthorized?: boolean } = {};
  const httpsOpts: Record<string, unknown> = {};
  await kc.applyToHTTPSOptions(httpsOpts as never);
  if (httpsOpts.ca) tls.ca = httpsOpts.ca as Buffer;
  if (httpsOpts.cert) tls.cert = httpsOpts.cert as Buffer;
  if (httpsOpts.key) tls.key = httpsOpts.key as Buffer;
  if (cluster.skipTLSVerify) tls.rejectUnauthorized = false;
  const dispatcher = new Agent({
    connections: opts.connections ?? 16,
    keepAliveTimeout: 30_000,
    connect: tls,
    // Watches are long-lived; the body timeout is governed by the watch's own timeoutSeconds.
    bodyTimeout: 0,
    headersTimeout: 30_000,
  });
  return {
    server: cluster.server.replace(/\/+$/, ''),
    dispatcher,
    source,
    async headers() {
      const o: { headers?: Record<string, string> } = { headers: {} };
      await kc.applyToHTTPSOptions(o as never);
      const h: Record<string, string> = {};
      for (const [k, v] of Object.entries(o.headers ?? {})) if (typeof v === 'string') h[k] = v;
      const user = kc.getCurrentUser();
      if (user?.token && !h.Authorization && !h.authorization) h.Authorization = `Bearer ${user.token}`;
      return h;
    },
    close: () => dispatcher.close(),
  };
}
