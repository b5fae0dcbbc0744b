/**
 * Lifecycle of a whole simulated YARN: one cluster model, one RM (or an HA pair) and optionally
 * one NM web server per node, all on 127.0.0.1. The imperative shell around `YarnCluster`.
 */
import type { Logger } from '../../log/logger.js';
import { componentLogger, createLogger } from '../../log/logger.js';
import type { Clock } from './clock.js';
import { type ClusterOptions, YarnCluster } from './cluster.js';
import type { SpnegoFilter } from './auth.js';
import { type HaState, RmGroup } from './ha.js';
import { SimNodeManager } from './nm-server.js';
import type { EmptyListStyle } from './render.js';
import { SimResourceManager } from './rm-server.js';
import type { NodeSpec, SimNode } from './types.js';

export interface SimNodeSpec extends NodeSpec {
  /** Start an NM web server for this node (default: the simulator's `nmServers`). */
  nmServer?: boolean;
  /** Fixed NM web port (default: ephemeral). */
  nmPort?: number;
}

export interface YarnSimOptions {
  nodes?: SimNodeSpec[];
  /** Two RMs sharing the model: rm1 ACTIVE, rm2 STANDBY. */
  ha?: boolean;
  /** Fixed RM web ports, by position (default: ephemeral). */
  rmPorts?: number[];
  /** Default for nodes without `nmServer`: start NM web servers (default true). Turn off for 5,000-node benchmarks. */
  nmServers?: boolean;
  clock?: Clock;
  logger?: Logger;
  emptyListStyle?: EmptyListStyle;
  requireUser?: boolean;
  anonymousAllowed?: boolean;
  internalErrorStatus?: 500 | 503;
  /** Simulated ms before a resize lands, as on a real RM (AdminService queues it); default 0. */
  resizeDelayMs?: number;
  /** Kerberos: every RM and NM requires SPNEGO through this filter (one keytab, `HTTP/localhost`). */
  spnego?: SpnegoFilter;
  /** Real milliseconds between automatic `cluster.tick()`s, like NM heartbeats (default 100; 0 = only on requests / by hand). */
  heartbeatMs?: number;
  cluster?: Omit<ClusterOptions, 'clock' | 'logger'>;
}

export interface YarnSim {
  readonly cluster: YarnCluster;
  readonly resourceManagers: readonly SimResourceManager[];
  /** NM web servers by NodeId (only nodes that have one). */
  readonly nodeManagers: Map<string, SimNodeManager>;
  /** The RM currently up and ACTIVE. */
  activeResourceManager(): SimResourceManager | undefined;
  /** Swap active and standby (HA only); the new active forgets every override. */
  failover(): SimResourceManager;
  setHaState(rmName: string, state: HaState): void;
  /** Registers a node after start, with its NM server if asked. */
  addNode(spec: SimNodeSpec): Promise<SimNode>;
  stop(): Promise<void>;
}

export async function startYarnSim(options: YarnSimOptions = {}): Promise<YarnSim> {
  const logger = options.logger ?? createLogger('sim.yarn');
  const cluster = new YarnCluster({ ...(options.cluster ?? {}), clock: options.clock, logger: componentLogger(logger, 'sim.yarn.cluster') });
  const emptyListStyle = options.emptyListStyle ?? 'null';
  const anonymousAllowed = options.anonymousAllowed ?? true;
  const group = new RmGroup<SimResourceManager>(options.ha ?? false);
  const rmCount = options.ha ? 2 : 1;
  for (let i = 0; i < rmCount; i++) {
    group.members.push(new SimResourceManager(cluster, group, {
      name: `rm${i + 1}`,
      port: options.rmPorts?.[i],
      emptyListStyle,
      requireUser: options.requireUser ?? false,
      anonymousAllowed,
      internalErrorStatus: options.internalErrorStatus ?? 500,
      ...(options.resizeDelayMs ? { resizeDelayMs: options.resizeDelayMs } : {}),
      ...(options.spnego ? { spnego: options.spnego } : {}),
    }, i === 0 ? 'ACTIVE' : 'STANDBY'));
  }
  const nodeManagers = new Map<string, SimNodeManager>();
  let ticker: NodeJS.Timeout | undefined;

  const addNode = async (spec: SimNodeSpec): Promise<SimNode> => {
    const withServer = spec.nmServer ?? options.nmServers ?? true;
    const nodeId = `${spec.host}:${spec.rpcPort}`;
    if (!withServer) return cluster.addNode(spec);
    const nm = new SimNodeManager(cluster, nodeId, { port: spec.nmPort, emptyListStyle, anonymousAllowed, ...(options.spnego ? { spnego: options.spnego } : {}) });
    await nm.start();
    try {
      const node = cluster.addNode({ ...spec, httpPort: nm.port });
      nodeManagers.set(nodeId, nm);
      return node;
    } catch (err) {
      await nm.stop();
      throw err;
    }
  };

  const stop = async (): Promise<void> => {
    if (ticker) clearInterval(ticker);
    ticker = undefined;
    await Promise.all([...group.members.map((rm) => rm.stop()), ...[...nodeManagers.values()].map((nm) => nm.stop())]);
    cluster.dispose();
  };

  try {
    await Promise.all(group.members.map((rm) => rm.start()));
    for (const spec of options.nodes ?? []) await addNode(spec);
  } catch (err) {
    await stop();
    throw err;
  }

  const heartbeatMs = options.heartbeatMs ?? 100;
  if (heartbeatMs > 0) {
    ticker = setInterval(() => cluster.tick(), heartbeatMs);
    ticker.unref();
  }
  logger.info({ rms: group.members.map((rm) => rm.url), nodes: cluster.nodes().length, nmServers: nodeManagers.size }, 'YARN simulator up');

  return {
    cluster,
    resourceManagers: group.members,
    nodeManagers,
    activeResourceManager: () => group.active(),
    failover: () => group.failover(),
    setHaState: (rmName, state) => {
      const rm = group.members.find((m) => m.name === rmName);
      if (!rm) throw new Error(`no ResourceManager named ${rmName}`);
      group.setHaState(rm, state);
    },
    addNode,
    stop,
  };
}
