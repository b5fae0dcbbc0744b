import { runAgentBench } from './agent.js';
const r = await runAgentBench({ containers: Number(process.env.N ?? 200), ticks: Number(process.env.T ?? 20), trials: Number(process.env.K ?? 10), realTrials: Number(process.env.RT ?? 2) });
console.log(JSON.stringify(r, null, 2));
