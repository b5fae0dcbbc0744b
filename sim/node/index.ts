/** Simulated nodes: fake cgroupfs/procfs trees driven by a workload model, with real container processes. */
export {
  SimulatedNode,
  type SimulatedNodeOptions,
  type NodePaths,
  type ContainerUsage,
  type ContainerExitListener,
  type ContainerSnapshot,
  type NodeSnapshot,
  type PsiAverages,
  type PressureScope,
  type PressureResource,
  type ProcessExit,
} from './simulated-node.js';
export { defaultYarnCgroupPath, kubeletCgroups, type CgroupLayout, type CgroupDriver, type CgroupDirs } from './hierarchy.js';
export { type ContainerSpec, type ExecutionType, type Load, type LoadSource } from './workload.js';
export { liveContainerProcessCount } from './container-process.js';
export { makeSimTempDir } from './temp-dir.js';
