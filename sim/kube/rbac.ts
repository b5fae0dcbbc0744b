/**
 * RBAC in the simulated API server, as kube-apiserver's token authenticator and RBAC authorizer
 * do it: ServiceAccounts, Roles, ClusterRoles, RoleBindings and ClusterRoleBindings read from a
 * manifest (e.g. a chart's rendered RBAC), a bearer token per ServiceAccount (and a kubeconfig
 * with it), and every request authorized by its verb, resource/subresource, name, namespace or
 * non-resource path. A denial is a real 403 `Status` worded like the apiserver's.
 *
 * The simulator's own token stays a cluster admin (`system:masters`), so tests and the
 * simulated world keep working; a request without a token is `system:anonymous`, which the
 * default bootstrap policy lets read only discovery and health paths.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { InputError } from '../../input/input-error.js';
import { kubeconfigYaml } from './kubeconfig.js';
import { ApiError } from './status.js';

const parseAllYaml = (text: string): unknown[] =>
  (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parseAllDocuments(text).map((d) => d.toJSON() as unknown);

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface Subject {
  kind: 'User' | 'Group' | 'ServiceAccount';
  name: string;
  namespace?: string;
}

interface Role { name: string; namespace?: string; rules: PolicyRule[] }
interface Binding { name: string; namespace?: string; roleRef: { kind: 'Role' | 'ClusterRole'; name: string }; subjects: Subject[] }

export interface UserInfo {
  name: string;
  groups: string[];
}

/** What a request asks for (k8s `authorizer.Attributes`). */
export type RequestAttributes =
  | { kind: 'resource'; verb: string; apiGroup: string; resource: string; subresource?: string; namespace?: string; name?: string }
  | { kind: 'nonResource'; verb: string; path: string };

/** A manifest the simulator cannot load: one line naming the file and the object. */
export class RbacManifestError extends InputError {
  constructor(file: string, problem: string) {
    super(file, problem);
    this.name = 'RbacManifestError';
  }
}

/** The bootstrap policy every cluster has for discovery and health (system:discovery, system:public-info-viewer). */
const BOOTSTRAP: { role: Role; groups: string[] }[] = [
  {
    role: { name: 'system:discovery', rules: [{ verbs: ['get'], nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/'] }] },
    groups: ['system:authenticated'],
  },
  {
    role: { name: 'system:public-info-viewer', rules: [{ verbs: ['get'], nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'] }] },
    groups: ['system:authenticated', 'system:unauthenticated'],
  },
];

const SA_PREFIX = 'system:serviceaccount:';

function strings(v: unknown, where: string, file: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new RbacManifestError(file, `${where}: expected a list of strings`);
  return v as string[];
}

function rulesOf(doc: Record<string, unknown>, where: string, file: string): PolicyRule[] {
  const raw = doc.rules ?? [];
  if (!Array.isArray(raw)) throw new RbacManifestError(file, `${where}: rules must be a list`);
  return raw.map((r, i) => {
    if (r === null || typeof r !== 'object') throw new RbacManifestError(file, `${where}: rules[${i}] must be an object`);
    const o = r as Record<string, unknown>;
    const rule: PolicyRule = { verbs: strings(o.verbs, `${where}: rules[${i}].verbs`, file) };
    if (rule.verbs.length === 0) throw new RbacManifestError(file, `${where}: rules[${i}].verbs: Required value`);
    if (o.apiGroups !== undefined) rule.apiGroups = strings(o.apiGroups, `${where}: rules[${i}].apiGroups`, file);
    if (o.resources !== undefined) rule.resources = strings(o.resources, `${where}: rules[${i}].resources`, file);
    if (o.resourceNames !== undefined) rule.resourceNames = strings(o.resourceNames, `${where}: rules[${i}].resourceNames`, file);
    if (o.nonResourceURLs !== undefined) rule.nonResourceURLs = strings(o.nonResourceURLs, `${where}: rules[${i}].nonResourceURLs`, file);
    return rule;
  });
}

/** Pure: does one rule allow the request? (k8s `RuleAllows`.) */
export function ruleAllows(a: RequestAttributes, rule: PolicyRule): boolean {
  const verbOk = rule.verbs.includes('*') || rule.verbs.includes(a.verb);
  if (!verbOk) return false;
  if (a.kind === 'nonResource') {
    return (rule.nonResourceURLs ?? []).some((u) => u === '*' || u === a.path || (u.endsWith('*') && a.path.startsWith(u.slice(0, -1))));
  }
  const groups = rule.apiGroups ?? [];
  if (!groups.includes('*') && !groups.includes(a.apiGroup)) return false;
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const resources = rule.resources ?? [];
  const resourceOk = resources.some((r) => r === '*' || r === combined || (a.subresource !== undefined && r === `*/${a.subresource}`));
  if (!resourceOk) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (a.name !== undefined && a.name !== '' && names.includes(a.name));
}

function subjectMatches(user: UserInfo, s: Subject, bindingNamespace: string | undefined): boolean {
  switch (s.kind) {
    case 'User': return s.name === user.name;
    case 'Group': return user.groups.includes(s.name);
    case 'ServiceAccount': {
      const ns = s.namespace || bindingNamespace || '';
      return user.name === `${SA_PREFIX}${ns}:${s.name}`;
    }
    default: return false;
  }
}

/** The apiserver's forbidden message (`forbiddenMessage` + `NewForbidden`). */
export function forbidden(user: UserInfo, a: RequestAttributes): ApiError {
  if (a.kind === 'nonResource') {
    return new ApiError(403, 'Forbidden', `forbidden: User "${user.name}" cannot ${a.verb} path "${a.path}"`, {});
  }
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  const why = `User "${user.name}" cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}" ${scope}`;
  const qualified = a.apiGroup ? `${a.resource}.${a.apiGroup}` : a.resource;
  const message = a.name ? `${qualified} "${a.name}" is forbidden: ${why}` : `${qualified} is forbidden: ${why}`;
  const details: Record<string, string> = { kind: a.resource };
  if (a.name) details.name = a.name;
  if (a.apiGroup) details.group = a.apiGroup;
  return new ApiError(403, 'Forbidden', message, details);
}

export interface Denial {
  user: string;
  attributes: RequestAttributes;
  message: string;
}

export class RbacPolicy {
  readonly serviceAccounts: { namespace: string; name: string; token: string }[] = [];
  private readonly roles = new Map<string, Role>();
  private readonly clusterRoles = new Map<string, Role>();
  private readonly bindings: Binding[] = [];
  private readonly tokens = new Map<string, UserInfo>();
  /** Every refused request, in order (tests read it). */
  readonly denials: Denial[] = [];

  /** Reads a multi-document manifest; kinds other than the RBAC ones and ServiceAccount are ignored. */
  static fromFile(file: string): RbacPolicy {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new RbacManifestError(file, `cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    return RbacPolicy.fromYaml(text, file);
  }

  static fromYaml(text: string, file = '(manifest)'): RbacPolicy {
    let docs: unknown[];
    try {
      docs = parseAllYaml(text);
    } catch (err) {
      throw new RbacManifestError(file, `not valid YAML (${(err as Error).message.split('\n')[0]})`);
    }
    const p = new RbacPolicy();
    const flat = docs.flatMap((d) => (d && typeof d === 'object' && (d as { kind?: unknown }).kind === 'List' ? ((d as { items?: unknown[] }).items ?? []) : [d]));
    for (const d of flat) {
      if (d === null || d === undefined) continue;
      if (typeof d !== 'object') throw new RbacManifestError(file, 'every document must be an object');
      p.add(d as Record<string, unknown>, file);
    }
    for (const b of p.bindings) {
      const known = b.roleRef.kind === 'ClusterRole' ? p.clusterRoles.has(b.roleRef.name) : p.roles.has(`${b.namespace}/${b.roleRef.name}`);
      if (!known) throw new RbacManifestError(file, `${b.namespace ? 'RoleBinding' : 'ClusterRoleBinding'} ${b.namespace ? `${b.namespace}/` : ''}${b.name}: roleRef ${b.roleRef.kind} ${b.roleRef.name} is not in the manifest`);
    }
    return p;
  }

  private add(doc: Record<string, unknown>, file: string): void {
    const kind = doc.kind;
    const meta = (doc.metadata ?? {}) as { name?: unknown; namespace?: unknown };
    if (typeof meta.name !== 'string' || meta.name === '') {
      if (['ServiceAccount', 'Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'].includes(String(kind))) {
        throw new RbacManifestError(file, `a ${String(kind)} without metadata.name`);
      }
      return;
    }
    const name = meta.name;
    const namespace = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : undefined;
    const where = `${String(kind)} ${namespace ? `${namespace}/` : ''}${name}`;
    switch (kind) {
      case 'ServiceAccount': {
        if (!namespace) throw new RbacManifestError(file, `${where}: metadata.namespace is required`);
        const token = randomBytes(24).toString('hex');
        this.serviceAccounts.push({ namespace, name, token });
        this.tokens.set(token, { name: `${SA_PREFIX}${namespace}:${name}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'] });
        return;
      }
      case 'Role':
        if (!namespace) throw new RbacManifestError(file, `${where}: metadata.namespace is required`);
        this.roles.set(`${namespace}/${name}`, { name, namespace, rules: rulesOf(doc, where, file) });
        return;
      case 'ClusterRole':
        if (doc.aggregationRule !== undefined) throw new RbacManifestError(file, `${where}: aggregated ClusterRoles are not supported by the simulator`);
        this.clusterRoles.set(name, { name, rules: rulesOf(doc, where, file) });
        return;
      case 'RoleBinding':
      case 'ClusterRoleBinding': {
        if (kind === 'RoleBinding' && !namespace) throw new RbacManifestError(file, `${where}: metadata.namespace is required`);
        const ref = (doc.roleRef ?? {}) as { kind?: unknown; name?: unknown; apiGroup?: unknown };
        if ((ref.kind !== 'Role' && ref.kind !== 'ClusterRole') || typeof ref.name !== 'string') throw new RbacManifestError(file, `${where}: roleRef must name a Role or ClusterRole`);
        if (kind === 'ClusterRoleBinding' && ref.kind !== 'ClusterRole') throw new RbacManifestError(file, `${where}: a ClusterRoleBinding can only refer to a ClusterRole`);
        const subjects = Array.isArray(doc.subjects) ? doc.subjects : [];
        const list: Subject[] = subjects.map((s, i) => {
          const o = (s ?? {}) as Record<string, unknown>;
          if ((o.kind !== 'User' && o.kind !== 'Group' && o.kind !== 'ServiceAccount') || typeof o.name !== 'string') {
            throw new RbacManifestError(file, `${where}: subjects[${i}] must be a User, Group or ServiceAccount with a name`);
          }
          const subject: Subject = { kind: o.kind, name: o.name };
          if (typeof o.namespace === 'string') subject.namespace = o.namespace;
          return subject;
        });
        const b: Binding = { name, roleRef: { kind: ref.kind, name: ref.name }, subjects: list };
        if (kind === 'RoleBinding') b.namespace = namespace!;
        this.bindings.push(b);
        return;
      }
      default:
    }
  }

  /** The user a bearer token stands for, or undefined for an unknown token. */
  userOf(token: string): UserInfo | undefined {
    return this.tokens.get(token);
  }

  /** k8s `RBACAuthorizer.Authorize`: allowed when any rule of any applicable binding allows. */
  allows(user: UserInfo, a: RequestAttributes): boolean {
    if (user.groups.includes('system:masters')) return true;
    for (const { role, groups } of BOOTSTRAP) {
      if (groups.some((g) => user.groups.includes(g)) && role.rules.some((r) => ruleAllows(a, r))) return true;
    }
    for (const b of this.bindings) {
      // Cluster-wide bindings apply everywhere; a RoleBinding only in its namespace, and never to non-resource paths.
      if (b.namespace !== undefined && (a.kind !== 'resource' || a.namespace !== b.namespace)) continue;
      if (!b.subjects.some((s) => subjectMatches(user, s, b.namespace))) continue;
      const role = b.roleRef.kind === 'ClusterRole' ? this.clusterRoles.get(b.roleRef.name) : this.roles.get(`${b.namespace}/${b.roleRef.name}`);
      if (role?.rules.some((r) => ruleAllows(a, r))) return true;
    }
    return false;
  }

  /** Throws the apiserver's 403 Status when the request is not allowed (and remembers it). */
  authorize(user: UserInfo, a: RequestAttributes): void {
    if (this.allows(user, a)) return;
    const err = forbidden(user, a);
    this.denials.push({ user: user.name, attributes: a, message: err.message });
    throw err;
  }

  /** Writes a kubeconfig per ServiceAccount into `dir`; returns `"<namespace>/<name>" → path`. */
  writeKubeconfigs(dir: string, server: string): Record<string, string> {
    mkdirSync(dir, { recursive: true });
    const out: Record<string, string> = {};
    for (const sa of this.serviceAccounts) {
      const path = join(dir, `kubeconfig-${sa.namespace}-${sa.name}`);
      writeFileSync(path, kubeconfigYaml(server, sa.token, sa.namespace), { mode: 0o600 });
      out[`${sa.namespace}/${sa.name}`] = path;
    }
    return out;
  }
}
