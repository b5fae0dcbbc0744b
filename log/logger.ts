import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';
import { InputError, isInputError } from '../input/input-error.js';
import { textLine } from './text-format.js';

export type { Logger } from 'pino';

import { LOG_LEVELS, type LogFormat, type LogLevel } from './log-settings.js';

export { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './log-settings.js';

/** What the command line chose (`--log-level`, `--log-format` and their LOOM_* / file forms). */
let configured: { level?: LogLevel; format: LogFormat } = { format: 'json' };

/** Set the level and format of every logger created from now on (the CLI calls this once, after its settings). */
export function configureLogging(c: { level?: LogLevel | undefined; format?: LogFormat | undefined }): void {
  configured = { ...(c.level ? { level: c.level } : {}), format: c.format ?? 'json' };
}

/** Log level: the configured one, else LOOM_LOG_LEVEL; tests default to silent so their output stays readable. */
function defaultLevel(): LogLevel {
  if (configured.level) return configured.level;
  const fromEnv = process.env.LOOM_LOG_LEVEL;
  if (fromEnv) {
    if (!(LOG_LEVELS as readonly string[]).includes(fromEnv)) {
      throw new InputError('LOOM_LOG_LEVEL', `expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(fromEnv)}`);
    }
    return fromEnv as LogLevel;
  }
  return process.env.VITEST ? 'silent' : 'info';
}

/**
 * `err` in a log line: an input error as its fields (source, key, problem), another error by its
 * message — one line, no stack, the same whichever part logged it.
 */
function serializeErr(err: unknown): unknown {
  if (isInputError(err)) return { type: err.name, ...err.fields, message: err.message };
  if (err instanceof Error) return { type: err.name, message: err.message };
  return err;
}

/** The binding-free root behind each component logger, so a sub-component replaces `component` instead of repeating the key. */
const roots = new WeakMap<Logger, Logger>();

/**
 * The root logger of one program. Every line carries a `component` field naming the part of
 * Loom that wrote it (operator.controller, agent.evictor, sim.rm …). `options.level` forces a
 * level (tests capturing lines); otherwise the configured level applies.
 */
export function createLogger(component: string, options: LoggerOptions = {}, destination?: DestinationStream): Logger {
  const base: LoggerOptions = {
    level: defaultLevel(),
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: serializeErr },
    ...options,
  };
  const out = configured.format === 'text' ? textDestination(destination ?? pino.destination({ dest: 1, sync: true })) : destination;
  const root = out ? pino(base, out) : pino(base);
  const logger = root.child({ component });
  roots.set(logger, root);
  return logger;
}

/** A stream that turns each pino JSON line into one text line on `target`. */
function textDestination(target: DestinationStream): DestinationStream {
  return { write: (line: string) => target.write(textLine(line)) };
}

/** A logger for a sub-component: the parent's bindings and destination, `component` replaced. */
export function componentLogger(parent: Logger, component: string): Logger {
  const root = roots.get(parent);
  if (!root) return parent.child({ component });
  const logger = root.child({ ...parent.bindings(), component });
  roots.set(logger, root);
  return logger;
}
