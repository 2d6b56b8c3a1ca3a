/**
 * A snapshot of one pool, from this package's own bookkeeping (not mysql2's events, which skip
 * hand-offs to waiters).
 * @publicApi
 */
export interface DbPoolStats {
  /** The connection's name. */
  name: string;
  /** Server connections open now (idle + borrowed). */
  total: number;
  /** Open connections nobody holds. */
  idle: number;
  /** Connections held by a request or `withConnection()`, including ones being cleaned up. */
  borrowed: number;
  /** Callers waiting for a connection. */
  pending: number;
  /** `connectionLimit`. */
  limit: number;
}
