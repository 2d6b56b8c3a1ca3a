import type {
  InjectionToken,
  ModuleMetadata,
  OptionalFactoryDependency,
  Type,
} from '@nestjs/common';
import type { PoolOptions } from 'mysql2';
import type { DbReplicaOptions } from './db-replica-options.interface.js';

/**
 * Options of one named connection: every mysql2 pool option (`uri` or `host`/`port`/`user`/
 * `password`/`database`, `ssl`, `charset`, `timezone`, `connectionLimit`, `queueLimit`,
 * `connectTimeout`, ...) plus this package's own. All times are in milliseconds.
 *
 * mysql2's `waitForConnections`, `maxIdle` and `resetOnRelease` are not accepted: this package
 * owns waiting, idling and clean-up (see the README). `idleTimeout` is this package's own.
 * @publicApi
 */
export interface DbModuleOptions
  extends
    Omit<PoolOptions, 'waitForConnections' | 'maxIdle' | 'idleTimeout' | 'resetOnRelease'>,
    DbReplicaOptions {
  /**
   * Name of this connection; several `forRoot()` calls with different names coexist.
   * @default 'default'
   */
  name?: string;
  /**
   * Most connections open at once; requests beyond it wait (see `acquireTimeout`).
   * @default 10
   */
  connectionLimit?: number;
  /**
   * Most requests waiting for a connection; past it a request fails at once with
   * `DbQueueFullError` (HTTP 503). `0` means unbounded.
   * @default 0
   */
  queueLimit?: number;
  /**
   * Longest a request waits for a connection, queueing and connecting included; past it
   * `DbAcquireTimeoutError` (HTTP 503).
   * @default 10000
   */
  acquireTimeout?: number;
  /**
   * On application shutdown, longest to wait for borrowed connections to come back before they
   * are destroyed and the pool is closed.
   * @default 10000
   */
  shutdownTimeout?: number;
  /**
   * How many times the start-up check (`SELECT 1`) is tried before the application fails to start.
   * @default 3
   */
  retryAttempts?: number;
  /**
   * Pause between two start-up attempts.
   * @default 1000
   */
  retryDelay?: number;
  /**
   * A server connection older than this is closed when it comes back and never handed out (each
   * connection's limit is shortened by a random 0–2.5 % so they do not all expire together).
   * Keep it below the server's `wait_timeout`. `0` disables it; otherwise at least 30000.
   * @default 1800000 (30 min)
   */
  maxLifetime?: number;
  /**
   * A connection idle longer than this is pinged before it is handed out; a dead one is destroyed
   * and another taken, all within `acquireTimeout`. `0` pings every time.
   * @default 500
   */
  validateAfterIdle?: number;
  /**
   * How long that ping may take before the connection counts as dead.
   * @default 1000
   */
  validationTimeout?: number;
  /**
   * Longest a statement may run: past it the statement fails with `DbStatementTimeoutError`
   * (HTTP 503), its connection is destroyed and the server-side statement is killed
   * (`KILL QUERY` over a separate connection). `0` turns it off.
   * @default 0
   */
  statementTimeout?: number;
  /**
   * Log a warning (with the route and the stack where it was taken) when a connection is held
   * longer than this, and again when it finally comes back. `0` turns it off.
   * @default 0
   */
  leakDetectionThreshold?: number;
  /**
   * Idle connections kept open however long they sit unused; the pool also opens connections in
   * the background to keep this many.
   * @default 0
   */
  minIdle?: number;
  /**
   * An idle connection above `minIdle` unused for this long is closed.
   * @default 600000 (10 min)
   */
  idleTimeout?: number;
  /**
   * Log this connection's events (start-up retries, drain timeouts, leaks, failed clean-ups,
   * transactions left open, ...) through Nest's `Logger`, context `'DbModule'`, one line each.
   * `false` silences them all; errors are still thrown as usual.
   * @default true
   */
  logger?: boolean;
  /**
   * How `Connection` finds the current request's connection:
   * - `'request'`: Nest's REQUEST scope. Simple, but scope bubbles: every provider that injects
   *   `Connection` (and everything injecting those) is re-created on every request.
   * - `'context'`: a singleton `Connection` that finds the request's connection through
   *   AsyncLocalStorage (opened by a middleware before guards run). Nobody becomes
   *   request-scoped; the same guarantees hold. Outside a request use `@WithConnection()` or
   *   `DbPool.withConnection()`.
   * @default 'request'
   */
  scope?: DbScope;
  /**
   * Register `DbInterceptor` globally (`APP_INTERCEPTOR`). It returns the connection as soon as
   * the handler ends, maps errors to 503/409 bodies with a `code`, runs `@Transactional()`, and
   * gives microservice and GraphQL handlers their unit of work. Without it HTTP requests still
   * return their connection when the response closes.
   * @default true in request scope; false in context scope (HTTP needs no interceptor there,
   * which saves Nest's per-request interceptor cost; set it for microservices, GraphQL or
   * `@Transactional()`)
   */
  registerInterceptor?: boolean;
}

/** See `DbModuleOptions.scope`. @publicApi */
export type DbScope = 'request' | 'context';

/**
 * A class that builds the options, for `forRootAsync({ useClass | useExisting })`.
 * @publicApi
 */
export interface DbOptionsFactory {
  createDbOptions(name?: string): Promise<DbModuleOptions> | DbModuleOptions;
}

/**
 * Options of `DbModule.forRootAsync()`. Exactly one of `useFactory`, `useClass`, `useExisting`.
 * @publicApi
 */
export interface DbModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /**
   * Name of this connection. It must be known before the factory runs (it names the providers),
   * so it is given here, not in the factory's result.
   * @default 'default'
   */
  name?: string;
  /**
   * See `DbModuleOptions.scope`; given here because providers are fixed before the factory runs.
   * @default 'request'
   */
  scope?: DbScope;
  /**
   * See `DbModuleOptions.registerInterceptor`; given here because providers are fixed before the
   * factory runs.
   * @default true in request scope, false in context scope
   */
  registerInterceptor?: boolean;
  /** Builds the options; its parameters are the `inject` tokens, in order. */
  useFactory?(...args: never[]): Promise<DbModuleOptions> | DbModuleOptions;
  /** Providers to hand to `useFactory`. */
  inject?: (InjectionToken | OptionalFactoryDependency)[];
  /** A class implementing `DbOptionsFactory`, instantiated inside the module. */
  useClass?: Type<DbOptionsFactory>;
  /** An existing provider implementing `DbOptionsFactory` (from `imports`). */
  useExisting?: Type<DbOptionsFactory>;
}
