import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { DEFAULT_CONNECTION_NAME } from './db.constants.js';
import {
  HEALTH_PING_TIMEOUT,
  HEALTH_POOL_SATURATED,
  HEALTH_NO_REPLICA,
  HEALTH_UNKNOWN_CONNECTION,
  INVALID_HEALTH_OPTION,
} from './db.messages.js';
import { reasonOf } from './db-errors.js';
import type { DbPool } from './db-pool.js';
import { getPoolToken } from './db.utils.js';
import { DbConfigError } from './errors/index.js';

/**
 * Defaults of `DbHealthIndicator`'s checks.
 * @publicApi
 */
export const DB_HEALTH_DEFAULTS = {
  /** `pingCheck`: longest to wait for the ping, acquiring the connection included (ms). */
  timeout: 1_000,
  /** `poolCheck`: most callers waiting per connection of the limit before the pool is "down". */
  maxPendingRatio: 1,
} as const;

/** Options of `DbHealthIndicator.pingCheck()`. @publicApi */
export interface DbPingCheckOptions {
  /**
   * The connection to ping, as named in `DbModule.forRoot({ name })`.
   * @default 'default'
   */
  connectionName?: string;
  /**
   * Longest to wait (ms) for a connection and its answer; past it the check is `down`.
   * @default 1000
   */
  timeout?: number;
}

/** Options of `DbHealthIndicator.poolCheck()`. @publicApi */
export interface DbPoolCheckOptions {
  /**
   * The pool to look at, as named in `DbModule.forRoot({ name })`.
   * @default 'default'
   */
  connectionName?: string;
  /**
   * The check is `down` when more callers wait for a connection than this many times
   * `connectionLimit` (`pending / limit > maxPendingRatio`). `0`: down as soon as anyone waits.
   * @default 1
   */
  maxPendingRatio?: number;
}

/**
 * Health indicators for `@nestjs/terminus` (an optional peer: import this class from
 * `nestjs-mysql-connection/health`, which is the only entry point that loads terminus). Add it to
 * the `providers` of the module that imports `TerminusModule`.
 *
 * - `pingCheck(key, options?)`: liveness of the database. Borrows a connection of its own from
 *   the pool (never a request's), runs `SELECT 1` and returns it; `down` with the reason when that
 *   fails or takes longer than `timeout`.
 * - `poolCheck(key, options?)`: readiness. `down` when the pool is saturated (too many callers
 *   waiting for a connection), so a load balancer sends the traffic elsewhere until it recovers.
 *   Not for liveness: a busy pool is no reason to restart the process.
 * @publicApi
 */
@Injectable()
export class DbHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly moduleRef: ModuleRef,
  ) {}

  /**
   * Pings the database over a connection borrowed for the ping alone. `up` with
   * `{ connection, responseTimeMs }`; `down` with `{ connection, message }` when no connection
   * could be had, the server failed, or nothing answered within `timeout` (default 1000 ms).
   * Never rejects: the result says what went wrong.
   */
  async pingCheck<const Key extends string>(
    key: Key,
    options: DbPingCheckOptions = {},
  ): Promise<HealthIndicatorResult<Key>> {
    const { connectionName = DEFAULT_CONNECTION_NAME, timeout = DB_HEALTH_DEFAULTS.timeout } =
      options;
    if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0) {
      throw new DbConfigError(
        INVALID_HEALTH_OPTION('pingCheck', 'timeout', timeout, 'a number of milliseconds > 0'),
      );
    }
    const pool = this.poolOf(connectionName);
    if (!pool) return this.unknownConnection(key, connectionName);
    const indicator = this.health.check(key);
    const started = Date.now();
    try {
      await withDeadline(pool.query('SELECT 1'), timeout, () =>
        HEALTH_PING_TIMEOUT(connectionName, timeout),
      );
      return indicator.up({ connection: connectionName, responseTimeMs: Date.now() - started });
    } catch (err) {
      return indicator.down({ connection: connectionName, message: reasonOf(err) });
    }
  }

  /**
   * Compares the pool's waiting callers with its limit. `up` or `down` with
   * `{ connection, total, idle, borrowed, pending, limit }` (and a `message` when down).
   * Sends nothing to the server.
   */
  async poolCheck<const Key extends string>(
    key: Key,
    options: DbPoolCheckOptions = {},
  ): Promise<HealthIndicatorResult<Key>> {
    const {
      connectionName = DEFAULT_CONNECTION_NAME,
      maxPendingRatio = DB_HEALTH_DEFAULTS.maxPendingRatio,
    } = options;
    if (typeof maxPendingRatio !== 'number' || !(maxPendingRatio >= 0)) {
      throw new DbConfigError(
        INVALID_HEALTH_OPTION('poolCheck', 'maxPendingRatio', maxPendingRatio, 'a number >= 0'),
      );
    }
    const pool = this.poolOf(connectionName);
    if (!pool) return this.unknownConnection(key, connectionName);
    const indicator = this.health.check(key);
    const { total, idle, borrowed, pending, limit } = pool.stats();
    const data = { connection: connectionName, total, idle, borrowed, pending, limit };
    if (pending / limit > maxPendingRatio) {
      return indicator.down({
        ...data,
        message: HEALTH_POOL_SATURATED(connectionName, pending, limit, maxPendingRatio),
      });
    }
    return indicator.up(data);
  }

  /**
   * Reports each read replica of a connection (`replicas` option) as the periodic replica check
   * last saw it: `{ connection, replicas: [{ name, usable, reason?, lagSeconds, borrowed }] }`.
   * `down` when none is usable (reads then fall back to the primary, or fail with
   * `replicaFallback: 'fail'`); `up` for a connection without replicas. Sends nothing to the
   * server.
   */
  async replicaCheck<const Key extends string>(
    key: Key,
    options: { connectionName?: string } = {},
  ): Promise<HealthIndicatorResult<Key>> {
    const { connectionName = DEFAULT_CONNECTION_NAME } = options;
    const pool = this.poolOf(connectionName);
    if (!pool) return this.unknownConnection(key, connectionName);
    const indicator = this.health.check(key);
    const replicas = pool.replicaStatus();
    const data = { connection: connectionName, replicas };
    if (replicas.length > 0 && !replicas.some((r) => r.usable)) {
      return indicator.down({ ...data, message: HEALTH_NO_REPLICA(connectionName) });
    }
    return indicator.up(data);
  }

  /** The result of a check of a connection name no `DbModule.forRoot()` registered. */
  private unknownConnection<const Key extends string>(
    key: Key,
    name: string,
  ): HealthIndicatorResult<Key> {
    return this.health
      .check(key)
      .down({ connection: name, message: HEALTH_UNKNOWN_CONNECTION(name) });
  }

  private poolOf(name: string): DbPool | undefined {
    try {
      return this.moduleRef.get<DbPool>(getPoolToken(name), { strict: false });
    } catch {
      return undefined;
    }
  }
}

/**
 * `work`, or a rejection once `ms` have passed. The work is not cancelled: a ping still waiting
 * for a connection keeps its place and returns the connection when it gets one.
 */
function withDeadline<T>(work: Promise<T>, ms: number, message: () => string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(message())), ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
