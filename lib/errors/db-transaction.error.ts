import { DbError } from './db.error.js';

/**
 * A transaction was used the wrong way: `commit()` with no transaction open, `beginTransaction()`,
 * `commit()` or `rollback()` inside one run by `@Transactional()` or `transaction()`, a nested
 * transaction asking for another isolation level, or `@Transactional()` naming two connections
 * or one that is not registered. The message says which and how to fix it.
 * @publicApi
 */
export class DbTransactionError extends DbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DB_TRANSACTION', message, options);
  }
}
