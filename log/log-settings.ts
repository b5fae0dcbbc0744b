/** The logging settings every `loom` command has (`--log-level`/`LOOM_LOG_LEVEL`, `--log-format`/`LOOM_LOG_FORMAT`). */
import type { SettingSpec } from '../settings/settings.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** `json`: one pino JSON object per line (the default, for collectors); `text`: one readable line per entry, for a terminal. */
export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export function logSettingSpecs(defaultLevel: LogLevel): SettingSpec[] {
  return [
    { key: 'logLevel', kind: 'enum', choices: LOG_LEVELS, description: 'least severe log entries written', default: defaultLevel },
    { key: 'logFormat', kind: 'enum', choices: LOG_FORMATS, description: 'json: one JSON object per line (for log collectors); text: one readable line per entry (for a terminal)', default: 'json' },
  ];
}
