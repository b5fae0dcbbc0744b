/**
 * How Loom reaches the Kubernetes API: the kubeconfig (file, in-cluster service account, or the
 * default chain) resolved by kube/kubeconfig.ts, and one kept-alive undici pool for every request
 * — much lighter than the generated client when the operator lists and watches 150 000 pods.
 */
import { systemClock } from '../clock/clock.js';
import { readFileSync } from 'node:fs';
import { Agent } from 'undici';
import { KubeConfigError, resolveKubeConfig, type ResolvedKubeConfig } from './kubeconfig.js';

export { KubeConfigError } from './kubeconfig.js';

export interface KubeConnection {
  /** API server base URL without a trailing slash. */
  server: string;
  dispatcher: Agent;
  /** Auth headers to send with every request (a rotated token file is re-read). */
  headers(): Promise<Record<string, string>>;
  /** Where the configuration came from, for log lines. */
  source: string;
  close(): Promise<void>;
}

type HeaderSource = () => Promise<Record<string, string>>;

/** Headers for exec-plugin / auth-provider users, through @kubernetes/client-node (loaded only here). */
async function delegatedHeaders(file: string): Promise<HeaderSource> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return async () => {
    const o: { headers?: Record<string, unknown> } = { headers: {} };
    await kc.applyToHTTPSOptions(o as never);
    const h: Record<string, string> = {};
    for (const [k, v] of Object.entries(o.headers ?? {})) if (typeof v === 'string') h[k] = v;
    return h;
  };
}

function staticHeaders(c: ResolvedKubeConfig): HeaderSource {
  let cached: { token: string; at: number } | undefined;
  return async (): Promise<Record<string, string>> => {
    if (c.token) return { authorization: `Bearer ${c.token}` };
    if (c.tokenFile) {
      // Bound service-account tokens rotate; re-read the file at most once a minute.
      if (!cached || systemClock.now() - cached.at > 60_000) {
        try {
          cached = { token: readFileSync(c.tokenFile, 'utf8').trim(), at: systemClock.now() };
        } catch (err) {
          throw new KubeConfigError(c.source, `token file ${c.tokenFile}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
        }
      }
      return { authorization: `Bearer ${cached.token}` };
    }
    if (c.basicAuth) return { authorization: `Basic ${Buffer.from(`${c.basicAuth.username}:${c.basicAuth.password}`).toString('base64')}` };
    return {};
  };
}

export async function connect(file?: string, opts: { connections?: number } = {}): Promise<KubeConnection> {
  const c = resolveKubeConfig(file);
  const dispatcher = new Agent({
    connections: opts.connections ?? 16,
    keepAliveTimeout: 30_000,
    connect: {
      ...(c.ca ? { ca: c.ca } : {}),
      ...(c.cert ? { cert: c.cert } : {}),
      ...(c.key ? { key: c.key } : {}),
      ...(c.insecureSkipTlsVerify ? { rejectUnauthorized: false } : {}),
    },
    // Watches are long-lived; their own timeoutSeconds bounds them.
    bodyTimeout: 0,
    headersTimeout: 30_000,
  });
  const headers = c.delegate ? await delegatedHeaders(c.delegate.file) : staticHeaders(c);
  return { server: c.server, dispatcher, source: c.source, headers, close: () => dispatcher.close() };
}
