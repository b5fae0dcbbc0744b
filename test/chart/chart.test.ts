/**
 * The Helm chart charts/loom with the real helm v4: lint, render with defaults and with every
 * optional part on, validate every rendered object against the Kubernetes OpenAPI schemas (and
 * no unknown field), check what the issue asks of each workload, reject bad values through the
 * generated values.schema.json, and show that the settings file the chart renders is one the
 * programs accept. deploy/ and values.schema.json must be what the generators produce.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeTools } from '../kube-tools.js';
import { chartDir, find, helm, NAMESPACE, objectsOf, openApiProblem, repoRoot, templateText, unknownFields, type KubeObj } from './render.js';
import { CHART_MANAGED, renderValuesSchema } from '../../cli/chart-values-schema.js';
import { renderDeployManifests } from '../../scripts/render-deploy.js';
import { settingsFor } from '../../settings/settings.js';
import { operatorSettingSpecs } from '../../operator/settings.js';
import { agentSettingSpecs } from '../../agent/settings.js';
import { commandSettingSpecs } from '../../cli/command-settings.js';

const tools = kubeTools();
if (typeof tools === 'string') console.log(`skipped (chart): ${tools}`);
const helmBin = typeof tools === 'string' ? '' : tools.helm;
const ALL_ON = join(chartDir, 'ci', 'all-on-values.yaml');

type Container = { name: string; args?: string[]; env?: { name: string; value?: string; valueFrom?: unknown }[]; securityContext?: Record<string, unknown>; livenessProbe?: { httpGet: { path: string } }; readinessProbe?: { httpGet: { path: string } }; volumeMounts?: { name: string; mountPath: string }[] };
type PodSpec = { containers: Container[]; securityContext?: Record<string, unknown>; [k: string]: unknown };
const podSpec = (o: KubeObj): PodSpec => (o.spec as { template: { spec: PodSpec } }).template.spec;
const envOf = (c: Container): Map<string, string | undefined> => new Map((c.env ?? []).map((e) => [e.name, e.value ?? (e.valueFrom ? '<from>' : undefined)]));

describe.skipIf(typeof tools === 'string')('the Helm chart', () => {
  let defaults: KubeObj[];
  let allOn: KubeObj[];
  const dir = mkdtempSync(join(tmpdir(), 'loom-chart-'));

  beforeAll(() => {
    defaults = objectsOf(templateText(helmBin));
    allOn = objectsOf(templateText(helmBin, ['-f', ALL_ON]));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('helm lint --strict is clean, with defaults and with every optional part on', () => {
    for (const args of [[], ['-f', ALL_ON]]) {
      const r = helm(helmBin, ['lint', '--strict', chartDir, '--namespace', NAMESPACE, ...args]);
      expect(r.stdout + r.stderr, args.join(' ')).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
      expect(r.code).toBe(0);
      expect(r.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    }
  });

  it('renders the whole installation with defaults; optional parts only when asked', () => {
    const kinds = (objs: KubeObj[]) => objs.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(kinds(defaults)).toEqual([
      'ClusterRole/loom-operator', 'ClusterRoleBinding/loom-operator',
      'ConfigMap/loom-agent', 'ConfigMap/loom-operator',
      'DaemonSet/loom-agent', 'Deployment/loom-operator', 'PodDisruptionBudget/loom-operator',
      'Role/loom-agent-events', 'Role/loom-operator', 'Role/loom-operator-events',
      'RoleBinding/loom-agent-events', 'RoleBinding/loom-operator', 'RoleBinding/loom-operator-events',
      'Service/loom-agent-metrics', 'Service/loom-operator-metrics',
      'ServiceAccount/loom-agent', 'ServiceAccount/loom-operator',
    ]);
    for (const extra of ['ServiceMonitor/loom-operator', 'ServiceMonitor/loom-agent', 'PodMonitor/loom-operator', 'PodMonitor/loom-agent', 'PrometheusRule/loom', 'ConfigMap/loom-dashboard', 'Job/loom-release']) {
      expect(kinds(allOn), extra).toContain(extra);
    }
  });

  it('every rendered object validates against the Kubernetes OpenAPI schemas and has no unknown field', async () => {
    for (const o of [...defaults, ...allOn]) {
      expect(await openApiProblem(o), `${o.kind}/${o.metadata.name}`).toBeUndefined();
      expect(unknownFields(o), `${o.kind}/${o.metadata.name}`).toEqual([]);
    }
    // The validators do refuse: a wrong type in a core object and in a monitoring one.
    const d = structuredClone(find(defaults, 'Deployment', 'loom-operator'));
    (d.spec as { replicas: unknown }).replicas = 'two';
    expect(await openApiProblem(d)).toMatch(/replicas/);
    const rule = allOn.find((o) => o.kind === 'PrometheusRule');
    expect(rule).toBeDefined();
    const badRule = structuredClone(rule!);
    (badRule.spec as { groups: unknown }).groups = 'none';
    expect(await openApiProblem(badRule)).toMatch(/groups/);
  });

  it('the operator: 2 replicas, never below them while rolling, spread, probed, locked down', () => {
    const d = find(defaults, 'Deployment', 'loom-operator');
    const spec = d.spec as { replicas: number; strategy: { rollingUpdate: { maxUnavailable: number } }; template: { spec: PodSpec & { affinity?: { podAntiAffinity?: unknown } } } };
    expect(spec.replicas).toBe(2);
    expect(spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    expect(spec.template.spec.affinity?.podAntiAffinity).toBeDefined();
    const pod = podSpec(d);
    expect(pod.serviceAccountName).toBe('loom-operator');
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    const c = pod.containers[0]!;
    // The settings file comes through LOOM_CONFIG, so `loom status` exec'd in the pod reads it too.
    expect(c.args).toEqual(['operator']);
    expect(envOf(c).get('LOOM_CONFIG')).toBe('/etc/loom/loom.yaml');
    expect(c.volumeMounts).toContainEqual(expect.objectContaining({ name: 'config', mountPath: '/etc/loom/loom.yaml' }));
    expect(c.livenessProbe?.httpGet.path).toBe('/healthz');
    expect(c.readinessProbe?.httpGet.path).toBe('/readyz');
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c.securityContext?.capabilities).not.toHaveProperty('add');
    // Leader election on, in the release namespace, with the Lease the Role allows.
    const env = envOf(c);
    expect(env.get('LOOM_LEASE_NAME')).toBe('loom-operator');
    const role = find(defaults, 'Role', 'loom-operator');
    expect(role.metadata.namespace).toBe(NAMESPACE);
    expect(JSON.stringify(role.rules)).toContain('"resourceNames":["loom-operator"]');
    const hard = find(allOn, 'Deployment', 'loom-operator').spec as { template: { spec: { affinity: { podAntiAffinity: Record<string, unknown> } } } };
    expect(Object.keys(hard.template.spec.affinity.podAntiAffinity)).toEqual(['requiredDuringSchedulingIgnoredDuringExecution']);
  });

  it('the agent: every node, system-node-critical, host pid/cgroups/proc/socket, explicit capabilities, rolling 10 %, readiness on /readyz, liveness on /livez', () => {
    const ds = find(defaults, 'DaemonSet', 'loom-agent');
    const spec = ds.spec as { updateStrategy: { rollingUpdate: { maxUnavailable: string } } };
    expect(spec.updateStrategy.rollingUpdate.maxUnavailable).toBe('10%');
    const pod = podSpec(ds);
    expect(pod.priorityClassName).toBe('system-node-critical');
    expect(pod.hostPID).toBe(true);
    expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(pod.serviceAccountName).toBe('loom-agent');
    const c = pod.containers[0]!;
    expect(c.args).toEqual(['agent', '--config', '/etc/loom/loom.yaml']);
    expect(c.readinessProbe?.httpGet.path).toBe('/readyz');
    // Liveness on /livez (its loops turn), never /healthz: that fails while the NodeManager is away, and a restart would not help.
    expect(c.livenessProbe?.httpGet.path).toBe('/livez');
    expect(c.securityContext?.privileged).toBe(false);
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect((c.securityContext?.capabilities as { add: string[] }).add).toContain('KILL');
    const mounts = new Map((c.volumeMounts ?? []).map((m) => [m.mountPath, m.name]));
    const env = envOf(c);
    for (const key of ['LOOM_CGROUP_ROOT', 'LOOM_PROC_ROOT']) expect(mounts.has(env.get(key)!), key).toBe(true);
    expect(mounts.get('/var/run/yarn-copilot')).toBe('copilot');
    const volumes = new Map((pod.volumes as { name: string; hostPath?: { path: string } }[]).map((v) => [v.name, v.hostPath?.path]));
    expect(volumes.get('cgroup')).toBe('/sys/fs/cgroup');
    expect(volumes.get('proc')).toBe('/proc');
    expect(volumes.get('copilot')).toBe('/var/run/yarn-copilot');
    expect(find(allOn, 'DaemonSet', 'loom-agent').spec).toMatchObject({ template: { spec: { nodeSelector: { 'node-role.kubernetes.io/mixed': '' } } } });
  });

  it('every setting is either allowed under <program>.settings or set by the chart itself', () => {
    const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as { properties: Record<string, { properties: { settings: { properties: Record<string, unknown> } } }> };
    for (const [program, specs, workload] of [['operator', operatorSettingSpecs, find(defaults, 'Deployment', 'loom-operator')], ['agent', agentSettingSpecs, find(defaults, 'DaemonSet', 'loom-agent')]] as const) {
      const allowed = schema.properties[program]!.properties.settings.properties;
      const env = envOf(podSpec(workload).containers[0]!);
      for (const spec of specs) {
        const top = spec.key.split('.')[0]!;
        const managed = CHART_MANAGED[program][spec.key];
        if (managed) {
          expect(allowed, `${program}.${spec.key} is the chart's`).not.toHaveProperty(top);
          if (managed.env) expect(env.has(managed.env), `${program} sets ${managed.env} for ${spec.key}`).toBe(true);
        } else {
          expect(allowed, `${program}.settings.${spec.key}`).toHaveProperty(top);
        }
      }
    }
  });

  it('the settings files the chart renders are accepted by the programs (and by loom release)', () => {
    for (const [name, specs] of [['loom-operator', commandSettingSpecs.operator], ['loom-agent', commandSettingSpecs.agent], ['loom-operator', commandSettingSpecs.release]] as const) {
      const text = (find(allOn, 'ConfigMap', name).data as Record<string, string>)['loom.yaml']!;
      const file = join(dir, `${name}.yaml`);
      writeFileSync(file, text);
      const values = settingsFor(specs, { config: file }, {});
      for (const [key, v] of Object.entries(parseYaml(text) as Record<string, unknown>)) {
        if (typeof v !== 'object') expect(values[key], `${name} ${key}`).toEqual(v);
      }
    }
    expect(settingsFor(operatorSettingSpecs, { config: join(dir, 'loom-operator.yaml') }, {})['hysteresis.cpuMilli']).toBe(500);
    // `kubectl exec deploy/loom-operator -- loom status`: the pod's LOOM_CONFIG, read with status's own keys.
    const status = settingsFor(commandSettingSpecs.status, {}, { LOOM_CONFIG: join(dir, 'loom-operator.yaml') }, commandSettingSpecs.operator);
    expect(status).toMatchObject({ policy: 'partitioned', headroomShare: 0.4, rmUser: 'loom' });
    expect(status).not.toHaveProperty('hysteresis.cpuMilli');
  });

  it('bad values fail helm template with a message naming them', () => {
    const bad: [string[], RegExp][] = [
      [['--set-json', 'operator.settings.headroomShare=1.5'], /headroomShare.*(maximum|1\.5)/],
      [['--set', 'operator.settings.headroomShar=0.5'], /headroomShar/],
      [['--set', 'operator.settings.policy=greedy'], /policy/],
      [['--set', 'operator.settings.hysteresis.cpuMillis=5'], /cpuMillis/],
      [['--set', 'agent.settings.protectApplicationMasters=sometimes'], /protectApplicationMasters/],
      [['--set-json', 'agent.settings.tickMillis=10'], /tickMillis.*(minimum|10)/],
      [['--set', 'agent.settings.cgroupRoot=/elsewhere'], /cgroupRoot/],
      [['--set', 'operater.replicas=3'], /operater/],
      [['--set', 'operator.podAntiAffinity=sometimes'], /podAntiAffinity/],
    ];
    for (const [args, named] of bad) {
      const r = helm(helmBin, ['template', 'loom', chartDir, '--namespace', NAMESPACE, ...args]);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toMatch(/schema/);
      expect(r.stderr, args.join(' ')).toMatch(named);
    }
    // And a good one renders into the file (helm's --set keeps 0.25 a string; --set-json and values files give numbers).
    const ok = objectsOf(templateText(helmBin, ['--set-json', 'operator.settings.headroomShare=0.25']));
    expect((find(ok, 'ConfigMap', 'loom-operator').data as Record<string, string>)['loom.yaml']).toMatch(/headroomShare: 0.25/);
  });

  it('values.schema.json is the one generated from the setting declarations', () => {
    expect(readFileSync(join(chartDir, 'values.schema.json'), 'utf8'), 'run `npm run docs`').toBe(renderValuesSchema());
  });

  it('deploy/ is the chart rendered with default values', () => {
    const rendered = renderDeployManifests(helmBin);
    for (const [file, text] of Object.entries(rendered)) {
      expect(readFileSync(join(repoRoot, 'deploy', file), 'utf8'), `deploy/${file}: run \`npm run docs\``).toBe(text);
    }
    const all = objectsOf(rendered['loom.yaml']!);
    expect(all[0]).toMatchObject({ kind: 'Namespace', metadata: { name: NAMESPACE } });
    expect(all.slice(1).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(defaults.map((o) => `${o.kind}/${o.metadata.name}`));
  });

  it('the chart and the program are one release: version = appVersion = package.json version', () => {
    const chart = parseYaml(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as { version: string; appVersion: string };
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    expect(chart.version).toBe(pkg.version);
    expect(chart.appVersion).toBe(pkg.version);
    const image = podSpec(find(defaults, 'Deployment', 'loom-operator')).containers[0] as unknown as { image: string };
    expect(image.image).toBe(`loom:${pkg.version}`);
  });
});
