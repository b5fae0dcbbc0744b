/** The Kubernetes API simulator: HTTP server, in-process store, and the pieces tests reuse. */
export { KubeApiServer, type KubeApiServerOptions } from './server.js';
export {
  KubeStore, type StoreOptions, type ListOptions, type ListResult, type Selection, type WatchOptions, type WatchEvent,
  type WatchListener, type Preconditions, type CreateOptions, type WriteOptions,
} from './store.js';
export { RequestStats, type RequestCount, type RequestFilter } from './stats.js';
export { type KubeObject, type ObjectMeta, thaw } from './object.js';
export { RESOURCES, type ResourceName, type ResourceDef } from './resources.js';
export { ApiError, type StatusObject } from './status.js';
export { type PatchType } from './patch/index.js';
export { kubeconfigYaml, KUBECONFIG_CONTEXT } from './kubeconfig.js';
