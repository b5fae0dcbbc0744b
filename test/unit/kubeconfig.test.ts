import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfigError, resolveInCluster, resolveKubeConfig, resolveKubeConfigFile } from '../../kube/kubeconfig.js';

function write(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const doc = (user: string, cluster = 'server: https://10.0.0.1:6443\n    certificate-authority: certs/ca.pem') => `apiVersion: v1
kind: Config
current-context: ctx
contexts:
- name: ctx
  context: { cluster: c1, user: u1 }
clusters:
- name: c1
  cluster:
    ${cluster}
users:
- name: u1
  user:
${user}
`;

describe('kubeconfig resolution', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-kubeconfig-'));
  mkdirSync(join(dir, 'certs'));
  writeFileSync(join(dir, 'certs', 'ca.pem'), 'CA-PEM');

  it('reads server, CA relative to the file, a token and inline client cert/key', () => {
    const file = write(dir, 'a.yaml', doc(`    token: abc\n    client-certificate-data: ${Buffer.from('CERT').toString('base64')}\n    client-key-data: ${Buffer.from('KEY').toString('base64')}`));
    const c = resolveKubeConfigFile(file);
    expect(c.server).toBe('https://10.0.0.1:6443');
    expect(c.ca?.toString()).toBe('CA-PEM');
    expect(c.cert?.toString()).toBe('CERT');
    expect(c.key?.toString()).toBe('KEY');
    expect(c.token).toBe('abc');
    expect(c.insecureSkipTlsVerify).toBe(false);
    expect(c.delegate).toBeUndefined();
  });

  it('hands exec-plugin users to client-node and accepts insecure plain-http clusters', () => {
    const file = write(dir, 'b.yaml', doc('    exec: { command: aws, apiVersion: client.authentication.k8s.io/v1 }', 'server: http://127.0.0.1:8080\n    insecure-skip-tls-verify: true'));
    const c = resolveKubeConfigFile(file);
    expect(c.delegate).toEqual({ file });
    expect(c.insecureSkipTlsVerify).toBe(true);
    expect(c.server).toBe('http://127.0.0.1:8080');
  });

  it('names the file and the problem for broken configs', () => {
    expect(() => resolveKubeConfigFile(write(dir, 'c.yaml', 'current-context: nope\ncontexts: []\n'))).toThrow(/c\.yaml: current-context "nope" is not among its contexts/);
    expect(() => resolveKubeConfigFile(write(dir, 'd.yaml', doc('    token: x', 'server: https://x\n    certificate-authority: missing.pem')))).toThrow(/certificate-authority .*missing\.pem: cannot read \(ENOENT\)/);
    expect(() => resolveKubeConfigFile(write(dir, 'e.yaml', ': : [\n'))).toThrow(/e\.yaml: not valid YAML/);
    expect(() => resolveKubeConfigFile(write(dir, 'f.yaml', 'clusters: 7\n'))).toThrow(KubeConfigError);
    expect(() => resolveKubeConfigFile(write(dir, 'g.yaml', 'root:x:0:0:root:/root:/bin/bash\n'))).toThrow(/g\.yaml: not a kubeconfig/);
    expect(() => resolveKubeConfig(join(dir, 'absent.yaml'))).toThrow(/--kubeconfig .*absent\.yaml: file not found/);
  });

  it('reads the in-cluster service account', () => {
    const sa = join(dir, 'sa');
    mkdirSync(sa);
    writeFileSync(join(sa, 'token'), 'tok\n');
    writeFileSync(join(sa, 'ca.crt'), 'SA-CA');
    const c = resolveInCluster({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, sa);
    expect(c.server).toBe('https://[fd00::1]:443');
    expect(c.tokenFile).toBe(join(sa, 'token'));
    expect(c.ca?.toString()).toBe('SA-CA');
    expect(() => resolveInCluster({}, sa)).toThrow(/KUBERNETES_SERVICE_HOST is not set/);
  });
});
