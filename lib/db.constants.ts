/**
 * Name of the connection registered when `DbModule.forRoot()` is called without `name`.
 * @publicApi
 */
export const DEFAULT_CONNECTION_NAME = 'default';

/**
 * Default option values, in one place so the README, the JSDoc and the code cannot drift.
 * All times are milliseconds.
 * @publicApi
 */
export const DB_DEFAULTS = {
  connectionLimit: 10,
  queueLimit: 0,
  acquireTimeout: 10_000,
  shutdownTimeout: 10_000,
  retryAttempts: 3,
  retryDelay: 1_000,
  registerInterceptor: true,
  maxLifetime: 1_800_000,
  validateAfterIdle: 500,
  validationTimeout: 1_000,
  statementTimeout: 0,
  leakDetectionThreshold: 0,
  minIdle: 0,
  idleTimeout: 600_000,
  keepAliveInitialDelay: 30_000,
} as const;

/** Shortest `maxLifetime` accepted (as HikariCP): shorter churns connections for nothing. */
export const MIN_LIFETIME = 30_000;
