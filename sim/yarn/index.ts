/** Simulated Hadoop YARN (RM, HA pair, NMs) for tests, benchmarks and the demo. */
export { type Clock, ManualClock, scaledClock, systemClock } from './clock.js';
export { CallCounters, type Endpoint } from './counters.js';
export {
  type ClusterEvents, type ClusterMetrics, type ClusterOptions, type ContainerFinishInfo, type ResizeOutcome,
  SimError, YarnCluster,
} from './cluster.js';
export { type HaState, RmGroup } from './ha.js';
export { SpnegoFilter, type SpnegoFilterOptions, type SpnegoVerdict } from './auth.js';
export { SimNodeManager, type NmServerOptions } from './nm-server.js';
export { SimResourceManager, type RmServerOptions } from './rm-server.js';
export { type EmptyListStyle, type Format } from './render.js';
export { type SimNodeSpec, type YarnSim, type YarnSimOptions, startYarnSim } from './sim.js';
export { killOrder, victimsToFit } from './scheduler.js';
export * from './types.js';
