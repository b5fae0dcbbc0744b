/** Every QoS rule, in the order `decide` runs them (one line per rule). */
import { cpuEvictRule } from './cpu-evict.js';
import { cpuSuppressRule } from './cpu-suppress.js';
import { memoryRule } from './memory.js';
import { psiRule } from './psi.js';

export const RULES = [memoryRule, psiRule, cpuSuppressRule, cpuEvictRule] as const;
