import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/** Log level from LOOM_LOG_LEVEL; tests default to silent so their output stays readable. */
function defaultLevel(): string {
  const fromEnv = process.env.LOOM_LOG_LEVEL;
  if (fromEnv) return fromEnv;
  return process.env.VITEST ? 'silent' : 'info';
}

/**
 * The root logger of one program. Every line carries a `component` field naming the part of
 * Loom that wrote it (operator.ledger, agent.evictor, sim.rm …).
 */
export function createLogger(component: string, options: LoggerOptions = {}, destination?: DestinationStream): Logger {
  const base: LoggerOptions = {
    level: defaultLevel(),
    base: { component },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...options,
  };
  return destination ? pino(base, destination) : pino(base);
}

/** A child logger for a sub-component, keeping the parent's destination and level. */
export function componentLogger(parent: Logger, component: string): Logger {
  return parent.child({ component });
}
