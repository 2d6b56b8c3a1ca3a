import { DbError } from './db.error.js';

/**
 * A transaction waited `innodb_lock_wait_timeout` for a row lock (`ER_LOCK_WAIT_TIMEOUT`, 1205)
 * and was rolled back: not retried (see `retryOnLockWaitTimeout`), or every retry timed out too.
 * Answered as HTTP 409 Conflict by `DbInterceptor`. The driver's error is `cause`; `errno` is
 * kept, so `err.errno === 1205` still matches.
 * @publicApi
 */
export class DbLockWaitTimeoutError extends DbError {
  /** The server's error number: 1205. */
  readonly errno = 1205;

  constructor(
    message: string,
    /** The pool's name. */
    readonly pool: string,
    /** How many times the transaction ran (1 + retries used). */
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super('DB_LOCK_WAIT_TIMEOUT', message, options);
  }
}
