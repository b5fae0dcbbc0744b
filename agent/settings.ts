/** Every setting of `loom agent` (flag / LOOM_* env / YAML key). Rule names follow koordlet's. */
import { SettingsError, type SettingSpec, type SettingsValues } from '../settings/settings.js';
import { kerberosSettingSpecs, toKerberosSettings } from '../yarn/kerberos/settings.js';
import type { KerberosSettings } from '../yarn/kerberos/login.js';
import { DEFAULT_FAST_WATCH_MAX_MILLIS } from './watch-period.js';

const VICTIM_KEYS = ['newest', 'oldest', 'largest-memory', 'largest-cpu', 'most-failed-app', 'app-spread'] as const;

export const agentSettingSpecs: readonly SettingSpec[] = [
  { key: 'nodeName', kind: 'string', description: "this Kubernetes Node's name, where Events are posted (required; default $NODE_NAME)" },
  { key: 'nmUrl', kind: 'string', description: 'local NodeManager web address', default: 'http://127.0.0.1:8042' },
  { key: 'rmUrl', kind: 'string', description: 'ResourceManager web address(es), comma separated, for graceful GRACEFUL_SHUTDOWN signals (default: SIGTERM locally)' },
  { key: 'rmUser', kind: 'string', description: 'user.name for RM simple auth' },
  ...kerberosSettingSpecs,
  { key: 'cgroupRoot', kind: 'string', description: 'cgroup filesystem root', default: '/sys/fs/cgroup' },
  { key: 'procRoot', kind: 'string', description: 'proc filesystem root', default: '/proc' },
  { key: 'simulatedCgroups', kind: 'boolean', description: "the cgroup root is a simulator's file tree (loom sim): its files need not be on a cgroup filesystem; every other proof still applies", default: false },
  { key: 'yarnCgroupPath', kind: 'string', description: "YARN containers' parent cgroup, relative to each hierarchy", default: 'kubepods/besteffort/hadoop-yarn' },
  { key: 'socket', kind: 'string', description: 'yarn-copilot compatible unix socket', default: '/var/run/yarn-copilot/yarn-copilot.sock' },
  { key: 'socketMode', kind: 'string', description: 'unix socket file mode (octal)', default: '0600', check: (v) => (/^0?[0-7]{3}$/.test(String(v)) ? undefined : 'expected an octal mode like 0600') },
  { key: 'metricsAddr', kind: 'listen-address', description: 'host:port for /metrics, /livez, /healthz and /readyz', default: '0.0.0.0:9465' },
  { key: 'kubeconfig', kind: 'string', description: 'kubeconfig for posting Events (default: in-cluster when available, else no Events)' },
  { key: 'dryRun', kind: 'boolean', description: 'decide and log, never write a cgroup or signal a process', default: false },
  { key: 'keepLimitsOnExit', kind: 'boolean', description: 'on stop, leave the CPU limit (and, with --memory-backstop, the memory limit) the agent set on the YARN parent cgroup (default: put back what it found)', default: false },
  { key: 'memoryBackstop', kind: 'boolean', description: "kernel backstop: keep the YARN parent cgroup's memory limit (v2 memory.high, v1 memory.limit_in_bytes) at YARN's allowed share (MemTotal × eviction threshold − non-YARN use, never under YARN's working set + max(256 MiB, 5 %)), rewritten when it moves by more than max(64 MiB, 1 % of MemTotal), put back on stop", default: false },
  { key: 'tickMillis', kind: 'integer', min: 50, max: 60000, description: 'full collect + rules period (far under the eviction threshold a steady NodeManager list is asked for once in 5 ticks, at once when a container cgroup appears or goes)', default: 1000 },
  { key: 'maxContainers', kind: 'integer', min: 1, max: 100000, description: "most containers of this node considered per tick (the NM's list beyond it is counted, never measured or evicted)", default: 1000 },
  { key: 'nmMaxBodyBytes', kind: 'integer', min: 65536, max: 1073741824, description: 'largest NodeManager answer read, in bytes (a larger one is refused as it streams in)', default: 16777216 },
  { key: 'healthTicks', kind: 'integer', min: 1, max: 1000, description: '/healthz and /readyz fail when node memory or the NodeManager was not read within this many ticks', default: 5 },
  { key: 'fastWatchMillis', kind: 'integer', min: 1, max: 10000, description: 'fast node-memory watch: shortest period, used near and over the eviction threshold (a crossing is acted on within it while memory grows no faster than --fast-watch-growth-mib-per-second)', default: 5 },
  { key: 'fastWatchMaxMillis', kind: 'integer', min: 1, max: 10000, description: 'fast node-memory watch: longest period, used far under the threshold (the period follows the headroom: headroom ÷ growth rate, within these bounds; equal to --fast-watch-millis for a fixed period)', default: DEFAULT_FAST_WATCH_MAX_MILLIS },
  { key: 'fastWatchGrowthMibPerSecond', kind: 'integer', min: 1, max: 1048576, description: 'fast node-memory watch: the fastest node memory growth it plans for, MiB/s', default: 2048 },
  { key: 'memoryEvictThresholdPercent', kind: 'number', min: 1, max: 100, description: 'evict YARN containers when node memory use reaches this', default: 70 },
  { key: 'memoryEvictLowerPercent', kind: 'number', min: 0, max: 100, description: 'release memory down to this (default threshold − 2)' },
  { key: 'memoryEmergencyPercent', kind: 'number', min: 1, max: 100, description: 'at or above this, kill at once (SIGKILL / cgroup.kill) ignoring cool-downs (default max(90, threshold + 5))' },
  { key: 'memoryEvictCoolTimeSeconds', kind: 'number', min: 0, max: 3600, description: 'pause after a memory eviction', default: 4 },
  { key: 'cpuSuppressThresholdPercent', kind: 'number', min: 0, max: 100, description: 'YARN CPU limit = capacity × this − non-YARN usage', default: 65 },
  { key: 'cpuSuppressMinPercent', kind: 'number', min: 0, max: 100, description: 'floor of the YARN CPU limit, percent of capacity' },
  { key: 'cpuSuppressMaxStepPercent', kind: 'number', min: 1, max: 100, description: 'largest rise of the YARN CPU limit per tick, percent of capacity', default: 10 },
  { key: 'cpuEvictBESatisfactionLowerPercent', kind: 'number', min: 0.1, max: 60, description: 'evict for CPU when YARN satisfaction (limit / requested) falls to this (unset: off)' },
  { key: 'cpuEvictBESatisfactionUpperPercent', kind: 'number', min: 0.1, max: 99.9, description: 'release CPU until satisfaction reaches this' },
  { key: 'cpuEvictBEUsageThresholdPercent', kind: 'number', min: 0, max: 100, description: 'YARN counts as busy when usage / limit reaches this', default: 90 },
  { key: 'cpuEvictTimeWindowSeconds', kind: 'number', min: 1, max: 3600, description: 'CPU satisfaction window (default 30)' },
  { key: 'cpuEvictCoolTimeSeconds', kind: 'number', min: 0, max: 3600, description: 'pause after a CPU eviction', default: 20 },
  { key: 'psiEvictThreshold', kind: 'number', min: 0, max: 100, description: 'memory PSI full avg10 (%) of the YARN parent that triggers an eviction (unset: off)' },
  {
    key: 'victimOrder', kind: 'string', description: `comma list of victim keys after AMs-last and OPPORTUNISTIC-first (${VICTIM_KEYS.join(', ')})`, default: 'newest',
    check: (v) => {
      const bad = String(v).split(',').map((s) => s.trim()).filter((s) => !(VICTIM_KEYS as readonly string[]).includes(s));
      return bad.length ? `unknown victim key(s): ${bad.join(', ')}` : undefined;
    },
  },
  { key: 'protectApplicationMasters', kind: 'enum', choices: ['always', 'except-emergency', 'never'], description: 'when ApplicationMasters may be evicted (always last)', default: 'except-emergency' },
  { key: 'gracePeriodSeconds', kind: 'number', min: 0, max: 3600, description: 'time a graceful eviction gets before SIGKILL', default: 10 },
  { key: 'maxEvictionsPerMinute', kind: 'integer', min: 1, max: 10000, description: 'eviction rate limit (emergencies excepted)', default: 10 },
];

export interface AgentSettings {
  /** The Kubernetes Node this agent protects (required: its Events go there). */
  nodeName: string;
  nmUrl: string;
  rmUrls: string[];
  rmUser?: string;
  /** SPNEGO to the RM/NM; absent: simple auth. */
  kerberos?: KerberosSettings;
  cgroupRoot: string;
  procRoot: string;
  /** `--simulated-cgroups`: the cgroup root is a simulator's tree, not cgroupfs. */
  simulatedCgroups?: boolean;
  yarnCgroupPath: string;
  socket: string;
  socketMode: number;
  metricsAddr: string;
  kubeconfig?: string;
  dryRun: boolean;
  /** On stop, leave the YARN parent's CPU limit as set instead of restoring what was found. */
  keepLimitsOnExit?: boolean;
  /** `--memory-backstop`: the YARN parent's memory limit follows YARN's allowed share (memory-backstop.ts). */
  memoryBackstop?: boolean;
  tickMillis: number;
  fastWatchMillis: number;
  /** Longest fast-watch period, far under the threshold (default 250 ms; = fastWatchMillis: fixed period). */
  fastWatchMaxMillis?: number;
  /** The fastest node memory growth the fast watch plans for, MiB/s (default 2048). */
  fastWatchGrowthMibPerSecond?: number;
  /** Most containers of this node considered per tick (default 1000). */
  maxContainers?: number;
  /** Largest NodeManager answer read, bytes (default 16 MiB). */
  nmMaxBodyBytes?: number;
  /** Health fails when node memory or the NM was not read within this many ticks (default 5). */
  healthTicks?: number;
  /** Rule settings keyed exactly like the YAML / koordlet names. */
  rules: Record<string, number | string | undefined>;
}

const RULE_KEYS = [
  'memoryEvictThresholdPercent', 'memoryEvictLowerPercent', 'memoryEmergencyPercent', 'memoryEvictCoolTimeSeconds',
  'cpuSuppressThresholdPercent', 'cpuSuppressMinPercent', 'cpuSuppressMaxStepPercent',
  'cpuEvictBESatisfactionLowerPercent', 'cpuEvictBESatisfactionUpperPercent', 'cpuEvictBEUsageThresholdPercent',
  'cpuEvictTimeWindowSeconds', 'cpuEvictCoolTimeSeconds', 'psiEvictThreshold', 'victimOrder',
  'gracePeriodSeconds', 'maxEvictionsPerMinute', 'protectApplicationMasters',
] as const;

/**
 * Settings values → the agent's settings. Without `--node-name` (or `NODE_NAME`, which the
 * DaemonSet sets from `spec.nodeName`) the agent refuses to start: a guess such as the hostname
 * would post its Events on the wrong Node, or on none.
 */
export function toAgentSettings(v: SettingsValues, env: NodeJS.ProcessEnv = process.env): AgentSettings {
  const nodeName = (v.nodeName as string | undefined) ?? (env.NODE_NAME?.trim() || undefined);
  if (nodeName === undefined) {
    throw new SettingsError('--node-name', 'required: no node name given and NODE_NAME is not set (the DaemonSet sets it from spec.nodeName); it names the Kubernetes Node this agent runs on');
  }
  const rules: Record<string, number | string | undefined> = {};
  for (const k of RULE_KEYS) if (v[k] !== undefined) rules[k] = v[k] as number | string;
  return {
    nodeName,
    nmUrl: v.nmUrl as string,
    rmUrls: v.rmUrl ? String(v.rmUrl).split(',').map((s) => s.trim()).filter(Boolean) : [],
    ...(v.rmUser !== undefined ? { rmUser: v.rmUser as string } : {}),
    ...(toKerberosSettings(v) ? { kerberos: toKerberosSettings(v)! } : {}),
    cgroupRoot: v.cgroupRoot as string,
    procRoot: v.procRoot as string,
    simulatedCgroups: v.simulatedCgroups === true,
    yarnCgroupPath: v.yarnCgroupPath as string,
    socket: v.socket as string,
    socketMode: parseInt(String(v.socketMode), 8),
    metricsAddr: v.metricsAddr as string,
    ...(v.kubeconfig !== undefined ? { kubeconfig: v.kubeconfig as string } : {}),
    dryRun: v.dryRun as boolean,
    keepLimitsOnExit: v.keepLimitsOnExit as boolean,
    memoryBackstop: v.memoryBackstop === true,
    tickMillis: v.tickMillis as number,
    fastWatchMillis: v.fastWatchMillis as number,
    ...(v.fastWatchMaxMillis !== undefined ? { fastWatchMaxMillis: v.fastWatchMaxMillis as number } : {}),
    ...(v.fastWatchGrowthMibPerSecond !== undefined ? { fastWatchGrowthMibPerSecond: v.fastWatchGrowthMibPerSecond as number } : {}),
    ...(v.maxContainers !== undefined ? { maxContainers: v.maxContainers as number } : {}),
    ...(v.nmMaxBodyBytes !== undefined ? { nmMaxBodyBytes: v.nmMaxBodyBytes as number } : {}),
    ...(v.healthTicks !== undefined ? { healthTicks: v.healthTicks as number } : {}),
    rules,
  };
}
