import { Logger } from '@nestjs/common';
import { LOGGER_CONTEXT } from './db.internal-constants.js';

/**
 * What this package logs through: Nest's `Logger` with the context `'DbModule'` (so an app's own
 * logger gets every line), or nothing for a connection registered with `logger: false`.
 * One line per event; only leak reports carry a stack. @internal
 */
export type DbLogger = Pick<Logger, 'log' | 'warn' | 'error' | 'debug'>;

const SILENT: DbLogger = Object.freeze({
  log: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
});

/** Nest's `Logger` in the `'DbModule'` context when `enabled`, else a logger that drops all. @internal */
export function createDbLogger(enabled = true): DbLogger {
  return enabled ? new Logger(LOGGER_CONTEXT) : SILENT;
}

/** Whether `logger` writes anything (false for a connection with `logger: false`). @internal */
export function isSilent(logger: DbLogger): boolean {
  return logger === SILENT;
}
