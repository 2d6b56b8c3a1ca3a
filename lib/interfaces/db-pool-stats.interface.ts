/**
 * Why the pool closed a server connection.
 * - `fatal`: it saw a fatal error (lost, killed, server shut down);
 * - `lifetime`: it reached `maxLifetime`;
 * - `idle`: it sat unused longer than `idleTimeout` (above `minIdle`);
 * - `validation`: the ping before hand-out failed or timed out;
 * - `reset`: the clean-up on return failed;
 * - `timeout`: a statement ran past `statementTimeout`;
 * - `shutdown`: still borrowed when `shutdownTimeout` ran out.
 * @publicApi
 */
export type DbDestroyReason =
  'fatal' | 'lifetime' | 'idle' | 'validation' | 'reset' | 'timeout' | 'shutdown';

/** Percentiles over the last 1,024 samples, in ms (0 when there are none). @publicApi */
export interface DbTimings {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/**
 * A snapshot of one pool, from this package's own bookkeeping (not mysql2's events, which skip
 * hand-offs to waiters). Gauges describe now; counters count since the pool was created.
 * @publicApi
 */
export interface DbPoolStats {
  /** The connection's name. */
  name: string;
  /** Server connections open now (idle + borrowed). */
  total: number;
  /** Open connections nobody holds. */
  idle: number;
  /** Connections held by a request or `withConnection()`, including ones being checked or cleaned. */
  borrowed: number;
  /** Callers waiting for a connection. */
  pending: number;
  /** `connectionLimit`. */
  limit: number;
  /** Server connections opened so far. */
  created: number;
  /** Server connections closed by the pool so far, by reason. */
  destroyed: Record<DbDestroyReason, number>;
  /** Callers that gave up after `acquireTimeout`. */
  acquireTimeouts: number;
  /** Connections held past `leakDetectionThreshold`. */
  leaks: number;
  /** Time from asking for a connection to having it. */
  acquireWaitMs: DbTimings;
  /** Time a connection was held, from borrow to return. */
  holdMs: DbTimings;
}
