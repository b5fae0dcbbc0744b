/** A kubeconfig for the simulated cluster: plain http on loopback, one bearer-token user. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';

export const KUBECONFIG_CONTEXT = 'loom-sim';

export function kubeconfigYaml(server: string, token: string, namespace = 'default'): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    // @kubernetes/client-node 1.x refuses plain http unless the cluster skips TLS verification.
    clusters: [{ name: KUBECONFIG_CONTEXT, cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: KUBECONFIG_CONTEXT, user: { token } }],
    contexts: [{ name: KUBECONFIG_CONTEXT, context: { cluster: KUBECONFIG_CONTEXT, user: KUBECONFIG_CONTEXT, namespace } }],
    'current-context': KUBECONFIG_CONTEXT,
    preferences: {},
  });
}

/** Writes `<dir>/kubeconfig` (mode 0600, it holds the token) and returns its path. */
export async function writeKubeconfig(dir: string, server: string, token: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'kubeconfig');
  await writeFile(path, kubeconfigYaml(server, token), { mode: 0o600 });
  return path;
}
