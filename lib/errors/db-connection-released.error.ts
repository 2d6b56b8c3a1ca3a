import { DbError } from './db.error.js';

/**
 * A `Connection` was used after it went back to the pool (mysql2 itself would silently run the
 * query on whatever request holds the connection by then).
 * @publicApi
 */
export class DbConnectionReleasedError extends DbError {
  constructor(message: string) {
    super('DB_CONNECTION_RELEASED', message);
  }
}
