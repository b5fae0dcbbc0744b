import { notImplemented } from '../cli/not-implemented.js';

export const runStatusCommand = notImplemented('status');
