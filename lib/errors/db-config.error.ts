import { DbError } from './db.error.js';

/**
 * An option passed to `DbModule.forRoot()`/`forRootAsync()` is invalid (thrown at start-up), or
 * one passed to `@Transactional()` (thrown when the class is defined) or `transaction()`.
 * @publicApi
 */
export class DbConfigError extends DbError {
  constructor(message: string) {
    super('DB_CONFIG', message);
  }
}
