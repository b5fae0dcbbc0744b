/**
 * The real `kubectl` against the Kubernetes API simulator: discovery fallback (kubectl asks for
 * aggregated discovery first), Table output, label selectors, annotate and the three patch types.
 */
import { installDebianPackage } from '../debian-package.js';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeApiServer } from '../../sim/kube/index.js';
import { ANNOTATION_THIRD_PARTY, NM_POD_SELECTOR, LABEL_COMPONENT, NODE_MANAGER_COMPONENT } from '../../kube/wire.js';

const run = promisify(execFile);

function hasKubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** kubectl, installed from Debian's `kubernetes-client` when missing and we are root. */
function ensureKubectl(): string | undefined {
  if (hasKubectl()) return undefined;
  const failed = installDebianPackage('kubernetes-client');
  if (failed) return `kubectl is missing: ${failed}`;
  return hasKubectl() ? undefined : 'kubectl is still missing after installing kubernetes-client';
}

const skipReason = ensureKubectl();
if (skipReason) console.log(`kube-sim kubectl tests skipped: ${skipReason}`);

describe.skipIf(skipReason !== undefined)('kube-sim driven by kubectl', () => {
  let server: KubeApiServer;
  let cacheDir: string;

  const kubectl = async (...args: string[]): Promise<string> => {
    const { stdout } = await run('kubectl', ['--kubeconfig', server.kubeconfigPath, '--cache-dir', cacheDir, ...args], {
      env: { ...process.env, HOME: cacheDir, KUBECONFIG: '' },
      timeout: 30_000,
    });
    return stdout;
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
});
