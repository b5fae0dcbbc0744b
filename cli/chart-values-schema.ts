/**
 * Renders charts/loom/values.schema.json. The `operator.settings` and `agent.settings` parts are
 * generated from the programs' setting declarations — the same ones docs/configuration.md is
 * rendered from — so a misspelt key, a wrong type or a value out of range fails `helm install`
 * with its name, exactly where the program itself would refuse it. The rest describes the chart's
 * own values (charts/loom/values.yaml). `npm run docs` writes it; a test fails when it drifts.
 */
import type { SettingSpec } from '../settings/settings.js';
import { operatorSettingSpecs } from '../operator/settings.js';
import { agentSettingSpecs } from '../agent/settings.js';

export interface ChartManaged {
  /** How the chart sets it. */
  how: string;
  /** The environment variable the chart's pod sets for it (always, with default values). */
  env?: string;
}

/**
 * Settings the chart sets itself (mounts, ports, identity, the lease its Role names): not
 * accepted under `settings`, where a value would contradict the pod around the program.
 */
export const CHART_MANAGED: Record<'operator' | 'agent', Record<string, ChartManaged>> = {
  operator: {
    kubeconfig: { how: 'the operator ServiceAccount (in-cluster)' },
    hadoopConfDir: { how: 'hadoopConfig.configMap, mounted at /etc/hadoop/conf', env: 'HADOOP_CONF_DIR' },
    once: { how: 'a long-running Deployment' },
    identity: { how: 'the pod name', env: 'LOOM_IDENTITY' },
    metricsAddr: { how: 'operator.metricsPort', env: 'LOOM_METRICS_ADDR' },
    leaseNamespace: { how: 'the release namespace', env: 'LOOM_LEASE_NAMESPACE' },
    leaseName: { how: 'the Lease its Role may update (<fullname>-operator)', env: 'LOOM_LEASE_NAME' },
    eventNamespace: { how: 'the namespace its events Role is in', env: 'LOOM_EVENT_NAMESPACE' },
    rmCaFile: { how: 'rmCA.secretName, mounted at /etc/loom/rm-ca' },
  },
  agent: {
    nodeName: { how: 'the pod\'s spec.nodeName', env: 'NODE_NAME' },
    kubeconfig: { how: 'the agent ServiceAccount (in-cluster)' },
    cgroupRoot: { how: 'agent.hostCgroupRoot, mounted at /host/sys/fs/cgroup', env: 'LOOM_CGROUP_ROOT' },
    procRoot: { how: 'agent.hostProcRoot, mounted at /host/proc', env: 'LOOM_PROC_ROOT' },
    socket: { how: 'agent.copilotSocketDir, mounted at /var/run/yarn-copilot', env: 'LOOM_SOCKET' },
    metricsAddr: { how: 'agent.metricsPort', env: 'LOOM_METRICS_ADDR' },
    simulatedCgroups: { how: 'never: in a cluster the host cgroup filesystem is mounted' },
  },
};

type Schema = Record<string, unknown>;

function settingSchema(spec: SettingSpec): Schema {
  const s: Schema = { description: spec.description };
  switch (spec.kind) {
    case 'string':
      // The program takes a number where a string is expected (YAML `rmUser: 123`), so does the schema.
      Object.assign(s, { type: ['string', 'number'], minLength: 1 });
      break;
    case 'enum':
      Object.assign(s, { type: 'string', enum: [...(spec.choices ?? [])] });
      break;
    case 'boolean':
      s.type = 'boolean';
      break;
    case 'number':
      s.type = 'number';
      break;
    case 'integer':
    case 'duration-ms':
      s.type = 'integer';
      break;
  }
  if (spec.min !== undefined) s.minimum = spec.min;
  if (spec.max !== undefined) s.maximum = spec.max;
  if (spec.default !== undefined) s.default = spec.default;
  return s;
}

/** The schema of one program's `settings`: nested objects for dotted keys, nothing unknown. */
export function settingsSchema(specs: readonly SettingSpec[], managed: Record<string, ChartManaged>, program: string): Schema {
  const root: Schema = {
    type: 'object',
    description: `loom ${program} settings (docs/configuration.md), rendered into its loom.yaml`,
    additionalProperties: false,
    properties: {} as Record<string, Schema>,
  };
  for (const spec of specs) {
    if (managed[spec.key]) continue;
    const parts = spec.key.split('.');
    let node = root;
    for (const part of parts.slice(0, -1)) {
      const props = node.properties as Record<string, Schema>;
      props[part] ??= { type: 'object', additionalProperties: false, properties: {} };
      node = props[part]!;
    }
    (node.properties as Record<string, Schema>)[parts[parts.length - 1]!] = settingSchema(spec);
  }
  return root;
}

const str = (description: string): Schema => ({ type: 'string', description });
const bool = (description: string): Schema => ({ type: 'boolean', description });
const obj = (description: string): Schema => ({ type: 'object', description });
const arr = (description: string): Schema => ({ type: 'array', description });
const port = (description: string): Schema => ({ type: 'integer', minimum: 1, maximum: 65535, description });
const strict = (properties: Record<string, Schema>, description?: string): Schema =>
  ({ type: 'object', ...(description ? { description } : {}), additionalProperties: false, properties });

/** Common to both programs' values. */
function podValues(): Record<string, Schema> {
  return {
    resources: obj('container resources (requests, limits)'),
    affinity: obj('pod affinity'),
    nodeSelector: { type: 'object', additionalProperties: { type: 'string' }, description: 'node labels the pods need' },
    tolerations: arr('pod tolerations'),
    priorityClassName: str('PriorityClass of the pods'),
    podAnnotations: { type: 'object', additionalProperties: { type: 'string' }, description: 'extra pod annotations' },
    podLabels: { type: 'object', additionalProperties: { type: 'string' }, description: 'extra pod labels' },
    extraEnv: arr('extra environment variables of the container'),
    serviceAccountAnnotations: { type: 'object', additionalProperties: { type: 'string' }, description: 'annotations of the ServiceAccount' },
  };
}

export function valuesSchema(): Schema {
  const monitor = (what: string) => strict({ enabled: bool(`create the ${what}s`), interval: str('scrape interval'), labels: obj(`labels of the ${what}s (for Prometheus to select them)`) });
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'Loom Helm chart values',
    type: 'object',
    additionalProperties: false,
    properties: {
      global: obj('parent chart values (ignored)'),
      image: strict({
        repository: { type: 'string', minLength: 1, description: 'image repository' },
        tag: str('image tag (default: the chart appVersion)'),
        pullPolicy: { type: 'string', enum: ['Always', 'IfNotPresent', 'Never'] },
      }),
      imagePullSecrets: arr('image pull secrets'),
      nameOverride: str('replaces the chart name in object names'),
      fullnameOverride: str('replaces <release>-<chart> in object names'),
      logLevel: { type: 'string', enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], description: 'LOOM_LOG_LEVEL of both programs' },
      hadoopConfig: strict({ configMap: { type: 'string', minLength: 1, description: 'existing ConfigMap with yarn-site.xml' } }),
      rmCA: strict({ secretName: str('existing Secret with the RM CA bundle (empty: none)'), key: { type: 'string', minLength: 1 } }),
      kerberos: strict({
        keytabSecret: str('existing Secret with the keytab (empty: none)'),
        keytabKey: { type: 'string', minLength: 1 },
        krb5ConfigMap: str('existing ConfigMap with krb5.conf (empty: none)'),
        krb5ConfigKey: { type: 'string', minLength: 1 },
      }),
      operator: strict({
        replicas: { type: 'integer', minimum: 0, description: 'operator replicas (one leads)' },
        settings: settingsSchema(operatorSettingSpecs, CHART_MANAGED.operator, 'operator'),
        metricsPort: port('/metrics, /healthz and /readyz port'),
        podAntiAffinity: { type: 'string', enum: ['soft', 'hard', 'none'], description: 'spread the replicas over nodes' },
        podDisruptionBudget: strict({ enabled: bool('create a PodDisruptionBudget'), maxUnavailable: { type: ['integer', 'string'] } }),
        ...podValues(),
      }),
      agent: strict({
        settings: settingsSchema(agentSettingSpecs, CHART_MANAGED.agent, 'agent'),
        metricsPort: port('/metrics, /healthz and /readyz port (on the node with hostNetwork)'),
        hostNetwork: bool('run on the node network (reach the NodeManager at 127.0.0.1)'),
        hostCgroupRoot: { type: 'string', pattern: '^/', description: 'host cgroup filesystem' },
        hostProcRoot: { type: 'string', pattern: '^/', description: 'host proc filesystem' },
        copilotSocketDir: { type: 'string', pattern: '^/', description: 'host directory of the yarn-copilot socket' },
        capabilities: { type: 'array', items: { type: 'string', pattern: '^[A-Z_]+$' }, uniqueItems: true, description: 'Linux capabilities added (all others dropped)' },
        maxUnavailable: { type: ['integer', 'string'], description: 'rolling update: nodes without an agent at once' },
        ...podValues(),
      }),
      metrics: strict({
        serviceMonitor: monitor('ServiceMonitor'),
        podMonitor: monitor('PodMonitor'),
        prometheusRule: strict({
          enabled: bool('create the PrometheusRule'),
          labels: obj('labels of the PrometheusRule'),
          evictionsPer10m: { type: 'number', minimum: 0 },
          driftRepairsPer30m: { type: 'number', minimum: 0 },
        }),
        dashboard: strict({ enabled: bool('create the Grafana dashboard ConfigMap'), namespace: str('its namespace (default: the release namespace)'), labels: obj('its labels (grafana_dashboard for the sidecar)') }),
      }),
      release: strict({
        enabled: bool('run `loom release` as a Job (scale the operator to 0 first: operator.replicas=0)'),
        removeClaims: bool('--remove-claims: remove Loom\'s claims once YARN holds nothing on a node'),
        dryRun: bool('--dry-run: log the plan, write nothing'),
      }),
    },
  };
}

export function renderValuesSchema(): string {
  return `${JSON.stringify(valuesSchema(), null, 2)}\n`;
}
