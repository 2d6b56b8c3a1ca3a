import { Logger } from '@nestjs/common';
import { createPool, type Pool, type PoolConnection } from 'mysql2';
import { LOGGER_CONTEXT } from './db.internal-constants.js';
import {
  ACQUIRE_TIMEOUT,
  CONNECT_FAILED,
  DRAIN_TIMEOUT,
  POOL_CLOSED,
  QUEUE_FULL,
  STARTUP_FAILED,
  STARTUP_RETRY,
  describeTarget,
} from './db.messages.js';
import { reasonOf } from './db-errors.js';
import { DbLease } from './db-lease.js';
import { resolveDbOptions, scrub, type ResolvedDbOptions } from './db-options.js';
import {
  DbAcquireTimeoutError,
  DbConnectError,
  DbPoolClosedError,
  DbQueueFullError,
  DbStartupError,
} from './errors/index.js';
import type { DbModuleOptions, DbPoolStats } from './interfaces/index.js';
import { Connection, LeaseConnection, type QueryArgs, type QueryReturn } from './connection.js';

interface Waiter {
  grant: () => void;
  timer: NodeJS.Timeout;
}

/**
 * One named pool: mysql2's pool as the engine, with a bounded FIFO of waiters and one absolute
 * deadline in front of it, clean-up on return and a draining close.
 *
 * Injected as `DbPool` (default connection) or with `@InjectPool(name)`. Use it for work outside a
 * request; inside a request inject `Connection` instead.
 * @publicApi
 */
export class DbPool {
  /** The connection's name. */
  readonly name: string;
  /** @internal */
  readonly options: ResolvedDbOptions;
  /** @internal */
  readonly logger = new Logger(LOGGER_CONTEXT);

  private readonly raw: Pool;
  private readonly waiters: Waiter[] = [];
  private readonly borrowed = new Set<PoolConnection>();
  private readonly open = new Set<PoolConnection>();
  /**
   * Acquisitions in progress plus borrowed connections. mysql2 is only ever asked for a connection
   * while a permit is held, so its own (deadline-less) queue is never used.
   */
  private permits = 0;
  private state: 'open' | 'draining' | 'closed' = 'open';
  private closing: Promise<void> | undefined;
  private onDrained: (() => void) | undefined;

  constructor(options: DbModuleOptions) {
    this.options = resolveDbOptions(options);
    this.name = this.options.name;
    this.raw = createPool(this.options.driver);
    this.raw.on('connection', (conn: PoolConnection) => {
      this.open.add(conn);
      const forget = () => this.open.delete(conn);
      conn.once('end', forget);
      conn.once('error', forget);
    });
  }

  /**
   * Runs `fn` with a connection of its own, returned (clean) when `fn` settles. For cron jobs,
   * queue consumers and scripts: work that has no request.
   */
  async withConnection<T>(fn: (conn: Connection) => Promise<T>): Promise<T> {
    const lease = this.createLease();
    try {
      return await fn(new LeaseConnection(lease));
    } finally {
      await lease.release();
    }
  }

  /** One statement on a connection borrowed for it alone; resolves to `[rows, fields]`. */
  query<T extends QueryReturn = QueryReturn>(...args: QueryArgs): Promise<[T, FieldList]> {
    return this.withConnection((c) => c.query<T>(...args));
  }

  /** One prepared statement on a connection borrowed for it alone; resolves to `[rows, fields]`. */
  execute<T extends QueryReturn = QueryReturn>(...args: QueryArgs): Promise<[T, FieldList]> {
    return this.withConnection((c) => c.execute<T>(...args));
  }

  /** Gauges from this package's own bookkeeping. */
  stats(): DbPoolStats {
    return {
      name: this.name,
      total: this.open.size,
      idle: Math.max(0, this.open.size - this.borrowed.size),
      borrowed: this.borrowed.size,
      pending: this.waiters.length,
      limit: this.options.connectionLimit,
    };
  }

  /**
   * Checks the database answers, trying `retryAttempts` times `retryDelay` apart. Called by the
   * module at start-up; on failure the pool is closed and `DbStartupError` thrown.
   */
  async verify(): Promise<void> {
    const { retryAttempts, retryDelay, target, secret } = this.options;
    let reason = '';
    for (let attempt = 1; attempt <= retryAttempts; attempt++) {
      try {
        await this.query('SELECT 1');
        return;
      } catch (err) {
        const cause = err instanceof DbConnectError ? err.cause : err;
        reason = scrub(reasonOf(cause), secret);
        if (attempt < retryAttempts) {
          this.logger.warn(STARTUP_RETRY(this.name, attempt, retryAttempts, reason, retryDelay));
          await new Promise((resolve) => setTimeout(resolve, retryDelay));
        }
      }
    }
    await this.close();
    throw new DbStartupError(
      STARTUP_FAILED(this.name, describeTarget(target), retryAttempts, reason),
    );
  }

  /**
   * Refuses new work, waits up to `shutdownTimeout` for borrowed connections to come back,
   * destroys any still out, then closes every server connection. Idempotent.
   */
  close(): Promise<void> {
    return (this.closing ??= this.drainAndEnd());
  }

  /** A per-request (or per-callback) lease: takes a connection on first use only. @internal */
  createLease(): DbLease {
    return new DbLease(this, this.state === 'open');
  }

  /**
   * Admits the caller under the limit or queues it, FIFO, with one deadline covering the wait
   * and the connect. @internal
   */
  acquire(admitted: boolean): Promise<PoolConnection> {
    if (this.state === 'closed' || (this.state === 'draining' && !admitted)) {
      return Promise.reject(new DbPoolClosedError(POOL_CLOSED(this.name), this.name));
    }
    const start = Date.now();
    if (this.permits < this.options.connectionLimit) {
      this.permits++;
      return this.take(start);
    }
    const { queueLimit } = this.options;
    if (queueLimit > 0 && this.waiters.length >= queueLimit) {
      return Promise.reject(new DbQueueFullError(QUEUE_FULL(this.name, queueLimit), this.name));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        grant: resolve,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(this.timeoutError(start));
        }, this.options.acquireTimeout),
      };
      this.waiters.push(waiter);
    }).then(() => this.take(start));
  }

  /**
   * Takes a connection back from a lease: `reuse` false destroys it (fatal error seen, clean-up
   * failed). Ignores connections already taken back (shutdown may have destroyed it). @internal
   */
  giveBack(conn: PoolConnection, reuse: boolean): void {
    if (!this.borrowed.delete(conn)) return;
    if (reuse && this.state !== 'closed') {
      conn.release();
    } else {
      this.destroy(conn);
    }
    this.releasePermit();
  }

  /** Asks mysql2 for a connection, holding a permit, within what is left of the deadline. */
  private take(start: number): Promise<PoolConnection> {
    if (this.state === 'closed') {
      // A waiter granted by close(): the permit it holds goes back unused.
      this.releasePermit();
      return Promise.reject(new DbPoolClosedError(POOL_CLOSED(this.name), this.name));
    }
    return new Promise((resolve, reject) => {
      let gaveUp = false;
      const timer = setTimeout(
        () => {
          gaveUp = true;
          reject(this.timeoutError(start));
        },
        Math.max(0, this.options.acquireTimeout - (Date.now() - start)),
      );
      this.raw.getConnection((err, conn) => {
        if (gaveUp) {
          // The caller stopped waiting; a connection that still arrives goes straight back.
          if (err) this.releasePermit();
          else {
            this.borrowed.add(conn);
            this.giveBack(conn, true);
          }
          return;
        }
        clearTimeout(timer);
        if (err) {
          this.releasePermit();
          reject(this.connectError(err));
          return;
        }
        this.borrowed.add(conn);
        resolve(conn);
      });
    });
  }

  /** Hands the permit to the oldest waiter, or frees it. */
  private releasePermit(): void {
    const next = this.waiters.shift();
    if (next) {
      clearTimeout(next.timer);
      next.grant();
      return;
    }
    this.permits--;
    if (this.permits === 0) this.onDrained?.();
  }

  private destroy(conn: PoolConnection): void {
    this.open.delete(conn);
    conn.destroy();
  }

  private async drainAndEnd(): Promise<void> {
    if (this.state === 'open') this.state = 'draining';
    const { shutdownTimeout } = this.options;
    if (this.permits > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, shutdownTimeout);
        this.onDrained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.state = 'closed';
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      // A granted waiter finds the pool closed in take() and fails with DbPoolClosedError.
      waiter.grant();
    }
    if (this.borrowed.size > 0) {
      this.logger.warn(DRAIN_TIMEOUT(this.name, shutdownTimeout, this.borrowed.size));
      for (const conn of this.borrowed) this.destroy(conn);
      this.borrowed.clear();
    }
    // mysql2's end() sends COM_QUIT to every connection it still has: all idle by now.
    await new Promise<void>((resolve) => this.raw.end(() => resolve()));
    this.open.clear();
  }

  private timeoutError(start: number): DbAcquireTimeoutError {
    const waited = Date.now() - start;
    const { connectionLimit } = this.options;
    return new DbAcquireTimeoutError(
      ACQUIRE_TIMEOUT(this.name, connectionLimit, waited, this.waiters.length),
      this.name,
      waited,
      connectionLimit,
    );
  }

  private connectError(err: unknown): Error {
    if (this.state === 'closed') return new DbPoolClosedError(POOL_CLOSED(this.name), this.name);
    const { target, secret } = this.options;
    return new DbConnectError(
      CONNECT_FAILED(this.name, describeTarget(target), scrub(reasonOf(err), secret)),
      this.name,
      { cause: err },
    );
  }
}

type FieldList = Awaited<ReturnType<Connection['query']>>[1];
