import { DbError } from './db.error.js';

/**
 * An option passed to `DbModule.forRoot()`/`forRootAsync()` is invalid. Thrown at start-up.
 * @publicApi
 */
export class DbConfigError extends DbError {
  constructor(message: string) {
    super('DB_CONFIG', message);
  }
}
