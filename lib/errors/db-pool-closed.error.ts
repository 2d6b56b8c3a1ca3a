import { DbError } from './db.error.js';

/**
 * The pool is shutting down (or shut) and accepts no new work. Answered as HTTP 503 by
 * `DbInterceptor`.
 * @publicApi
 */
export class DbPoolClosedError extends DbError {
  constructor(
    message: string,
    /** The pool's name. */
    readonly pool: string,
  ) {
    super('DB_POOL_CLOSED', message);
    this.answerWith(503);
  }
}
