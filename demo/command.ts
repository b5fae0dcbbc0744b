import { notImplemented } from '../cli/not-implemented.js';

export const runDemoCommand = notImplemented('demo');
