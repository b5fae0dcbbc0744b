import { notImplemented } from '../cli/not-implemented.js';

export const runSimCommand = notImplemented('sim');
