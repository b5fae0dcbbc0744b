import { notImplemented } from '../cli/not-implemented.js';

export const runAgentCommand = notImplemented('agent');
