/** Settings of the smaller subcommands (`sim`, `status`, `demo`). */
import type { SettingSpec } from '../settings/settings.js';
import { operatorSettingSpecs } from '../operator/settings.js';
import { agentSettingSpecs } from '../agent/settings.js';
import { logSettingSpecs } from '../log/log-settings.js';
import { releaseSettingSpecs } from '../operator/release-settings.js';

export const simSettingSpecs: readonly SettingSpec[] = [
  { key: 'nodes', kind: 'integer', min: 1, max: 5000, description: 'number of simulated nodes', default: 3 },
  { key: 'ha', kind: 'boolean', description: 'run an HA pair of ResourceManagers (rm1 active, rm2 standby)', default: false },
  { key: 'port', kind: 'integer', min: 0, max: 65535, description: 'Kubernetes API port (0 = ephemeral)', default: 0 },
  { key: 'rmPort', kind: 'integer', min: 0, max: 65535, description: 'first ResourceManager web port (0 = ephemeral)', default: 0 },
  { key: 'workload', kind: 'boolean', description: 'let the workload move (online load, batch pods, YARN apps); off keeps the fixed initial state', default: false },
  { key: 'layout', kind: 'enum', choices: ['v1', 'v2', 'hybrid'], description: 'cgroup layout of the simulated nodes', default: 'v2' },
  { key: 'driver', kind: 'enum', choices: ['cgroupfs', 'systemd'], description: 'cgroup naming of the simulated nodes', default: 'cgroupfs' },
  { key: 'rbac', kind: 'string', description: 'RBAC manifest (ServiceAccounts, Roles, bindings): the API server authorizes every request as RBAC does and prints a kubeconfig per ServiceAccount' },
  { key: 'dir', kind: 'string', description: 'where to put kubeconfig, Hadoop conf and node trees (default: a new temp dir, removed on exit)' },
];

/**
 * The operator settings `loom status` reads: where the cluster is, the ledger policy (to compute
 * drift the way the operator does), how to reach the RMs, where the operator's Events are; plus an
 * output format. Loop timing, hysteresis, leader election and listeners mean nothing to it.
 */
export const STATUS_OPERATOR_KEYS = [
  'kubeconfig', 'hadoopConfDir', 'policy', 'headroomShare', 'safetyMarginPercent', 'vcoresPerCore',
  'rmUser', 'rmCaFile', 'rmDelegationTokenFile', 'rmTimeoutMs', 'eventNamespace',
  'kerberos.principal', 'kerberos.keytab', 'kerberos.ticketCache', 'kerberos.servicePrincipal',
] as const;

export const statusSettingSpecs: readonly SettingSpec[] = [
  ...operatorSettingSpecs.filter((s) => (STATUS_OPERATOR_KEYS as readonly string[]).includes(s.key)),
  { key: 'output', kind: 'enum', choices: ['table', 'json'], description: 'output format', default: 'table' },
];

export const demoSettingSpecs: readonly SettingSpec[] = [
  { key: 'duration', kind: 'number', min: 5, max: 3600, description: 'simulated seconds per policy run', default: 60 },
  { key: 'nodes', kind: 'integer', min: 2, max: 16, description: 'simulated nodes', default: 4 },
  { key: 'seed', kind: 'integer', min: 0, description: 'random seed of the scenario', default: 42 },
  { key: 'speed', kind: 'number', min: 0.5, max: 50, description: 'simulated seconds per wall second', default: 4 },
  { key: 'report', kind: 'string', description: 'path of the HTML report', default: 'loom-report.html' },
  { key: 'policies', kind: 'string', description: 'comma list of policies to run, in order', default: 'partitioned,shared' },
];

/** Every command's settings as the command line, the environment and the file accept them. */
export const commandSettingSpecs = {
  demo: [...demoSettingSpecs, ...logSettingSpecs('error')],
  operator: [...operatorSettingSpecs, ...logSettingSpecs('info')],
  agent: [...agentSettingSpecs, ...logSettingSpecs('info')],
  sim: [...simSettingSpecs, ...logSettingSpecs('warn')],
  status: [...statusSettingSpecs, ...logSettingSpecs('warn')],
  release: [...releaseSettingSpecs, ...logSettingSpecs('info')],
} as const satisfies Record<string, readonly SettingSpec[]>;
