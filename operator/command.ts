/** `loom operator`: settings → Kubernetes + RM clients → leader election → controller. */
import { componentLogger, createLogger } from '../log/logger.js';
import type { SettingsValues } from '../settings/settings.js';
import { isInputError } from '../input/input-error.js';
import { connect } from '../kube/connection.js';
import { KubeApi } from '../kube/api.js';
import { ForbiddenReporter, forbiddenLine } from '../kube/forbidden.js';
import { EventRecorder, LogOnlyEvents } from '../kube/events.js';
import { LeaderElector } from '../kube/lease.js';
import { serveMetrics } from '../metrics/endpoint.js';
import { YarnError } from '../yarn/errors.js';
import type { Clock } from '../clock/clock.js';
import { systemClock } from '../clock/clock.js';
import { connectResourceManagers } from './resource-managers.js';
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
  elector: LeaderElector | undefined;
  metricsUrl: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** The one clock of the operator (tests pass a ManualClock). */
  clock?: Clock;
  /** Lease timing overrides (tests, the fault suite). */
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Read-back of a resize (a real RM applies it asynchronously). */
  readBack?: { attempts: number; delayMs: number };
}

/** Build and start an operator (used by the command, the demo and tests). */
export async function startOperator(s: OperatorSettings, log = createLogger('operator'), opts: StartOptions = {}): Promise<RunningOperator> {
  const clock = opts.clock ?? systemClock;
  const metrics = new OperatorMetrics(!s.once);
  const rms = await connectResourceManagers(s, { logger: log, onRequest: (e) => metrics.observeRmRequest(e) });
  const clients = rms.clients;
  for (const c of rms.clusters) log.info({ cluster: c.clusterId, rms: c.rmUrls, source: c.sourceFile }, 'YARN cluster configured');
  try {
    // Before anything is written: refused credentials stop the operator with one line, instead of
    // a reconcile loop of failures (an RM that is down is left to the controller).
    await rms.checkAuthentication();
  } catch (err) {
    await rms.close();
    throw err;
  }
  const conn = await connect(s.kubeconfig);
  const forbidden = new ForbiddenReporter({ logger: componentLogger(log, 'kube'), counter: metrics.kubeForbidden });
  const api = new KubeApi(conn, undefined, (err) => forbidden.note(err));
  const events = s.dryRun
    ? new LogOnlyEvents(componentLogger(log, 'operator.events'))
    : new EventRecorder(api, { namespace: s.eventNamespace, component: 'loom-operator', logger: componentLogger(log, 'operator.events') });
  const ledger = ledgerConfigOf(s);
  let controller: OperatorController | undefined;
  const elector = !s.once && s.leaderElection ? new LeaderElector({
    api, namespace: s.leaseNamespace, name: s.leaseName, identity: s.identity, leaseDurationSeconds: s.leaseDurationSeconds,
    ...(opts.renewDeadlineMs !== undefined ? { renewDeadlineMs: opts.renewDeadlineMs } : {}),
    ...(opts.retryPeriodMs !== undefined ? { retryPeriodMs: opts.retryPeriodMs } : {}),
    logger: componentLogger(log, 'operator.leader'), clock,
    onStartedLeading: (term) => controller?.setLeading(true, term),
    onStoppedLeading: () => controller?.setLeading(false),
  }) : undefined;
  controller = new OperatorController({
    api, clusters: clients, ledger: s.once ? { ...ledger, hysteresis: { cpuMilli: 0, memoryBytes: 0, percent: 0 }, growIntervalMs: 0 } : ledger,
    pollMs: s.pollMs, dryRun: s.dryRun, logger: log, metrics, events, concurrency: s.rmConcurrency, clock,
    ...(elector ? { fence: elector } : {}), ...(opts.readBack ? { readBack: opts.readBack } : {}), ...(s.once ? { once: true } : {}),
  });
  const ctl = controller;
  const endpoint = s.once ? undefined : await serveMetrics(s.metricsAddr, metrics.registry, {
    live: () => ctl.healthy(), // its health is already only "the loop turns" (a stuck queue, a stopped controller)
    healthy: () => ctl.healthy(),
    ready: () => ctl.ready(),
  });
  const stop = async () => {
    await elector?.stop(true);
    await ctl.stop();
    await endpoint?.close();
    await rms.close();
    await conn.close();
  };
  ctl.start();
  if (!s.once) {
    if (elector) elector.start();
    else ctl.setLeading(true, 1);
  }
  return { controller: ctl, elector, metricsUrl: endpoint?.url ?? '', stop };
}

class OnceTimeout extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnceTimeout';
  }
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
    // Every wait is bounded: the API server or an RM that never answers ends the run with one line.
    const deadline = new AbortController();
    const waitingFor = () => (!op.controller.informersSynced ? `the Kubernetes API at ${op.controller.apiServer} (nodes and pods not listed)` : 'the ResourceManagers and node writes');
    const timer = systemClock.setTimer(s.onceTimeoutMs, () => deadline.abort(new OnceTimeout(`timed out after ${s.onceTimeoutMs / 1000} s waiting for ${waitingFor()}`)));
    try {
      const problems = await op.controller.reconcileAll(deadline.signal);
      const nodes = op.controller.inventory.nodes.size;
      log.info({ nodes, problems, writes: op.controller.writes.length, dryRun: s.dryRun }, 'one reconcile done');
      return problems === 0 ? 0 : 1;
    } catch (err) {
      const refused = forbiddenLine(err);
      if (!(err instanceof OnceTimeout) && refused === undefined) throw err;
      process.stderr.write(`loom operator --once: ${refused ?? (err as Error).message}\n`);
      return 1;
    } finally {
      timer.cancel();
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
