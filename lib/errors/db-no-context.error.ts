import { DbError } from './db.error.js';

/**
 * A context-scoped `Connection` was used outside any request or `@WithConnection()` call, so
 * there is no unit of work to borrow a connection for.
 * @publicApi
 */
export class DbNoContextError extends DbError {
  constructor(message: string) {
    super('DB_NO_CONTEXT', message);
  }
}
