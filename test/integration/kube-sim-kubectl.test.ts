/**
 * The real `kubectl` (v1.33, from the devDependency the kube tools unpack) against the Kubernetes
 * API simulator: discovery fallback (kubectl asks for aggregated discovery first), Table output,
 * label selectors, annotate, the three patch types — and, unflagged, `apply` and `replace` with
 * kubectl's field validation, which needs the simulator's OpenAPI: v3 says the server validates
 * fields (kubectl sends fieldValidation=Strict), v3 schemas drive apply's strategic merge patch,
 * v2 (protobuf) serves `explain --output plaintext-openapiv2`.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiServer } from '../../sim/kube/index.js';
import { ANNOTATION_THIRD_PARTY, NM_POD_SELECTOR, LABEL_COMPONENT, NODE_MANAGER_COMPONENT } from '../../kube/wire.js';
import { kubeTools } from '../kube-tools.js';

const run = promisify(execFile);
const tools = kubeTools();
const skipReason = typeof tools === 'string' ? tools : undefined;
if (skipReason) console.log(`kube-sim kubectl tests skipped: ${skipReason}`);
const KUBECTL = typeof tools === 'string' ? '' : tools.kubectl;

describe.skipIf(skipReason !== undefined)('kube-sim driven by kubectl', () => {
  let server: KubeApiServer;
  let cacheDir: string;

  const kubectl = async (...args: string[]): Promise<string> => {
    const { stdout } = await run(KUBECTL, ['--kubeconfig', server.kubeconfigPath, '--cache-dir', cacheDir, ...args], {
      env: { ...process.env, HOME: cacheDir, KUBECONFIG: '' },
      timeout: 30_000,
    });
    return stdout;
  };

  /** Both streams (kubectl prints warnings on stderr). */
  const kubectlAll = async (...args: string[]): Promise<{ stdout: string; stderr: string }> =>
    run(KUBECTL, ['--kubeconfig', server.kubeconfigPath, '--cache-dir', cacheDir, ...args], { env: { ...process.env, HOME: cacheDir, KUBECONFIG: '' }, timeout: 30_000 });

  const manifest = (name: string, text: string): string => {
    const p = join(cacheDir, name);
    writeFileSync(p, text);
    return p;
  };

  const kubectlFails = async (...args: string[]): Promise<string> => {
    try {
      await kubectl(...args);
    } catch (err) {
      return String((err as { stderr?: string }).stderr ?? err);
    }
    throw new Error(`kubectl ${args.join(' ')} was expected to fail`);
  };

  beforeAll(async () => {
    cacheDir = mkdtempSync(join(tmpdir(), 'loom-kubectl-'));
    server = await KubeApiServer.start();
    const s = server.store;
    s.create('namespaces', { metadata: { name: 'hadoop' } });
    for (const n of ['mixed-1', 'mixed-2']) {
      s.create('nodes', {
        metadata: { name: n, labels: { 'node-role.kubernetes.io/worker': '' } },
        status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: 'v1.32.0' } },
      });
      s.create('pods', {
        metadata: { name: `nm-${n}`, namespace: 'hadoop', labels: { [LABEL_COMPONENT]: NODE_MANAGER_COMPONENT } },
        spec: { nodeName: n, containers: [{ name: 'nm', image: 'hadoop:3' }] },
        status: { phase: 'Running', containerStatuses: [{ name: 'nm', ready: true, restartCount: 0 }] },
      }, { preserveStatus: true });
    }
    s.create('pods', { metadata: { name: 'web', labels: { app: 'web' } }, spec: { nodeName: 'mixed-1', containers: [{ name: 'w', image: 'nginx' }] } });
  });

  afterAll(async () => {
    await server?.stop();
    if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
  });

  it('get nodes prints a table', async () => {
    const out = await kubectl('get', 'nodes');
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 3).join(' ')).sort()).toEqual(['mixed-1 Ready worker', 'mixed-2 Ready worker']);
    // kubectl fell back from aggregated discovery to /api + /apis and asked for a Table.
    expect(server.stats.count({ verb: 'list', resource: 'nodes' })).toBeGreaterThan(0);
  });

  it('get pods -A -l selects across namespaces', async () => {
    const out = await kubectl('get', 'pods', '-A', '-l', NM_POD_SELECTOR);
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(/^NAMESPACE\s+NAME\s+READY\s+STATUS/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 4).join(' ')).sort()).toEqual([
      'hadoop nm-mixed-1 1/1 Running', 'hadoop nm-mixed-2 1/1 Running',
    ]);
    const json = JSON.parse(await kubectl('get', 'pods', '-A', '-l', `${LABEL_COMPONENT} notin (${NODE_MANAGER_COMPONENT})`, '-o', 'json'));
    expect(json.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(['web']);
    const wide = await kubectl('get', 'pods', '-n', 'hadoop', '--field-selector', 'spec.nodeName=mixed-2', '-o', 'wide');
    expect(wide).toMatch(/nm-mixed-2\s+1\/1\s+Running\s+0\s+\S+\s+<none>\s+mixed-2/);
    expect(wide).not.toContain('nm-mixed-1');
  });

  it('annotate node writes the annotation and honours --resource-version', async () => {
    const value = '{"allocations":[{"name":"hadoop-yarn","priority":"koord-batch","resources":{"kubernetes.io/batch-cpu":"2000"}}]}';
    await kubectl('annotate', 'node', 'mixed-1', `${ANNOTATION_THIRD_PARTY}=${value}`);
    expect(server.store.get('nodes', undefined, 'mixed-1')?.metadata.annotations?.[ANNOTATION_THIRD_PARTY]).toBe(value);
    const err = await kubectlFails('annotate', 'node', 'mixed-1', '--overwrite', '--resource-version', '1', `${ANNOTATION_THIRD_PARTY}=stale`);
    expect(err).toMatch(/Conflict|modified/);
    expect(server.store.get('nodes', undefined, 'mixed-1')?.metadata.annotations?.[ANNOTATION_THIRD_PARTY]).toBe(value);
    await kubectl('annotate', 'node', 'mixed-1', `${ANNOTATION_THIRD_PARTY}-`);
    expect(server.store.get('nodes', undefined, 'mixed-1')?.metadata.annotations?.[ANNOTATION_THIRD_PARTY]).toBeUndefined();
  });

  it('patch node --type merge | json | strategic', async () => {
    server.stats.reset();
    await kubectl('patch', 'node', 'mixed-2', '--type', 'merge', '-p', '{"metadata":{"labels":{"loom.io/merge":"yes"}}}');
    await kubectl('patch', 'node', 'mixed-2', '--type', 'json', '-p',
      '[{"op":"add","path":"/metadata/annotations","value":{}},{"op":"add","path":"/metadata/annotations/loom.io~1json","value":"yes"}]');
    await kubectl('patch', 'node', 'mixed-2', '--type', 'strategic', '-p', '{"metadata":{"labels":{"loom.io/merge":null,"loom.io/strategic":"yes"}}}');
    const n = server.store.get('nodes', undefined, 'mixed-2')!;
    expect(n.metadata.labels).toEqual({ 'node-role.kubernetes.io/worker': '', 'loom.io/strategic': 'yes' });
    expect(n.metadata.annotations).toEqual({ 'loom.io/json': 'yes' });
    expect(server.stats.count({ verb: 'patch', resource: 'nodes' })).toBe(3);

    const failed = await kubectlFails('patch', 'node', 'mixed-2', '--type', 'json', '-p', '[{"op":"test","path":"/metadata/labels/loom.io~1strategic","value":"no"}]');
    expect(failed).toContain('The request is invalid');
    expect(server.store.get('nodes', undefined, 'mixed-2')!.metadata.resourceVersion).toBe(n.metadata.resourceVersion);
  });

  it('apply creates, configures by strategic merge patch, and reports unchanged — without --validate=false', async () => {
    server.stats.reset();
    const pod = (labels: string, image: string) => `apiVersion: v1
kind: Pod
metadata:
  name: applied
  namespace: hadoop
  labels: {${labels}}
spec:
  containers:
  - name: main
    image: ${image}
    env: [{name: A, value: "1"}]
    resources:
      requests: {kubernetes.io/batch-cpu: "1k", kubernetes.io/batch-memory: 1Gi}
  - name: side
    image: busybox:1.36
`;
    const f = manifest('pod.yaml', pod('app: demo', 'busybox:1.36'));
    expect((await kubectl('apply', '-f', f)).trim()).toBe('pod/applied created');
    // kubectl read the OpenAPI v3 index and the core group's document, and no v2 was needed.
    expect(server.stats.count({ verb: 'get', resource: 'openapi', subresource: 'v3' })).toBeGreaterThan(0);
    expect((await kubectl('apply', '-f', f)).trim()).toBe('pod/applied unchanged');
    // A pod's spec is immutable but for images (and a few more): the apply changes labels and one image.
    const g = manifest('pod.yaml', pod('app: demo, tier: batch', 'busybox:1.37'));
    const { stdout, stderr } = await kubectlAll('apply', '-f', g);
    expect(stdout.trim()).toBe('pod/applied configured');
    expect(stderr).not.toMatch(/warning/i);
    const o = server.store.get('pods', 'hadoop', 'applied')!;
    expect(o.metadata.labels).toEqual({ app: 'demo', tier: 'batch' });
    const spec = o.spec as { containers: { name: string; image: string; env?: { name: string; value: string }[] }[] };
    expect(spec.containers.map((c) => `${c.name} ${c.image}`)).toEqual(['main busybox:1.37', 'side busybox:1.36']);
    expect(spec.containers[0]!.env).toEqual([{ name: 'A', value: '1' }]);
    expect(o.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration']).toContain('"tier":"batch"');
    expect(server.stats.count({ verb: 'patch', resource: 'pods' })).toBe(1);
  });

  it('apply and replace of other kinds and groups (Namespace, Node, Lease)', async () => {
    expect((await kubectl('apply', '-f', manifest('ns.yaml', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: applied-ns\n  labels: {team: batch}\n'))).trim()).toBe('namespace/applied-ns created');
    await kubectl('apply', '-f', manifest('node.yaml', 'apiVersion: v1\nkind: Node\nmetadata:\n  name: mixed-1\n  labels: {loom.io/pool: mixed}\n'));
    expect(server.store.get('nodes', undefined, 'mixed-1')!.metadata.labels).toMatchObject({ 'loom.io/pool': 'mixed', 'node-role.kubernetes.io/worker': '' });
    const lease = (holder: string) => `apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata:\n  name: loom\n  namespace: hadoop\nspec:\n  holderIdentity: ${holder}\n  leaseDurationSeconds: 15\n`;
    expect((await kubectl('apply', '-f', manifest('lease.yaml', lease('a')))).trim()).toBe('lease.coordination.k8s.io/loom created');
    expect((await kubectl('replace', '-f', manifest('lease.yaml', lease('b')))).trim()).toBe('lease.coordination.k8s.io/loom replaced');
    expect((server.store.get('leases', 'hadoop', 'loom')!.spec as { holderIdentity: string }).holderIdentity).toBe('b');
    expect(server.stats.count({ verb: 'update', resource: 'leases' })).toBe(1);
  });

  it('field validation: Strict (the default) refuses unknown fields by path, Warn warns, Ignore ignores', async () => {
    const bad = manifest('bad.yaml', `apiVersion: v1
kind: Pod
metadata:
  name: typo
  namespace: hadoop
spec:
  containers:
  - name: main
    image: busybox
    imagePullPolcy: Always
  nodeSelectr: {a: b}
`);
    const err = await kubectlFails('apply', '-f', bad);
    expect(err).toContain('strict decoding error');
    expect(err).toContain('unknown field "spec.containers[0].imagePullPolcy"');
    expect(err).toContain('unknown field "spec.nodeSelectr"');
    expect(server.store.get('pods', 'hadoop', 'typo')).toBeUndefined();
    expect(await kubectlFails('replace', '-f', bad)).toContain('strict decoding error');
    const warned = await kubectlAll('create', '--validate=warn', '-f', bad);
    expect(warned.stderr).toContain('unknown field "spec.nodeSelectr"');
    expect(server.store.get('pods', 'hadoop', 'typo')).toBeDefined();
    await kubectl('delete', 'pod', '-n', 'hadoop', 'typo');
    const ignored = await kubectlAll('create', '--validate=false', '-f', bad);
    expect(ignored.stderr).not.toContain('unknown field');
  });

  it('explain reads the schemas: OpenAPI v3, and v2 as protobuf', async () => {
    expect(await kubectl('explain', 'pods.spec.nodeName')).toMatch(/FIELD:\s+nodeName <string>/);
    expect(await kubectl('explain', 'leases.spec')).toContain('holderIdentity');
    const v2 = await kubectl('explain', 'nodes.status', '--output', 'plaintext-openapiv2');
    expect(v2).toMatch(/allocatable\s+<map\[string\]string>/);
    expect(server.stats.count({ verb: 'get', resource: 'openapi', subresource: 'v2' })).toBeGreaterThan(0);
  });
});
