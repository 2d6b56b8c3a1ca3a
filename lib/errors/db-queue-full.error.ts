import { DbError } from './db.error.js';

/**
 * `queueLimit` requests were already waiting for a connection. Answered as HTTP 503.
 * @publicApi
 */
export class DbQueueFullError extends DbError {
  constructor(
    message: string,
    /** The pool's name. */
    readonly pool: string,
  ) {
    super('DB_QUEUE_FULL', message);
    this.answerWith(503);
  }
}
