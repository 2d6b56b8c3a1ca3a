import { DbError } from './db.error.js';

/**
 * No connection could be had from the pool within `acquireTimeout`. Answered as HTTP 503 by
 * `DbInterceptor`.
 * @publicApi
 */
export class DbAcquireTimeoutError extends DbError {
  constructor(
    message: string,
    /** The pool's name. */
    readonly pool: string,
    /** How long the caller waited, in ms. */
    readonly waitedMs: number,
    /** The pool's `connectionLimit`. */
    readonly limit: number,
  ) {
    super('DB_ACQUIRE_TIMEOUT', message);
    this.answerWith(503);
  }
}
