import { runOperatorBench } from './operator.js';
const nodes = Number(process.env.N ?? 500);
const r = await runOperatorBench({ nodes, podsPerNode: 30, changes: Number(process.env.C ?? 100), pollSeconds: 0.2, steadyPolls: Number(process.env.P ?? 50), changeRate: Number(process.env.R ?? 20),
  nodeArgs: process.env.PROF ? ['--cpu-prof', '--cpu-prof-dir', '/tmp/loom-prof'] : (process.env.NODE_ARGS ? process.env.NODE_ARGS.split(' ') : []) });
console.log(JSON.stringify(r, null, 2));
