// Every message the package emits, as small functions, so wording stays consistent and testable.
// None of them may take a password: callers pass a `DbTarget`, which has none.

/** Where a pool points, without credentials. */
export interface DbTarget {
  host: string;
  port: number;
  user: string;
  database: string | undefined;
}

export const describeTarget = (t: DbTarget): string =>
  `${t.host}:${t.port} as user "${t.user}"` + (t.database ? `, database "${t.database}"` : '');

export const ACQUIRE_TIMEOUT = (name: string, limit: number, waitedMs: number, pending: number) =>
  `Timed out after ${waitedMs} ms waiting for a connection from pool "${name}" ` +
  `(connectionLimit ${limit}, all borrowed; ${pending} other request(s) waiting). ` +
  `Possible solutions: raise "acquireTimeout" or "connectionLimit", or find what holds connections ` +
  `for so long (slow queries, work done while holding a connection).`;

export const QUEUE_FULL = (name: string, queueLimit: number) =>
  `Pool "${name}" refused a request for a connection: ${queueLimit} request(s) are already waiting ` +
  `(queueLimit ${queueLimit}). Possible solutions: raise "queueLimit" (0 = unbounded) or "connectionLimit".`;

export const POOL_CLOSED = (name: string) =>
  `Pool "${name}" is shutting down and accepts no new work.`;

export const CONNECTION_RELEASED = (name: string) =>
  `This connection of pool "${name}" was already returned to the pool (its request or ` +
  `withConnection() callback ended), so it can no longer be used. ` +
  `Possible solutions: finish all queries before the handler returns; for background work use ` +
  `DbPool.withConnection().`;

export const CONNECT_FAILED = (name: string, target: string, reason: string) =>
  `Pool "${name}" could not open a connection to ${target}: ${reason}`;

export const STARTUP_FAILED = (name: string, target: string, attempts: number, reason: string) =>
  `Unable to connect to the database for connection "${name}" at ${target} after ${attempts} ` +
  `attempt(s): ${reason}. Check the server is running and the connection options ` +
  `(host, port, user, password, database) are right; "retryAttempts"/"retryDelay" set how long start-up waits.`;

export const STARTUP_RETRY = (
  name: string,
  attempt: number,
  of: number,
  reason: string,
  delay: number,
) => `Connection "${name}": attempt ${attempt}/${of} failed (${reason}); retrying in ${delay} ms`;

export const INVALID_OPTION = (option: string, got: unknown, expected: string) =>
  `Invalid DbModule option "${option}": got ${formatValue(got)}, expected ${expected}.`;

export const DRAIN_TIMEOUT = (name: string, ms: number, borrowed: number) =>
  `Pool "${name}": ${borrowed} connection(s) still borrowed after shutdownTimeout (${ms} ms); ` +
  `destroying them so shutdown can finish.`;

export const RESET_FAILED = (name: string, reason: string) =>
  `Pool "${name}": a returned connection could not be reset (${reason}); it was destroyed instead.`;

function formatValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v == null) return String(v);
  return typeof v;
}

export const LIFETIME_VS_WAIT_TIMEOUT = (name: string, maxLifetime: number, waitTimeoutS: number) =>
  `Pool "${name}": maxLifetime (${maxLifetime} ms) is not comfortably below the server's ` +
  `wait_timeout (${waitTimeoutS} s), so the server may close idle connections first. ` +
  `Set maxLifetime to at most ${Math.max(0, waitTimeoutS * 1000 - 30_000)} ms, or raise wait_timeout.`;

export const STATEMENT_TIMEOUT = (name: string, ms: number, threadId: number | null) =>
  `A statement on pool "${name}" ran longer than statementTimeout (${ms} ms); it was killed on ` +
  `the server (connection ${threadId ?? '?'}) and its connection closed. ` +
  `Possible solutions: make the statement faster, or raise "statementTimeout".`;

export const LEAK_SUSPECTED = (name: string, label: string, ms: number, stack: string) =>
  `Pool "${name}": a connection taken by ${label} has been held for more than ${ms} ms ` +
  `(leakDetectionThreshold); possible leak. Taken at:\n${stack}`;

export const LEAK_ENDED = (name: string, label: string, heldMs: number) =>
  `Pool "${name}": the connection taken by ${label} (reported as a possible leak) came back ` +
  `after ${heldMs} ms.`;
