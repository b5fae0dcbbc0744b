/**
 * Helpers for the chart tests: `helm template` with the real helm v4, the rendered objects, and
 * their validation against the Kubernetes OpenAPI schemas — `kubernetes-models` (+ the
 * prometheus-operator models for monitors and rules), plus a strict walk over the field names
 * of @kubernetes/client-node's generated models, because the OpenAPI schemas accept unknown fields
 * (a misspelt `prioritClassName` would pass them and be dropped by the API server).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

export const repoRoot = join(import.meta.dirname, '..', '..');
export const chartDir = join(repoRoot, 'charts', 'loom');
export const RELEASE = 'loom';
export const NAMESPACE = 'loom-system';

export interface KubeObj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: unknown;
}

export function helm(helmBin: string, args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(helmBin, args, { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, HELM_CACHE_HOME: '/tmp/loom-helm-cache', HELM_CONFIG_HOME: '/tmp/loom-helm-config', HELM_DATA_HOME: '/tmp/loom-helm-data' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `helm template loom charts/loom -n loom-system [args]`: the text, or throws with helm's message. */
export function templateText(helmBin: string, args: string[] = []): string {
  const r = helm(helmBin, ['template', RELEASE, chartDir, '--namespace', NAMESPACE, ...args]);
  if (r.code !== 0) throw new Error(`helm template failed: ${r.stderr.trim()}`);
  return r.stdout;
}

export function objectsOf(text: string): KubeObj[] {
  return parseAllDocuments(text).map((d) => d.toJS() as KubeObj | null).filter((o): o is KubeObj => o !== null);
}

export function find(objs: readonly KubeObj[], kind: string, name: string): KubeObj {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} in ${objs.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
}

function modelModule(apiVersion: string): string {
  if (apiVersion.startsWith('monitoring.coreos.com/')) return `@kubernetes-models/prometheus-operator/${apiVersion}`;
  return `kubernetes-models/${apiVersion}`;
}

/** The OpenAPI validation of kubernetes-models: undefined when valid, else the message. */
export async function openApiProblem(obj: KubeObj): Promise<string | undefined> {
  const mod = (await import(modelModule(obj.apiVersion))) as Record<string, new (o: unknown) => { validate(): void }>;
  const Model = mod[obj.kind];
  if (!Model) return `no model for ${obj.apiVersion} ${obj.kind}`;
  try {
    new Model(obj).validate();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

type Attr = { name: string; baseName: string; type: string };
const SCALAR = new Set(['string', 'number', 'boolean', 'Date', 'IntOrString', 'any', 'object']);

/** Field paths that no Kubernetes model knows (only for kinds client-node models; CRDs are skipped). */
export function unknownFields(obj: KubeObj): string[] {
  const root = `V1${obj.kind}`;
  if (!(root in k8s)) return obj.apiVersion.startsWith('monitoring.coreos.com/') ? [] : [`no client-node model ${root}`];
  const out: string[] = [];
  const walk = (value: unknown, type: string, path: string): void => {
    if (value === null || value === undefined || SCALAR.has(type)) return;
    const arr = /^Array<(.+)>$/.exec(type);
    if (arr) {
      if (Array.isArray(value)) value.forEach((v, i) => walk(v, arr[1]!, `${path}[${i}]`));
      return;
    }
    const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
    if (map) {
      for (const [key, v] of Object.entries(value as Record<string, unknown>)) walk(v, map[1]!, `${path}.${key}`);
      return;
    }
    const model = (k8s as unknown as Record<string, { getAttributeTypeMap?: () => Attr[] }>)[type];
    if (!model?.getAttributeTypeMap || typeof value !== 'object') return;
    const attrs = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      const t = attrs.get(key);
      if (t === undefined) out.push(`${path}.${key}`);
      else walk(v, t, `${path}.${key}`);
    }
  };
  walk(obj, root, `${obj.kind}/${obj.metadata.name}`);
  return out;
}
