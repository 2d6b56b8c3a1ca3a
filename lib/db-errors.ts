// Classifies driver errors. One place decides whether a connection is still usable.

interface DriverError {
  fatal?: boolean;
  code?: string;
  errno?: number;
}

// Codes after which the socket is gone or the session is unusable (see the README's
// "Failure handling"). mysql2 marks most of these `fatal`; the errnos arrive as plain server
// errors followed by a close, so they are listed too.
const FATAL_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT', // the statement still runs server-side: the connection stays busy
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNREFUSED',
]);
const FATAL_ERRNOS = new Set([
  1053, // ER_SERVER_SHUTDOWN
  1927, // MariaDB ER_CONNECTION_KILLED
  4031, // MySQL >= 8.0.24 ER_CLIENT_INTERACTION_TIMEOUT (wait_timeout)
]);

/** True when a connection that produced `err` must be destroyed, never reused. @internal */
export function isFatalError(err: unknown): boolean {
  if (err == null || typeof err !== 'object') return false;
  const e = err as DriverError;
  if (e.fatal === true) return true;
  if (e.code !== undefined && FATAL_CODES.has(e.code)) return true;
  return e.errno !== undefined && FATAL_ERRNOS.has(e.errno);
}

/**
 * The driver's reason, for messages: `ER_ACCESS_DENIED_ERROR: Access denied ...`. On one line: a
 * server error may quote a multi-line statement, and each log line must be one event. @internal
 */
export function reasonOf(err: unknown): string {
  let reason = String(err);
  if (err instanceof Error) {
    const code = (err as DriverError).code;
    reason = code && !err.message.startsWith(code) ? `${code}: ${err.message}` : err.message;
  }
  return reason.replace(/\s*[\r\n]+\s*/g, ' ');
}
