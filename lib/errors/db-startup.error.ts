import { DbError } from './db.error.js';

/**
 * The start-up check of a connection failed after `retryAttempts` tries; the application does
 * not start.
 * @publicApi
 */
export class DbStartupError extends DbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DB_STARTUP', message, options);
  }
}
