import { DbError } from './db.error.js';

/**
 * The server rolled a transaction back to break a deadlock (`ER_LOCK_DEADLOCK`, 1213), and it was
 * not retried, or every retry (`retries`) deadlocked too. Nothing of the transaction was kept.
 * Answered as HTTP 409 Conflict by `DbInterceptor`. The driver's error is `cause`; `errno` is
 * kept, so `err.errno === 1213` still matches.
 * @publicApi
 */
export class DbDeadlockError extends DbError {
  /** The server's error number: 1213. */
  readonly errno = 1213;

  constructor(
    message: string,
    /** The pool's name. */
    readonly pool: string,
    /** How many times the transaction ran (1 + retries used). */
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super('DB_DEADLOCK', message, options);
  }
}
