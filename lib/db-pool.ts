import {
  createConnection,
  createPool,
  escapeId,
  type Pool,
  type PoolOptions,
  type PoolConnection,
  type RowDataPacket,
} from 'mysql2';
import { createDbLogger, type DbLogger } from './db.logger.js';
import {
  ACQUIRE_TIMEOUT,
  CONNECT_FAILED,
  DRAIN_TIMEOUT,
  END_TIMEOUT,
  LIFETIME_VS_WAIT_TIMEOUT,
  RESET_FAILED,
  POOL_CLOSED,
  QUEUE_FULL,
  STARTUP_FAILED,
  STARTUP_RETRY,
  describeTarget,
} from './db.messages.js';
import { reasonOf } from './db-errors.js';
import { DbLease } from './db-lease.js';
import { resolveDbOptions, scrub, type ResolvedDbOptions } from './db-options.js';
import { PoolCounters } from './db-pool-metrics.js';
import { DbReplicaSet, warnIfOversized, type DbReplicaStatus } from './db-replicas.js';
import { SessionStateClassifier, TRACK_STATE_SQL } from './db-session.js';
import {
  DbAcquireTimeoutError,
  DbConnectError,
  DbPoolClosedError,
  DbQueueFullError,
  DbStartupError,
} from './errors/index.js';
import type {
  DbDestroyReason,
  DbModuleOptions,
  DbPoolStats,
  TransactionOptions,
} from './interfaces/index.js';
import { Connection, LeaseConnection, type QueryArgs, type QueryReturn } from './connection.js';

/** One caller asking for a connection; one timer covers its whole wait. */
interface Acquire {
  readonly start: number;
  timer: NodeJS.Timeout | undefined;
  /** Resolved, rejected or timed out: nobody waits for this any more. */
  done: boolean;
  resolve(conn: PoolConnection): void;
  reject(err: unknown): void;
}

/** What the pool knows of each open server connection. */
interface ConnInfo {
  /** The server reports session state changes on it (session_track_state_change is on). */
  tracked: boolean;
  /** `maxLifetime` less a random jitter, from creation. */
  expiresAt: number;
  /** Last return to the pool (or creation). */
  lastUsed: number;
  /** When the current borrower got it (Date.now()). */
  borrowedAt: number;
}

// A random 0–2.5 % off each connection's lifetime, so connections made together do not all
// expire together (HikariCP does the same).
const LIFETIME_JITTER = 0.025;
/** How long close() waits for mysql2's end() at least, even past shutdownTimeout. */
const END_GRACE_MS = 250;

/**
 * Every connection of a mysql2 pool, connecting ones included. mysql2 has no public list of
 * them; its `_allConnections` has been stable for years, and if it ever goes, close() only stops
 * destroying stragglers early (they still close at their connectTimeout).
 */
function driverConnections(raw: Pool): PoolConnection[] {
  type Internals = { _allConnections?: { toArray?: () => PoolConnection[] } };
  // oxlint-disable-next-line no-underscore-dangle -- mysql2's own field, no public equivalent
  const all = (raw as unknown as Internals)._allConnections;
  return typeof all?.toArray === 'function' ? all.toArray() : [];
}

/**
 * One named pool: mysql2's pool as the engine, with a bounded FIFO of waiters and one absolute
 * deadline in front of it, validation before hand-out, a max lifetime, an idle policy that
 * works, clean-up on return, and a draining close.
 *
 * Injected as `DbPool` (default connection) or with `@InjectPool(name)`. Use it for work outside a
 * request; inside a request inject `Connection` instead. Can also be used without Nest:
 * `const pool = new DbPool({ uri }); await pool.verify(); ...; await pool.close();`.
 * @publicApi
 */
export class DbPool {
  /** The connection's name. */
  readonly name: string;
  /** @internal */
  readonly options: ResolvedDbOptions;
  /** @internal Nest's Logger (context 'DbModule'), or a silent one with `logger: false`. */
  readonly logger: DbLogger;
  /** @internal */
  readonly counters = new PoolCounters();
  /** @internal verdicts on statement texts, for the clean-up on return. */
  readonly session = new SessionStateClassifier();

  private readonly raw: Pool;
  private readonly waiters: Acquire[] = [];
  private readonly borrowed = new Set<PoolConnection>();
  private readonly open = new Map<PoolConnection, ConnInfo>();
  /**
   * Acquisitions being served plus borrowed connections. mysql2 is only ever asked for a
   * connection while a permit is held, so its own (deadline-less) queue is never used.
   */
  private permits = 0;
  private state: 'open' | 'draining' | 'closed' = 'open';
  /**
   * When a connection was last found dead (`now()`). Idle connections last used before it are
   * suspect whatever their idle time: one kill or server restart often takes several at once, and
   * the safe re-run of a first statement must not land on another dead one.
   */
  private lastFatalAt = -Infinity;
  private closing: Promise<void> | undefined;
  private onDrained: (() => void) | undefined;
  private readonly housekeeper: NodeJS.Timeout;
  /** @internal the read replicas (`replicas` option), each with a pool of its own. */
  readonly replicas: DbReplicaSet | undefined;

  constructor(options: DbModuleOptions) {
    this.options = resolveDbOptions(options);
    this.logger = createDbLogger(this.options.logger);
    this.name = this.options.name;
    const { replication } = this.options;
    this.replicas = replication
      ? new DbReplicaSet(this, replication, options, (o) => new DbPool(o))
      : undefined;
    this.raw = this.createDriverPool(this.options.driver);
    this.raw.on('connection', (conn: PoolConnection) => this.track(conn));
    const { idleTimeout, maxLifetime } = this.options;
    const period = Math.max(
      1_000,
      Math.min(30_000, idleTimeout / 2, maxLifetime > 0 ? maxLifetime / 4 : Infinity),
    );
    // unref: the pool's housekeeping never keeps a process alive.
    this.housekeeper = setInterval(() => this.housekeep(), period).unref();
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

  /**
   * Runs `fn` in a transaction on a connection of its own: committed when `fn` resolves, rolled
   * back when it throws, the connection returned either way. `conn.transaction()` calls inside
   * become savepoints. Options as for `Connection.transaction()` (`retries` default 0).
   */
  transaction<T>(fn: (conn: Connection) => Promise<T>, options?: TransactionOptions): Promise<T> {
    return this.withConnection((conn) => conn.transaction(fn, options));
  }

  /** One statement on a connection borrowed for it alone; resolves to `[rows, fields]`. */
  query<T extends QueryReturn = QueryReturn>(...args: QueryArgs): Promise<[T, FieldList]> {
    return this.withConnection((c) => c.query<T>(...args));
  }

  /** One prepared statement on a connection borrowed for it alone; resolves to `[rows, fields]`. */
  execute<T extends QueryReturn = QueryReturn>(...args: QueryArgs): Promise<[T, FieldList]> {
    return this.withConnection((c) => c.execute<T>(...args));
  }

  /** Gauges, counters and timings from this package's own bookkeeping. */
  stats(): DbPoolStats {
    const c = this.counters;
    return {
      name: this.name,
      total: this.open.size,
      idle: Math.max(0, this.open.size - this.borrowed.size),
      borrowed: this.borrowed.size,
      pending: this.waiters.length,
      limit: this.options.connectionLimit,
      created: c.created,
      destroyed: { ...c.destroyed },
      acquireTimeouts: c.acquireTimeouts,
      leaks: c.leaks,
      acquireWaitMs: c.acquireWait.summary(),
      holdMs: c.hold.summary(),
    };
  }

  /**
   * Checks the database answers, trying `retryAttempts` times `retryDelay` apart, and warns when
   * `maxLifetime` is not below the server's `wait_timeout`. Called by the module at start-up; on
   * failure the pool is closed and `DbStartupError` thrown.
   */
  async verify(): Promise<void> {
    const { retryAttempts, retryDelay, target, secret, maxLifetime } = this.options;
    let reason = '';
    for (let attempt = 1; attempt <= retryAttempts; attempt++) {
      try {
        const [rows] = await this.query<RowDataPacket[]>(
          'SELECT @@wait_timeout AS w, @@max_connections AS m',
        );
        const waitTimeout = Number(rows[0]?.w);
        if (maxLifetime > 0 && maxLifetime >= waitTimeout * 1000 - 30_000) {
          this.logger.warn(LIFETIME_VS_WAIT_TIMEOUT(this.name, maxLifetime, waitTimeout));
        }
        warnIfOversized(this, Number(rows[0]?.m));
        // Replicas down at start-up do not fail it: reads fall back until they answer.
        await this.replicas?.start();
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
    const replicas = this.replicas;
    return (this.closing ??= replicas
      ? Promise.all([this.drainAndEnd(), replicas.close()]).then(() => undefined)
      : this.drainAndEnd());
  }

  /** Each read replica (`replicas` option): in rotation or why not, its lag, its load. */
  replicaStatus(): DbReplicaStatus[] {
    return this.replicas?.status() ?? [];
  }

  /** A per-request (or per-callback) lease: takes a connection on first use only. @internal */
  createLease(): DbLease {
    return new DbLease(this, this.state === 'open');
  }

  /**
   * Admits the caller under the limit or queues it, FIFO. One deadline covers the wait, the
   * connect and validation. @internal
   */
  acquire(admitted: boolean): Promise<PoolConnection> {
    if (this.state === 'closed' || (this.state === 'draining' && !admitted)) {
      return Promise.reject(new DbPoolClosedError(POOL_CLOSED(this.name), this.name));
    }
    const { connectionLimit, queueLimit, acquireTimeout } = this.options;
    const admittedNow = this.permits < connectionLimit;
    if (!admittedNow && queueLimit > 0 && this.waiters.length >= queueLimit) {
      return Promise.reject(new DbQueueFullError(QUEUE_FULL(this.name, queueLimit), this.name));
    }
    return new Promise<PoolConnection>((resolve, reject) => {
      const req: Acquire = { start: Date.now(), timer: undefined, done: false, resolve, reject };
      req.timer = setTimeout(() => this.expire(req), acquireTimeout);
      if (admittedNow) {
        this.permits++;
        void this.serve(req);
      } else {
        this.waiters.push(req);
      }
    });
  }

  /**
   * Takes a connection back from a lease. `destroy` names why it must not be reused (a fatal error
   * was seen, clean-up failed, a statement timed out); `null` returns it to the pool. Ignores
   * connections already taken back (shutdown may have destroyed it). @internal
   */
  giveBack(conn: PoolConnection, destroy: DbDestroyReason | null): void {
    if (!this.borrowed.delete(conn)) return;
    const info = this.open.get(conn);
    if (info) this.counters.hold.record(Date.now() - info.borrowedAt);
    if (!info) {
      conn.destroy(); // mysql2 already dropped it (error/end event): just make sure it is closed
    } else if (destroy !== null || this.state === 'closed' || conn.state !== 'authenticated') {
      this.destroy(conn, destroy ?? (this.state === 'closed' ? 'shutdown' : 'fatal'));
    } else if (this.now() >= info.expiresAt) {
      this.destroy(conn, 'lifetime');
    } else {
      info.lastUsed = this.now();
      conn.release();
    }
    this.releasePermit();
  }

  /**
   * Asks the server to report session state changes on `conn` (new connections, and again after
   * each COM_RESET_CONNECTION). A server without the variable (MySQL < 5.7, MariaDB < 10.2) keeps
   * `tracked` false: then every return resets. @internal
   */
  trackState(conn: PoolConnection, done: (err: unknown) => void): void {
    conn.query(TRACK_STATE_SQL, (err: unknown) => {
      const info = this.open.get(conn);
      if (info) info.tracked = !err;
      done(err);
    });
  }

  /**
   * Cleans a session for the next borrower, in one round trip of three pipelined commands:
   * COM_RESET_CONNECTION (rolls back, drops variables, settings, temporary tables, prepared
   * statements, locks), state tracking on again (the reset turned it off), and the configured
   * database again (the reset keeps whatever `USE` chose). Resolves false if it failed: the
   * connection must then be destroyed. @internal
   */
  resetSession(conn: PoolConnection): Promise<boolean> {
    return new Promise((resolve) => {
      let failed = false;
      const fail = (err: unknown) => {
        if (failed) return;
        failed = true;
        this.logger.warn(RESET_FAILED(this.name, reasonOf(err)));
        resolve(false);
      };
      conn.reset((err: unknown) => err && fail(err));
      const database = this.options.target.database;
      if (database) conn.query(`USE ${escapeId(database)}`, (err: unknown) => err && fail(err));
      // If only this fails the server lacks tracking: the session is clean, just untracked.
      this.trackState(conn, () => failed || resolve(true));
    });
  }

  /** Whether the server reports session state changes on `conn`. @internal */
  tracksState(conn: PoolConnection): boolean {
    return this.open.get(conn)?.tracked === true;
  }

  /**
   * Closes a borrowed connection at once (a statement timed out on it); it stays counted as
   * borrowed until its lease gives it back. @internal
   */
  discard(conn: PoolConnection, reason: DbDestroyReason): void {
    if (this.borrowed.has(conn)) this.destroy(conn, reason);
  }

  /**
   * Kills the statement running on server connection `threadId`, over a connection of its own
   * (the statement's connection is busy). Best effort: failures are logged. @internal
   */
  killQuery(threadId: number): void {
    const side = createConnection(this.options.connection);
    side.on('error', () => undefined); // reported through the query callback below
    side.query('KILL QUERY ?', [threadId], (err) => {
      if (err) {
        this.logger.warn(
          `Pool "${this.name}": could not kill the timed-out statement on connection ${threadId}: ${reasonOf(err)}`,
        );
      }
      side.destroy();
    });
  }

  /** Builds the mysql2 pool. A seam for unit tests of the pool's arithmetic (no server). */
  protected createDriverPool(config: PoolOptions): Pool {
    return createPool(config);
  }

  /**
   * The clock for lifetime, idle and validation decisions (ms). Tests override it to move time
   * without sleeping; deadlines use real timers.
   */
  protected now(): number {
    return Date.now();
  }

  /** Serves one admitted caller; holds a permit until it hands it on or gives it back. */
  private async serve(req: Acquire): Promise<void> {
    try {
      for (;;) {
        if (this.state === 'closed') throw new DbPoolClosedError(POOL_CLOSED(this.name), this.name);
        const conn = await this.fetch();
        // Counted as borrowed while checked, so housekeeping leaves it alone.
        this.borrowed.add(conn);
        const problem = req.done ? null : await this.check(conn, req);
        if (req.done) {
          // The caller gave up meanwhile: the connection goes back, unharmed.
          this.open.get(conn)!.borrowedAt = Date.now();
          this.giveBack(conn, problem);
          return;
        }
        if (problem === null) {
          req.done = true;
          clearTimeout(req.timer);
          const now = Date.now();
          this.open.get(conn)!.borrowedAt = now;
          this.counters.acquireWait.record(now - req.start);
          req.resolve(conn);
          return;
        }
        this.borrowed.delete(conn);
        this.destroy(conn, problem);
      }
    } catch (err) {
      this.releasePermit();
      if (!req.done) {
        req.done = true;
        clearTimeout(req.timer);
        req.reject(err);
      }
    }
  }

  /** mysql2's getConnection: a free connection (LIFO) or a new one. */
  private fetch(): Promise<PoolConnection> {
    return new Promise((resolve, reject) => {
      this.raw.getConnection((err, conn) => (err ? reject(this.connectError(err)) : resolve(conn)));
    });
  }

  /**
   * Why `conn` must not be handed out, or null. Pings only connections idle longer than
   * `validateAfterIdle`, or idle since before a connection was last found dead: a busy, healthy
   * pool pays nothing, an idle or suspect one pays one round trip.
   */
  private async check(conn: PoolConnection, req: Acquire): Promise<DbDestroyReason | null> {
    const info = this.open.get(conn);
    if (!info || conn.state !== 'authenticated') return 'fatal';
    const now = this.now();
    if (now >= info.expiresAt) return 'lifetime';
    if (now - info.lastUsed < this.options.validateAfterIdle && info.lastUsed > this.lastFatalAt) {
      return null;
    }
    const left = this.options.acquireTimeout - (Date.now() - req.start);
    const alive = await ping(conn, Math.max(1, Math.min(this.options.validationTimeout, left)));
    return alive ? null : 'validation';
  }

  /** Hands the permit to the oldest waiter, or frees it. */
  private releasePermit(): void {
    const next = this.waiters.shift();
    if (next) {
      void this.serve(next);
      return;
    }
    this.permits--;
    if (this.permits === 0) this.onDrained?.();
  }

  private expire(req: Acquire): void {
    if (req.done) return;
    req.done = true;
    const queued = this.waiters.indexOf(req);
    if (queued >= 0) this.waiters.splice(queued, 1);
    req.reject(this.timeoutError(req.start));
  }

  private track(conn: PoolConnection): void {
    const now = this.now();
    const { maxLifetime } = this.options;
    const lifetime =
      maxLifetime > 0 ? maxLifetime * (1 - Math.random() * LIFETIME_JITTER) : Infinity;
    const info: ConnInfo = {
      tracked: false,
      expiresAt: now + lifetime,
      lastUsed: now,
      borrowedAt: 0,
    };
    this.open.set(conn, info);
    this.counters.created++;
    // Queued before the first borrower's statements; until it succeeds every return resets.
    this.trackState(conn, () => undefined);
    // mysql2 drops a connection from its pool on 'error'/'end' (killed, server gone, wait_timeout).
    const lost = () => this.forget(conn, 'fatal');
    conn.once('end', lost);
    conn.once('error', lost);
  }

  private forget(conn: PoolConnection, reason: DbDestroyReason): void {
    if (!this.open.delete(conn)) return;
    this.counters.destroyed[reason]++;
    if (reason === 'fatal') this.lastFatalAt = this.now();
  }

  private destroy(conn: PoolConnection, reason: DbDestroyReason): void {
    this.forget(conn, reason);
    conn.destroy();
  }

  /** Closes expired and surplus idle connections; opens connections up to `minIdle`. */
  private housekeep(): void {
    if (this.state !== 'open') return;
    const { minIdle, idleTimeout, connectionLimit } = this.options;
    const now = this.now();
    let idle = this.open.size - this.borrowed.size;
    for (const [conn, info] of this.open) {
      if (this.borrowed.has(conn)) continue;
      if (now >= info.expiresAt) {
        this.destroy(conn, 'lifetime');
        idle--;
      } else if (idle > minIdle && now - info.lastUsed > idleTimeout) {
        this.destroy(conn, 'idle');
        idle--;
      }
    }
    for (let missing = minIdle - idle; missing > 0 && this.permits < connectionLimit; missing--) {
      this.permits++;
      this.fetch()
        .then((conn) => conn.release())
        .catch((err: unknown) =>
          this.logger.warn(
            `Pool "${this.name}": could not open an idle connection: ${reasonOf(err)}`,
          ),
        )
        .finally(() => this.releasePermit());
    }
  }

  private async drainAndEnd(): Promise<void> {
    if (this.state === 'open') this.state = 'draining';
    clearInterval(this.housekeeper);
    const { shutdownTimeout } = this.options;
    const deadline = Date.now() + shutdownTimeout;
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
      waiter.done = true;
      clearTimeout(waiter.timer);
      waiter.reject(new DbPoolClosedError(POOL_CLOSED(this.name), this.name));
    }
    if (this.borrowed.size > 0) {
      this.logger.warn(DRAIN_TIMEOUT(this.name, shutdownTimeout, this.borrowed.size));
      for (const conn of this.borrowed) this.destroy(conn, 'shutdown');
      this.borrowed.clear();
    }
    // What is left is idle; mysql2's end() sends each COM_QUIT. Forget them first so their 'end'
    // events are not counted as fatal.
    this.open.clear();
    // mysql2's end() waits for every connection's COM_QUIT, and a connection still connecting
    // through a path that drops packets (a host down, a partition) answers only at its
    // connectTimeout. So the wait gets what is left of shutdownTimeout (at least END_GRACE_MS);
    // then whatever has not closed is destroyed: no server session exists behind it yet.
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      new Promise<boolean>((resolve) => this.raw.end(() => resolve(true))),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), Math.max(END_GRACE_MS, deadline - Date.now()));
      }),
    ]);
    clearTimeout(timer);
    if (!ended) {
      const stuck = driverConnections(this.raw);
      this.logger.warn(END_TIMEOUT(this.name, stuck.length));
      for (const conn of stuck) conn.destroy();
    }
  }

  private timeoutError(start: number): DbAcquireTimeoutError {
    this.counters.acquireTimeouts++;
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

/** COM_PING with its own deadline; a hung or failed ping means a dead connection. */
function ping(conn: PoolConnection, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    conn.ping((err) => {
      clearTimeout(timer);
      resolve(!err);
    });
  });
}

type FieldList = Awaited<ReturnType<Connection['query']>>[1];
