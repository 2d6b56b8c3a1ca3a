import { DbError } from './db.error.js';

/**
 * A statement ran past `statementTimeout`; it was killed on the server and its connection closed.
 * Answered as HTTP 503 by `DbInterceptor`.
 * @publicApi
 */
export class DbStatementTimeoutError extends DbError {
  constructor(
    message: string,
    /** The pool's name. */
    readonly pool: string,
    /** The limit that was exceeded, in ms. */
    readonly timeoutMs: number,
  ) {
    super('DB_STATEMENT_TIMEOUT', message);
    this.answerWith(503);
  }
}
