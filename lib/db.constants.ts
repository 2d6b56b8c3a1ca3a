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
  scope: 'request',
  maxLifetime: 1_800_000,
  validateAfterIdle: 500,
  validationTimeout: 1_000,
  statementTimeout: 0,
  leakDetectionThreshold: 0,
  minIdle: 0,
  idleTimeout: 600_000,
  keepAliveInitialDelay: 30_000,
  logger: true,
} as const;

/** Shortest `maxLifetime` accepted (as HikariCP): shorter churns connections for nothing. */
export const MIN_LIFETIME = 30_000;

/**
 * Defaults of `@Transactional()` / `transaction()` options, and the pause between two attempts
 * of a transaction rolled back by a deadlock: attempt n waits a random time between half and all
 * of `min(retryDelayMax, retryDelayBase * 2^(n-1))` ms (10–20, 20–40, 40–80, ... up to 250–500).
 * @publicApi
 */
export const TRANSACTION_DEFAULTS = {
  retries: 0,
  retryOnLockWaitTimeout: false,
  retryDelayBase: 20,
  retryDelayMax: 500,
} as const;
