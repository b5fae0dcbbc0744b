import { notImplemented } from '../cli/not-implemented.js';

export const runOperatorCommand = notImplemented('operator');
