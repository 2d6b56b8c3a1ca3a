import { DbError } from './db.error.js';

/**
 * A new server connection could not be opened (server down, refused, wrong credentials).
 * The driver's error is kept as `cause`. Answered as HTTP 503 by `DbInterceptor`.
 * @publicApi
 */
export class DbConnectError extends DbError {
  constructor(
    message: string,
    /** The pool's name. */
    readonly pool: string,
    options?: { cause?: unknown },
  ) {
    super('DB_CONNECT', message, options);
    this.answerWith(503, false /* names host and user */);
  }
}
