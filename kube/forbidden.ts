/**
 * A request the API server refused with 403: the ServiceAccount lacks an RBAC rule. Said once per
 * verb and resource (a reflector retries its list every few seconds; a claim write fails per
 * node), at error level, naming what to grant; counted every time in
 * `loom_kube_forbidden_total{verb,resource}`. Never thrown from here: the caller handles the
 * error as it handles any failed request.
 */
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../log/logger.js';
import { KubeApiError } from './api.js';

export interface ForbiddenRequest {
  /** The RBAC verb: get, list, watch, create, update, patch, delete. */
  verb: string;
  /** `nodes`, `nodes/status`, `leases.coordination.k8s.io`, … */
  resource: string;
  namespace?: string;
  name?: string;
}

/** Pure: the RBAC verb and resource of a request path (`/api/v1/…`, `/apis/<group>/<version>/…`). */
export function forbiddenRequestOf(method: string, path: string): ForbiddenRequest {
  const segs = path.split('?')[0]!.split('/').filter(Boolean).map((s) => decodeURIComponent(s));
  let group = '';
  let rest: string[];
  if (segs[0] === 'api') rest = segs.slice(2);
  else if (segs[0] === 'apis') { group = segs[1] ?? ''; rest = segs.slice(3); }
  else return { verb: method.toLowerCase(), resource: path };
  if (rest[0] === 'watch') rest = rest.slice(1);
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) { namespace = rest[1]; rest = rest.slice(2); }
  const [plural = '', name, sub] = rest;
  const m = method.toUpperCase();
  const verb = m === 'WATCH' ? 'watch'
    : m === 'GET' ? (name === undefined ? 'list' : 'get')
      : m === 'POST' ? 'create' : m === 'PUT' ? 'update' : m === 'PATCH' ? 'patch' : m === 'DELETE' ? 'delete' : m.toLowerCase();
  const resource = `${plural}${sub ? `/${sub}` : ''}${group ? `.${group}` : ''}`;
  const r: ForbiddenRequest = { verb, resource };
  if (namespace !== undefined) r.namespace = namespace;
  if (name !== undefined) r.name = name;
  return r;
}

/** Pure: the one line that says a 403, naming verb and resource and what to grant. */
export function forbiddenMessage(r: ForbiddenRequest): string {
  const where = r.namespace ? ` in namespace ${r.namespace}` : '';
  return `Kubernetes RBAC forbids ${r.verb} on ${r.resource}${where}: grant it to this program's ServiceAccount`;
}

/** The one line for a refused request, or undefined when it was not a 403. */
export function forbiddenLine(err: unknown): string | undefined {
  if (!(err instanceof KubeApiError) || err.status !== 403) return undefined;
  return forbiddenMessage(forbiddenRequestOf(err.method, err.path));
}

/** The counter both programs register (operator/metrics.ts, agent/metrics.ts). */
export function kubeForbiddenCounter(registry: Registry): Counter<'verb' | 'resource'> {
  return new Counter({
    name: 'loom_kube_forbidden_total',
    help: 'Kubernetes API requests refused with 403 (a missing RBAC rule), by verb and resource',
    labelNames: ['verb', 'resource'] as const,
    registers: [registry],
  });
}

export class ForbiddenReporter {
  private readonly said = new Set<string>();
  private readonly counter: Counter<'verb' | 'resource'> | undefined;

  constructor(private readonly o: { logger: Logger; counter?: Counter<'verb' | 'resource'> }) {
    this.counter = o.counter;
  }

  /** Records a failed request; only 403s are reported. */
  note(err: KubeApiError): void {
    if (err.status !== 403) return;
    const r = forbiddenRequestOf(err.method, err.path);
    this.counter?.inc({ verb: r.verb, resource: r.resource });
    const key = `${r.verb} ${r.resource} ${r.namespace ?? ''}`;
    if (this.said.has(key)) return;
    this.said.add(key);
    this.o.logger.error({ verb: r.verb, resource: r.resource, namespace: r.namespace, name: r.name, err: err.message }, forbiddenMessage(r));
  }
}
