import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/** Log level from LOOM_LOG_LEVEL; tests default to silent so their output stays readable. */
function defaultLevel(): string {
  const fromEnv = process.env.LOOM_LOG_LEVEL;
  if (fromEnv) return fromEnv;
  return process.env.VITEST ? 'silent' : 'info';
}

/** The binding-free root behind each component logger, so a sub-component replaces `component` instead of repeating the key. */
const roots = new WeakMap<Logger, Logger>();

/**
 * The root logger of one program. Every line carries a `component` field naming the part of
 * Loom that wrote it (operator.controller, agent.evictor, sim.rm …).
 */
export function createLogger(component: string, options: LoggerOptions = {}, destination?: DestinationStream): Logger {
  const base: LoggerOptions = {
    level: defaultLevel(),
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    ...options,
  };
  const root = destination ? pino(base, destination) : pino(base);
  const logger = root.child({ component });
  roots.set(logger, root);
  return logger;
}

/** A logger for a sub-component: the parent's bindings and destination, `component` replaced. */
export function componentLogger(parent: Logger, component: string): Logger {
  const root = roots.get(parent);
  if (!root) return parent.child({ component });
  const logger = root.child({ ...parent.bindings(), component });
  roots.set(logger, root);
  return logger;
}
