/**
 * Reading a kubeconfig (or the in-cluster service account) into what a connection needs: the
 * server, TLS material and how to authenticate. Plain data, validated with zod.
 *
 * Tokens, client certificates and CA files cover service accounts and most kubeconfigs; users
 * whose credentials come from an `exec` plugin or an `auth-provider` are handed to
 * @kubernetes/client-node (loaded only then: it costs ~100 MB of memory in a long-running agent).
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, resolve } from 'node:path';
import { createRequire } from 'node:module';

// YAML is read only when a file is given; loading it lazily keeps it out of the agent's memory.
const parseYaml = (text: string): unknown => (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text);
import { z } from 'zod';
import { InputError } from '../input/input-error.js';

export class KubeConfigError extends InputError {
  constructor(source: string, problem: string, key?: string) {
    super(source, problem, key ? { key } : {});
    this.name = 'KubeConfigError';
  }
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface ResolvedKubeConfig {
  server: string;
  /** Where it came from, for log lines and errors. */
  source: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  insecureSkipTlsVerify: boolean;
  /** A fixed bearer token, or a file to re-read (rotated service-account tokens). */
  token?: string;
  tokenFile?: string;
  basicAuth?: { username: string; password: string };
  /** The user needs @kubernetes/client-node (exec plugin / auth-provider). */
  delegate?: { file: string };
}


const clusterSchema = z.object({
  server: z.string().min(1),
  'certificate-authority': z.string().optional(),
  'certificate-authority-data': z.string().optional(),
  'insecure-skip-tls-verify': z.boolean().optional(),
}).passthrough();
const userSchema = z.object({
  token: z.string().optional(),
  tokenFile: z.string().optional(),
  'client-certificate': z.string().optional(),
  'client-certificate-data': z.string().optional(),
  'client-key': z.string().optional(),
  'client-key-data': z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  exec: z.unknown().optional(),
  'auth-provider': z.unknown().optional(),
}).passthrough();
const docSchema = z.object({
  clusters: z.array(z.object({ name: z.string(), cluster: clusterSchema })).nullish(),
  users: z.array(z.object({ name: z.string(), user: userSchema.nullish() })).nullish(),
  contexts: z.array(z.object({ name: z.string(), context: z.object({ cluster: z.string(), user: z.string().optional() }).passthrough() })).nullish(),
  'current-context': z.string().optional(),
}).passthrough();

type Doc = z.infer<typeof docSchema>;

function readDoc(file: string): Doc {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new KubeConfigError(`kubeconfig ${file}`, `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new KubeConfigError(`kubeconfig ${file}`, `not valid YAML (${(err as Error).message.split('\n')[0]})`);
  }
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new KubeConfigError(`kubeconfig ${file}`, `not a kubeconfig (expected a YAML mapping with clusters, users and contexts)`);
  }
  const parsed = docSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KubeConfigError(`kubeconfig ${file}`, issue?.message ?? 'invalid', issue?.path.map(String).join('.') || undefined);
  }
  return parsed.data;
}

/** Paths in a kubeconfig are relative to the file that names them. */
const relativeTo = (file: string, p: string) => (isAbsolute(p) ? p : resolve(dirname(file), p));

function material(file: string, path: string | undefined, data: string | undefined, what: string): Buffer | undefined {
  if (data) return Buffer.from(data, 'base64');
  if (!path) return undefined;
  const full = relativeTo(file, path);
  try {
    return readFileSync(full);
  } catch (err) {
    throw new KubeConfigError(`kubeconfig ${file}`, `${what} ${full}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** The current context of one kubeconfig file, resolved. */
export function resolveKubeConfigFile(file: string): ResolvedKubeConfig {
  const doc = readDoc(file);
  const ctxName = doc['current-context'];
  if (!ctxName) throw new KubeConfigError(`kubeconfig ${file}`, `no current-context`);
  const ctx = doc.contexts?.find((c) => c.name === ctxName)?.context;
  if (!ctx) throw new KubeConfigError(`kubeconfig ${file}`, `current-context "${ctxName}" is not among its contexts`);
  const cluster = doc.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  if (!cluster) throw new KubeConfigError(`kubeconfig ${file}`, `context "${ctxName}" names cluster "${ctx.cluster}", which is not defined`);
  const user = ctx.user ? doc.users?.find((u) => u.name === ctx.user)?.user ?? undefined : undefined;
  if (ctx.user && user === undefined && !doc.users?.some((u) => u.name === ctx.user)) {
    throw new KubeConfigError(`kubeconfig ${file}`, `context "${ctxName}" names user "${ctx.user}", which is not defined`);
  }
  let server: URL;
  try {
    server = new URL(cluster.server);
  } catch {
    throw new KubeConfigError(`kubeconfig ${file}`, `cluster "${ctx.cluster}": server ${JSON.stringify(cluster.server)} is not a URL`);
  }
  const out: ResolvedKubeConfig = {
    server: server.href.replace(/\/+$/, ''),
    source: file,
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
  };
  const ca = material(file, cluster['certificate-authority'], cluster['certificate-authority-data'], 'certificate-authority');
  if (ca) out.ca = ca;
  if (user) {
    if (user.exec !== undefined || user['auth-provider'] !== undefined) out.delegate = { file };
    const cert = material(file, user['client-certificate'], user['client-certificate-data'], 'client-certificate');
    const key = material(file, user['client-key'], user['client-key-data'], 'client-key');
    if (cert) out.cert = cert;
    if (key) out.key = key;
    if (user.token) out.token = user.token;
    if (user.tokenFile) out.tokenFile = relativeTo(file, user.tokenFile);
    if (user.username !== undefined && user.password !== undefined) out.basicAuth = { username: user.username, password: user.password };
  }
  return out;
}

/** The pod's service account, as client-go's `InClusterConfig` reads it. */
export function resolveInCluster(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): ResolvedKubeConfig {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) throw new KubeConfigError('in-cluster', 'KUBERNETES_SERVICE_HOST is not set');
  const tokenFile = `${dir}/token`;
  if (!existsSync(tokenFile)) throw new KubeConfigError('in-cluster', `${tokenFile} does not exist`);
  const caFile = `${dir}/ca.crt`;
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    source: 'in-cluster service account',
    insecureSkipTlsVerify: false,
    tokenFile,
    ...(existsSync(caFile) ? { ca: readFileSync(caFile) } : {}),
  };
}

/** `--kubeconfig FILE`, else in-cluster, else the first file of `$KUBECONFIG`, else `~/.kube/config`. */
export function resolveKubeConfig(file?: string, env: NodeJS.ProcessEnv = process.env): ResolvedKubeConfig {
  if (file) {
    if (!existsSync(file)) throw new KubeConfigError(`--kubeconfig ${file}`, 'file not found');
    return resolveKubeConfigFile(file);
  }
  if (env.KUBERNETES_SERVICE_HOST && existsSync(`${SERVICE_ACCOUNT_DIR}/token`)) return resolveInCluster(env);
  const fromEnv = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean).find((f) => existsSync(f));
  if (fromEnv) return resolveKubeConfigFile(fromEnv);
  const home = `${env.HOME ?? homedir()}/.kube/config`;
  if (existsSync(home)) return resolveKubeConfigFile(home);
  throw new KubeConfigError('--kubeconfig', 'no kubeconfig found: pass --kubeconfig, run in a cluster, or set KUBECONFIG');
}
