/** cgroup v1 / v2 / hybrid access for the node agent. */
export * from './errors.js';
export * from './parse.js';
export * from './proc-parse.js';
export * from './yarn-path.js';
export * from './detect.js';
export * from './resolve.js';
export * from './io.js';
export * from './read.js';
export * from './cpu-limit.js';
export * from './kill.js';
export * from './node-totals.js';
export * from './node-cgroups.js';
export * from './meminfo-watch.js';
export * from './held-files.js';
export * from './memory-limit.js';
