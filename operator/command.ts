/** `loom operator`: settings → Kubernetes + RM clients → leader election → controller. */
import { componentLogger, createLogger } from '../log/logger.js';
import { SettingsError, type SettingsValues } from '../settings/settings.js';
import { isInputError } from '../input/input-error.js';
import { connect } from '../kube/connection.js';
import { KubeApi } from '../kube/api.js';
import { EventRecorder, LogOnlyEvents } from '../kube/events.js';
import { LeaderElector } from '../kube/lease.js';
import { serveMetrics } from '../metrics/endpoint.js';
import { discoverYarnClusters } from '../yarn/site.js';
import { ResourceManagerClient } from '../yarn/rm-client.js';
import { YarnError } from '../yarn/errors.js';
import { toOperatorSettings, type OperatorSettings } from './settings.js';
import { OperatorController } from './controller.js';
import { OperatorMetrics } from './metrics.js';
import type { LedgerConfig } from './ledger/index.js';

export function ledgerConfigOf(s: OperatorSettings): LedgerConfig {
  return {
    policy: s.policy,
    headroomShare: s.headroomShare,
    safetyMarginPercent: s.safetyMarginPercent,
    vcoresPerCore: s.vcoresPerCore,
    hysteresis: s.hysteresis,
    growIntervalMs: s.growIntervalMs,
    overCommitTimeoutMs: s.overCommitTimeoutMs,
  };
}

export interface RunningOperator {
  controller: OperatorController;
  metricsUrl: string;
  stop(): Promise<void>;
}

/** Build and start an operator (used by the command, the demo and tests). */
export async function startOperator(s: OperatorSettings, log = createLogger('operator')): Promise<RunningOperator> {
  if (!s.hadoopConfDir) throw new SettingsError('--hadoop-conf-dir', 'not set: pass --hadoop-conf-dir or set HADOOP_CONF_DIR');
  const metrics = new OperatorMetrics(!s.once);
  const clustersFound = discoverYarnClusters(s.hadoopConfDir);
  const clients = new Map<string, ResourceManagerClient>();
  for (const c of clustersFound) {
    clients.set(c.clusterId, new ResourceManagerClient({
      rmUrls: c.rmUrls, cluster: c.clusterId, timeoutMs: s.rmTimeoutMs, connections: s.rmConcurrency,
      ...(s.rmUser ? { user: s.rmUser } : {}), ...(s.rmCaFile ? { caFile: s.rmCaFile } : {}),
      onRequest: (e) => metrics.observeRmRequest(e), logger: componentLogger(log, 'yarn.rm').child({ cluster: c.clusterId }),
    }));
    log.info({ cluster: c.clusterId, rms: c.rmUrls, source: c.sourceFile }, 'YARN cluster configured');
  }
  const conn = await connect(s.kubeconfig);
  const api = new KubeApi(conn);
  const events = s.dryRun
    ? new LogOnlyEvents(componentLogger(log, 'operator.events'))
    : new EventRecorder(api, { namespace: s.eventNamespace, component: 'loom-operator', logger: componentLogger(log, 'operator.events') });
  const ledger = ledgerConfigOf(s);
  const controller = new OperatorController({
    api, clusters: clients, ledger: s.once ? { ...ledger, hysteresis: { cpuMilli: 0, memoryBytes: 0, percent: 0 }, growIntervalMs: 0 } : ledger,
    pollMs: s.pollMs, dryRun: s.dryRun, logger: log, metrics, events, concurrency: s.rmConcurrency,
  });
  let elector: LeaderElector | undefined;
  const endpoint = s.once ? undefined : await serveMetrics(s.metricsAddr, metrics.registry, {
    healthy: () => controller.healthy(),
    ready: () => ({ ok: true, detail: controller.isLeading ? 'leader' : 'standby' }),
  });
  const stop = async () => {
    await elector?.stop(true);
    await controller.stop();
    await endpoint?.close();
    await Promise.all([...clients.values()].map((c) => c.close()));
    await conn.close();
  };
  if (!s.once) {
    controller.start();
    if (s.leaderElection) {
      elector = new LeaderElector({
        api, namespace: s.leaseNamespace, name: s.leaseName, identity: s.identity, leaseDurationSeconds: s.leaseDurationSeconds,
        logger: componentLogger(log, 'operator.leader'),
        onStartedLeading: () => controller.setLeading(true),
        onStoppedLeading: () => controller.setLeading(false),
      });
      elector.start();
    } else {
      controller.setLeading(true);
    }
  } else {
    controller.start();
  }
  return { controller, metricsUrl: endpoint?.url ?? '', stop };
}

export async function runOperatorCommand(values: SettingsValues): Promise<number> {
  const s = toOperatorSettings(values);
  const log = createLogger('operator');
  let op: RunningOperator;
  try {
    op = await startOperator(s, log);
  } catch (err) {
    if (isInputError(err) || err instanceof YarnError) {
      process.stderr.write(`loom operator: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (s.once) {
    try {
      const problems = await op.controller.reconcileAll();
      const nodes = op.controller.inventory.nodes.size;
      log.info({ nodes, problems, writes: op.controller.writes.length, dryRun: s.dryRun }, 'one reconcile done');
      return problems === 0 ? 0 : 1;
    } finally {
      await op.stop();
    }
  }
  log.info({ metrics: op.metricsUrl, policy: s.policy, dryRun: s.dryRun }, 'operator running');
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    process.once('SIGTERM', done);
    process.once('SIGINT', done);
  });
  log.info('shutting down');
  await op.stop();
  return 0;
}
