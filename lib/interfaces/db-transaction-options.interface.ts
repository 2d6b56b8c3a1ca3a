/**
 * SQL isolation levels, as `SET TRANSACTION ISOLATION LEVEL` spells them.
 * @publicApi
 */
export type IsolationLevel =
  'READ UNCOMMITTED' | 'READ COMMITTED' | 'REPEATABLE READ' | 'SERIALIZABLE';

/**
 * Options of `conn.transaction(fn, options)` and `DbPool.transaction(fn, options)`.
 * @publicApi
 */
export interface TransactionOptions {
  /**
   * Isolation level of this transaction only (`SET TRANSACTION ISOLATION LEVEL ...` right before
   * `START TRANSACTION`); the session's level is untouched.
   * @default the server's (`transaction_isolation`, usually `'REPEATABLE READ'`)
   */
  isolationLevel?: IsolationLevel;
  /**
   * `START TRANSACTION READ ONLY` (`true`) or `READ WRITE` (`false`). In a read-only transaction a
   * write fails with `ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION`.
   * @default the server's (read-write)
   */
  readOnly?: boolean;
  /**
   * How many more times the whole transaction is run when the server rolls it back after a
   * deadlock (`ER_LOCK_DEADLOCK`, 1213), after a short jittered pause. `fn` (or the handler) must
   * be safe to run again: do no irreversible outside work (HTTP calls, e-mails) inside it.
   * @default 0
   */
  retries?: number;
  /**
   * Also retry after a lock wait timeout (`ER_LOCK_WAIT_TIMEOUT`, 1205). The transaction is rolled
   * back first (the server only undoes the one statement). Off by default: each attempt may wait
   * `innodb_lock_wait_timeout` (50 s by default) before failing.
   * @default false
   */
  retryOnLockWaitTimeout?: boolean;
}

/**
 * Options of `@Transactional()`.
 * @publicApi
 */
export interface TransactionalOptions extends TransactionOptions {
  /**
   * Name of the connection (as given to `DbModule.forRoot({ name })`) whose request-bound
   * `Connection` runs in the transaction.
   * @default 'default'
   */
  connection?: string;
}
