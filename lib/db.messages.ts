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

export const END_TIMEOUT = (name: string, stuck: number) =>
  `Pool "${name}": ${stuck} connection(s) did not close in time (a server that does not answer); destroyed.`;

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

// --- Transactions (issue 4) ---

export const INVALID_TX_OPTION = (where: string, option: string, got: unknown, expected: string) =>
  `Invalid ${where} option "${option}": got ${formatValue(got)}, expected ${expected}.`;

export const TX_NOT_OPEN = (name: string) =>
  `commit() on connection "${name}" found no open transaction: none was begun with ` +
  `beginTransaction(), or it has already ended. Possible solutions: call beginTransaction() ` +
  `first, or use conn.transaction(fn) or @Transactional(), which commit for you.`;

export const TX_ABORTED = (name: string, reason: string) =>
  `commit() on connection "${name}": the server already rolled this transaction back (${reason}), ` +
  `so there is nothing to commit, and statements sent after that ran outside any transaction. ` +
  `Possible solutions: run the whole transaction again, or use conn.transaction(fn, { retries }) ` +
  `or @Transactional({ retries }), which do that for you.`;

export const TX_MANAGED = (name: string, call: string) =>
  `${call} on connection "${name}" inside a transaction run by @Transactional() or ` +
  `transaction(): that transaction is committed when its handler or callback succeeds and rolled ` +
  `back when it throws, and ${call} would end it early. Possible solutions: remove the call; to ` +
  `roll back, throw an error; for a part that may fail on its own, nest conn.transaction(fn) ` +
  `(a savepoint).`;

export const TX_NESTED_OPTION = (name: string, option: string, outer: string, inner: string) =>
  `A nested transaction on connection "${name}" asks for ${option} ${inner}, but the ` +
  `transaction it runs in has ${outer}; a savepoint cannot change that. Possible solutions: set ` +
  `${option} on the outermost transaction (or on @Transactional()), or leave it out of the ` +
  `nested one.`;

export const TX_TWO_CONNECTIONS = (route: string, outer: string, inner: string) =>
  `@Transactional() on ${route} names two connections: "${outer}" (outer) and "${inner}" ` +
  `(inner). One unit of work runs one transaction on one connection. Possible solutions: use ` +
  `the same "connection" in both, or, for work on a second connection, call ` +
  `conn.transaction(fn) on that connection inside the handler.`;

export const TX_UNKNOWN_CONNECTION = (route: string, name: string) =>
  `@Transactional({ connection: "${name}" }) on ${route}: no connection "${name}" is registered. ` +
  `Possible solutions: register it with DbModule.forRoot({ name: "${name}" }), or fix the name.`;

export const TX_CONFLICT = (name: string, kind: string, attempts: number, reason: string) =>
  `A transaction on connection "${name}" was rolled back after a ${kind} (${reason}); ` +
  `${attempts} attempt(s) made, none kept. Possible solutions: ` +
  (kind === 'deadlock'
    ? `set "retries" on @Transactional() or transaction() to run it again automatically; lock ` +
      `rows in the same order everywhere; keep transactions short.`
    : `set "retries" and "retryOnLockWaitTimeout"; find the transaction holding the lock so long.`);

export const TX_RETRY = (name: string, kind: string, attempt: number, of: number, ms: number) =>
  `Connection "${name}": transaction rolled back after a ${kind}; running it again ` +
  `(attempt ${attempt + 1} of ${of}) in ${ms} ms.`;

export const TX_LEFT_OPEN = (route: string, names: string) =>
  `${route} left a transaction open on connection ${names}; it was rolled back when the request ` +
  `ended, so its changes are lost. Possible solutions: commit() (or rollback()) before the ` +
  `handler returns, or let conn.transaction(fn) or @Transactional() end it. ` +
  `(Logged once per route.)`;

export const TX_ROLLBACK_FAILED = (name: string, reason: string) =>
  `Connection "${name}": ROLLBACK failed (${reason}); the connection will be reset or destroyed ` +
  `when it is returned, which ends the transaction.`;

export const NO_CONTEXT = (name: string) =>
  `Connection "${name}" (scope: 'context') was used outside a request, so there is no unit of ` +
  `work to borrow a connection for. Possible solutions: for background work (cron jobs, queue ` +
  `consumers, onModuleInit) use DbPool.withConnection(fn), or put @WithConnection() on the ` +
  `method that starts the work; for microservice, GraphQL or WebSocket handlers register ` +
  `DbInterceptor (registerInterceptor: true or @UseInterceptors(DbInterceptor)).`;

// --- Health checks (issue 6) ---

export const HEALTH_UNKNOWN_CONNECTION = (name: string) =>
  `No connection "${name}" is registered. Possible solutions: register it with ` +
  `DbModule.forRoot({ name: "${name}" }), or fix "connectionName".`;

export const HEALTH_PING_TIMEOUT = (name: string, ms: number) =>
  `Connection "${name}" did not answer a ping within ${ms} ms (timeout).`;

export const HEALTH_POOL_SATURATED = (
  name: string,
  pending: number,
  limit: number,
  maxRatio: number,
) =>
  `Pool "${name}" is saturated: ${pending} caller(s) waiting for ${limit} connection(s) ` +
  `(more than maxPendingRatio ${maxRatio} × connectionLimit).`;

export const INVALID_HEALTH_OPTION = (
  method: string,
  option: string,
  got: unknown,
  expected: string,
) =>
  `Invalid DbHealthIndicator.${method}() option "${option}": got ${formatValue(got)}, expected ${expected}.`;

// --- Connection names (issue 6) ---

export const DUPLICATE_CONNECTION = (name: string, count: number) =>
  `DbModule registers the connection "${name}" ${count} times (DbModule.forRoot() or ` +
  `forRootAsync() with name "${name}"); only one of them could be injected. Possible solutions: ` +
  `register each connection once (DbModule is global: import it in the root module only), or ` +
  `give the others names of their own: DbModule.forRoot({ name: "reports", ... }).`;

export const UNKNOWN_CONNECTION = (
  decorator: string,
  name: string,
  where: string,
  registered: readonly string[],
) =>
  `${decorator}("${name}") in ${where}: no connection "${name}" is registered ` +
  `(registered: ${registered.map((n) => `"${n}"`).join(', ') || 'none'}). Possible solutions: ` +
  `register it with DbModule.forRoot({ name: "${name}", ... }) (or forRootAsync({ name: ` +
  `"${name}", ... })), or fix the name.`;

// --- Read replicas (issue 7) ---

export const REPLICA_LEFT = (name: string, why: string) =>
  `Replica "${name}" left the rotation: ${why}. Reads go to the other replicas (or the fallback).`;

export const REPLICA_BACK = (name: string) => `Replica "${name}" is back in the rotation.`;

export const REPLICA_LAGGING = (lag: number | null, max: number) =>
  lag === null
    ? `it is not replicating (Seconds_Behind_Master is NULL)`
    : `it lags ${lag} s behind the primary (maxReplicationLag ${max} s)`;

export const REPLICA_NO_STATUS =
  `it reports no replication status (SHOW REPLICA STATUS is empty: not a replica, or the user ` +
  `lacks the REPLICA MONITOR / REPLICATION CLIENT privilege)`;

export const REPLICA_UNAVAILABLE = (name: string, count: number) =>
  `No replica of connection "${name}" can serve this read: all ${count} are down or lagging, and ` +
  `replicaFallback is 'fail'. Possible solutions: check the replicas and their replication, raise ` +
  `"maxReplicationLag", or set replicaFallback: 'primary'.`;

export const SIZING_WARNING = (
  name: string,
  limit: number,
  instances: number,
  maxConnections: number,
  headroomPercent: number,
) =>
  `Pool "${name}": connectionLimit ${limit} × expectedInstances ${instances} = ${limit * instances} ` +
  `connection(s) could exceed the server's max_connections ${maxConnections} less ` +
  `${headroomPercent} % headroom (${Math.floor(maxConnections * (1 - headroomPercent / 100))}). ` +
  `Possible solutions: lower "connectionLimit", raise max_connections, or put a proxy in front.`;

export const HEALTH_NO_REPLICA = (name: string) =>
  `No read replica of connection "${name}" is in rotation (all down, lagging or not replicating).`;
