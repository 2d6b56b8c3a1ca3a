import type { ConnectionOptions, PoolOptions } from 'mysql2';
import { DB_DEFAULTS, DEFAULT_CONNECTION_NAME, MIN_LIFETIME } from './db.constants.js';
import { INVALID_OPTION, type DbTarget } from './db.messages.js';
import {
  REPLICA_OPTION_KEYS,
  resolveExpectedInstances,
  resolveReplication,
  type ResolvedReplication,
} from './db-replicas.js';
import { DbConfigError } from './errors/index.js';
import type { DbModuleOptions, DbScope } from './interfaces/index.js';

/** Options after defaults and validation; what the pool runs on. @internal */
export interface ResolvedDbOptions {
  name: string;
  connectionLimit: number;
  queueLimit: number;
  acquireTimeout: number;
  shutdownTimeout: number;
  retryAttempts: number;
  retryDelay: number;
  registerInterceptor: boolean;
  scope: DbScope;
  maxLifetime: number;
  validateAfterIdle: number;
  validationTimeout: number;
  statementTimeout: number;
  leakDetectionThreshold: number;
  minIdle: number;
  idleTimeout: number;
  logger: boolean;
  /** App instances sharing the servers, for the sizing warning. */
  expectedInstances: number;
  /** Read replicas; undefined when none are configured. */
  replication: ResolvedReplication | undefined;
  /** Where the pool points, safe to print. */
  target: DbTarget;
  /** Passed to mysql2's createPool. */
  driver: PoolOptions;
  /** The same without the pool's own keys, for a one-off side connection (KILL QUERY). */
  connection: ConnectionOptions;
  /** Only to scrub it out of driver messages; never printed. */
  secret: string | undefined;
}

// mysql2 options this package takes over; accepting them silently would promise behaviour the
// pool no longer has.
const OWNED_DRIVER_OPTIONS = ['waitForConnections', 'maxIdle', 'resetOnRelease'];

/** Applies defaults and validates; throws `DbConfigError` naming the option and the fix. @internal */
export function resolveDbOptions(input: DbModuleOptions): ResolvedDbOptions {
  if (input == null || typeof input !== 'object') {
    throw new DbConfigError(INVALID_OPTION('options', input, 'an object'));
  }
  const resolvedName = input.name ?? DEFAULT_CONNECTION_NAME;
  if (typeof resolvedName !== 'string' || resolvedName.length === 0) {
    throw new DbConfigError(INVALID_OPTION('name', resolvedName, 'a non-empty string'));
  }
  for (const key of OWNED_DRIVER_OPTIONS) {
    if (key in input) {
      throw new DbConfigError(
        `Invalid DbModule option "${key}": this module manages waiting, idling and clean-up itself. ` +
          `Remove "${key}"; see the README's options table for what replaces it.`,
      );
    }
  }

  const {
    name: _name,
    acquireTimeout = DB_DEFAULTS.acquireTimeout,
    shutdownTimeout = DB_DEFAULTS.shutdownTimeout,
    retryAttempts = DB_DEFAULTS.retryAttempts,
    retryDelay = DB_DEFAULTS.retryDelay,
    scope = DB_DEFAULTS.scope,
    registerInterceptor = scope === 'request',
    connectionLimit = DB_DEFAULTS.connectionLimit,
    queueLimit = DB_DEFAULTS.queueLimit,
    maxLifetime = DB_DEFAULTS.maxLifetime,
    validateAfterIdle = DB_DEFAULTS.validateAfterIdle,
    validationTimeout = DB_DEFAULTS.validationTimeout,
    statementTimeout = DB_DEFAULTS.statementTimeout,
    leakDetectionThreshold = DB_DEFAULTS.leakDetectionThreshold,
    minIdle = DB_DEFAULTS.minIdle,
    idleTimeout = DB_DEFAULTS.idleTimeout,
    keepAliveInitialDelay = DB_DEFAULTS.keepAliveInitialDelay,
    logger = DB_DEFAULTS.logger,
    ...driverOptions
  } = input;
  // Replica options are this package's: mysql2 warns about options it does not know.
  const replication = resolveReplication(input);
  const expectedInstances = resolveExpectedInstances(input.expectedInstances);
  for (const key of REPLICA_OPTION_KEYS) delete (driverOptions as Record<string, unknown>)[key];

  integer('connectionLimit', connectionLimit, 1);
  integer('queueLimit', queueLimit, 0);
  integer('retryAttempts', retryAttempts, 1);
  duration('acquireTimeout', acquireTimeout, 1);
  duration('shutdownTimeout', shutdownTimeout, 0);
  duration('retryDelay', retryDelay, 0);
  duration('maxLifetime', maxLifetime, 0);
  if (maxLifetime > 0 && maxLifetime < MIN_LIFETIME) {
    throw new DbConfigError(
      INVALID_OPTION('maxLifetime', maxLifetime, `0 (no limit) or at least ${MIN_LIFETIME} ms`),
    );
  }
  duration('validateAfterIdle', validateAfterIdle, 0);
  duration('validationTimeout', validationTimeout, 1);
  duration('statementTimeout', statementTimeout, 0);
  duration('leakDetectionThreshold', leakDetectionThreshold, 0);
  integer('minIdle', minIdle, 0);
  if (minIdle > connectionLimit) {
    throw new DbConfigError(
      INVALID_OPTION('minIdle', minIdle, `at most connectionLimit (${connectionLimit})`),
    );
  }
  duration('idleTimeout', idleTimeout, 1);
  duration('keepAliveInitialDelay', keepAliveInitialDelay, 0);
  if (scope !== 'request' && scope !== 'context') {
    throw new DbConfigError(INVALID_OPTION('scope', scope, `'request' or 'context'`));
  }
  if (typeof logger !== 'boolean') {
    throw new DbConfigError(INVALID_OPTION('logger', logger, 'true or false'));
  }
  if (typeof registerInterceptor !== 'boolean') {
    throw new DbConfigError(
      INVALID_OPTION('registerInterceptor', registerInterceptor, 'true or false'),
    );
  }

  const { target, secret } = describe(input);
  return {
    name: resolvedName,
    connectionLimit,
    queueLimit,
    acquireTimeout,
    shutdownTimeout,
    retryAttempts,
    retryDelay,
    registerInterceptor,
    scope,
    maxLifetime,
    validateAfterIdle,
    validationTimeout,
    statementTimeout,
    leakDetectionThreshold,
    minIdle,
    idleTimeout,
    logger,
    expectedInstances,
    replication,
    target,
    secret,
    connection: { ...driverOptions, keepAliveInitialDelay },
    driver: {
      ...driverOptions,
      // mysql2 leaves TCP keepalive to the OS default (7200 s on Linux), far too late to notice a
      // dropped peer; probe after 30 s of silence instead.
      keepAliveInitialDelay,
      connectionLimit,
      // Our own FIFO admits at most connectionLimit borrowers, so mysql2's queue stays empty.
      queueLimit: 0,
      waitForConnections: true,
      // mysql2's idle reaper only runs when maxIdle < connectionLimit and can empty the pool;
      // keep it off.
      maxIdle: connectionLimit,
      // Clean-up on return is done by the lease, which knows whether the session was touched.
      resetOnRelease: false,
    },
  };
}

function integer(option: string, value: unknown, min: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new DbConfigError(INVALID_OPTION(option, value, `an integer >= ${min}`));
  }
}

function duration(option: string, value: unknown, min: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new DbConfigError(INVALID_OPTION(option, value, `a number of milliseconds >= ${min}`));
  }
}

function describe(input: DbModuleOptions): { target: DbTarget; secret: string | undefined } {
  let host = input.host ?? 'localhost';
  let port = input.port ?? 3306;
  let user = input.user ?? '';
  let database = input.database;
  let secret = typeof input.password === 'string' && input.password ? input.password : undefined;
  if (input.uri !== undefined) {
    let url: URL;
    try {
      url = new URL(input.uri);
    } catch {
      // The message must not echo the URI: it may hold a password.
      throw new DbConfigError(
        INVALID_OPTION('uri', '(hidden)', 'a URL such as mysql://user:password@host:3306/database'),
      );
    }
    host = url.hostname || host;
    port = url.port ? Number(url.port) : port;
    user = url.username ? decodeURIComponent(url.username) : user;
    database = url.pathname.length > 1 ? decodeURIComponent(url.pathname.slice(1)) : database;
    if (url.password) secret = decodeURIComponent(url.password);
  }
  return { target: { host, port, user, database }, secret };
}

/** Removes the password from a driver message, should a driver ever echo it. @internal */
export function scrub(message: string, secret: string | undefined): string {
  return secret ? message.split(secret).join('***') : message;
}
