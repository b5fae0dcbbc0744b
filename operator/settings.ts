/** Every setting of `loom operator` (flag / LOOM_* env / YAML key), with its default. */
import { hostname } from 'node:os';
import type { SettingSpec, SettingsValues } from '../settings/settings.js';
import { kerberosSettingSpecs, toKerberosSettings } from '../yarn/kerberos/settings.js';
import type { KerberosSettings } from '../yarn/kerberos/login.js';

export const operatorSettingSpecs: readonly SettingSpec[] = [
  { key: 'kubeconfig', kind: 'string', description: 'kubeconfig file (default: in-cluster, then ~/.kube/config)' },
  { key: 'hadoopConfDir', kind: 'string', description: 'directory with yarn-site.xml and <clusterId>.yarn-site.xml (default $HADOOP_CONF_DIR)' },
  { key: 'once', kind: 'boolean', description: 'run one full reconcile, then exit 0 (non-zero on failure)', default: false },
  { key: 'timeout', kind: 'number', min: 1, max: 86400, description: 'with --once: seconds to wait for the Kubernetes API and the ResourceManagers before giving up (exit 1)', default: 60 },
  { key: 'dryRun', kind: 'boolean', description: 'compute and log every decision, write nothing', default: false },
  { key: 'policy', kind: 'enum', choices: ['partitioned', 'shared'], description: 'how the free batch headroom is split between YARN and Kubernetes', default: 'partitioned' },
  { key: 'headroomShare', kind: 'number', min: 0, max: 1, description: "YARN's share of the free headroom under the partitioned policy", default: 0.5 },
  { key: 'safetyMarginPercent', kind: 'number', min: 0, max: 100, description: 'percent of the origin held back from both schedulers', default: 0 },
  { key: 'vcoresPerCore', kind: 'number', min: 0.01, max: 1000, description: 'YARN vcores per physical core', default: 1 },
  { key: 'pollSeconds', kind: 'number', min: 0.05, max: 3600, description: 'RM node list period (drift and usage)', default: 2 },
  { key: 'growIntervalSeconds', kind: 'number', min: 0, max: 86400, description: 'minimum time between two capacity increases of one node', default: 10 },
  { key: 'hysteresis.cpuMilli', kind: 'integer', min: 0, description: 'smallest CPU increase (milli-cores) worth a resize', default: 1000 },
  { key: 'hysteresis.memoryBytes', kind: 'integer', min: 0, description: 'smallest memory increase (bytes) worth a resize', default: 1073741824 },
  { key: 'hysteresis.percent', kind: 'number', min: 0, max: 100, description: 'smallest increase, in percent of the current capacity, worth a resize', default: 5 },
  { key: 'overCommitTimeoutMs', kind: 'integer', min: -1, description: 'overCommitTimeout sent with every resize (-1: never kill, only block new allocations)', default: -1 },
  { key: 'rmUser', kind: 'string', description: 'user.name for RM simple auth' },
  { key: 'rmCaFile', kind: 'string', description: 'CA bundle for HTTPS ResourceManagers' },
  { key: 'rmDelegationTokenFile', kind: 'string', description: 'file with an RM delegation token (the "token" the RM returns for POST /ws/v1/cluster/delegation-token, or that JSON answer), sent as X-Hadoop-Delegation-Token instead of Kerberos; read at start' },
  ...kerberosSettingSpecs,
  { key: 'rmTimeoutMs', kind: 'integer', min: 100, max: 600000, description: 'per-request timeout towards the RM', default: 5000 },
  { key: 'rmConcurrency', kind: 'integer', min: 1, max: 256, description: 'RM resize calls in flight per cluster', default: 8 },
  { key: 'metricsAddr', kind: 'listen-address', description: 'host:port for /metrics, /livez, /healthz and /readyz (port 0: any free port)', default: '0.0.0.0:9464' },
  { key: 'leaderElection', kind: 'boolean', description: 'elect a leader through a coordination.k8s.io Lease; only the leader writes', default: true },
  { key: 'leaseNamespace', kind: 'string', description: 'namespace of the leader Lease', default: 'loom-system' },
  { key: 'leaseName', kind: 'string', description: 'name of the leader Lease', default: 'loom-operator' },
  { key: 'leaseDurationSeconds', kind: 'integer', min: 2, max: 600, description: 'lease duration', default: 15 },
  { key: 'identity', kind: 'string', description: 'leader-election identity', default: hostname() },
  { key: 'eventNamespace', kind: 'string', description: 'namespace for Events about cluster-scoped Nodes', default: 'default' },
];

export interface OperatorSettings {
  kubeconfig?: string;
  hadoopConfDir?: string;
  once: boolean;
  /** `--once` gives up after this long, ms. */
  onceTimeoutMs: number;
  dryRun: boolean;
  policy: 'partitioned' | 'shared';
  headroomShare: number;
  safetyMarginPercent: number;
  vcoresPerCore: number;
  pollMs: number;
  growIntervalMs: number;
  hysteresis: { cpuMilli: number; memoryBytes: number; percent: number };
  overCommitTimeoutMs: number;
  rmUser?: string;
  /** SPNEGO to the RM/NM; absent: simple auth. */
  kerberos?: KerberosSettings;
  rmCaFile?: string;
  /** A file holding an RM delegation token, sent instead of Kerberos. */
  rmDelegationTokenFile?: string;
  rmTimeoutMs: number;
  rmConcurrency: number;
  metricsAddr: string;
  leaderElection: boolean;
  leaseNamespace: string;
  leaseName: string;
  leaseDurationSeconds: number;
  identity: string;
  eventNamespace: string;
}

export function toOperatorSettings(v: SettingsValues, env: NodeJS.ProcessEnv = process.env): OperatorSettings {
  const hadoopConfDir = (v.hadoopConfDir as string | undefined) ?? (env.HADOOP_CONF_DIR || undefined);
  return {
    ...(v.kubeconfig !== undefined ? { kubeconfig: v.kubeconfig as string } : {}),
    ...(hadoopConfDir !== undefined ? { hadoopConfDir } : {}),
    once: v.once as boolean,
    onceTimeoutMs: Math.round(((v.timeout as number | undefined) ?? 60) * 1000),
    dryRun: v.dryRun as boolean,
    policy: v.policy as OperatorSettings['policy'],
    headroomShare: v.headroomShare as number,
    safetyMarginPercent: v.safetyMarginPercent as number,
    vcoresPerCore: v.vcoresPerCore as number,
    pollMs: Math.round((v.pollSeconds as number) * 1000),
    growIntervalMs: Math.round((v.growIntervalSeconds as number) * 1000),
    hysteresis: {
      cpuMilli: v['hysteresis.cpuMilli'] as number,
      memoryBytes: v['hysteresis.memoryBytes'] as number,
      percent: v['hysteresis.percent'] as number,
    },
    overCommitTimeoutMs: v.overCommitTimeoutMs as number,
    ...(v.rmUser !== undefined ? { rmUser: v.rmUser as string } : {}),
    ...(toKerberosSettings(v) ? { kerberos: toKerberosSettings(v)! } : {}),
    ...(v.rmCaFile !== undefined ? { rmCaFile: v.rmCaFile as string } : {}),
    ...(v.rmDelegationTokenFile !== undefined ? { rmDelegationTokenFile: v.rmDelegationTokenFile as string } : {}),
    rmTimeoutMs: v.rmTimeoutMs as number,
    rmConcurrency: v.rmConcurrency as number,
    metricsAddr: v.metricsAddr as string,
    leaderElection: v.leaderElection as boolean,
    leaseNamespace: v.leaseNamespace as string,
    leaseName: v.leaseName as string,
    leaseDurationSeconds: v.leaseDurationSeconds as number,
    identity: v.identity as string,
    eventNamespace: v.eventNamespace as string,
  };
}
