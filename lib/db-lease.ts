import type { FieldPacket, PoolConnection, QueryOptions, QueryValues } from 'mysql2';
import {
  CONNECTION_RELEASED,
  LEAK_ENDED,
  LEAK_SUSPECTED,
  STATEMENT_TIMEOUT,
} from './db.messages.js';
import { isFatalError, reasonOf } from './db-errors.js';
import { STATUS_IN_TRANS, STATUS_STATE_CHANGED } from './db-session.js';
import type { DbLogger } from './db.logger.js';
import type { DbPool } from './db-pool.js';
import { ReplicaReads } from './db-replicas.js';
import { LeaseTransaction, type UnitTransaction } from './db-transaction.js';
import { DbConnectionReleasedError, DbStatementTimeoutError } from './errors/index.js';
import type { DbDestroyReason } from './interfaces/index.js';

/**
 * Who a lease belongs to (a request, a context); told when the lease first needs a connection.
 * `attach` returns false once the owner has ended, so a late first query cannot take a
 * connection nobody would return. @internal
 */
export interface LeaseOwner {
  attach(lease: DbLease): boolean;
  /** What took the connection, for leak reports: `GET /orders/:id`. */
  describe?(): string;
  /** The transaction the owner's unit of work wants (`@Transactional()`), begun lazily. */
  readonly transaction?: UnitTransaction;
  /** The unit of work reads from replicas (`@ReadOnly()`), if its pool has any. */
  readonly readOnly?: boolean;
}

/**
 * One borrower's claim on one server connection: taken on the first statement, kept until
 * `release()`, then cleaned (or destroyed) and returned. Independent of how it is reached
 * (REQUEST scope, a context, `withConnection`). @internal
 */
export class DbLease {
  /** Set by whoever hands the lease out; consulted before the first acquire. */
  owner: LeaseOwner | undefined;
  /** Transactions and savepoints opened through this lease (db-transaction.ts). */
  readonly tx: LeaseTransaction = new LeaseTransaction(this);

  private conn: PoolConnection | undefined;
  private acquiring: Promise<PoolConnection> | undefined;
  private releasing: Promise<void> | undefined;
  private attached = false;
  private inflight = 0;
  private onIdle: (() => void) | undefined;
  /** Statements sent on the current connection: 0 means it is fresh from the pool. */
  private sent = 0;
  /** Set when the connection must not be reused. */
  private destroyReason: DbDestroyReason | null = null;
  private inTx = false;
  /** The session may hold state the next borrower must not see: reset it on return. */
  private dirty = false;
  private lastThreadId: number | null = null;
  /** Read routing, made on first use when the pool has replicas (db-replicas.ts). */
  private replicaReads: ReplicaReads | undefined;
  private leak:
    { timer: NodeJS.Timeout; stack: string; since: number; reported: boolean } | undefined;

  constructor(
    private readonly pool: DbPool,
    /** Created before the pool began draining: may still acquire while it drains. */
    private readonly admitted: boolean,
  ) {}

  get threadId(): number | null {
    return this.lastThreadId;
  }

  /** The name of the pool (connection) this lease borrows from. */
  get poolName(): string {
    return this.pool.name;
  }

  /** The pool's logger (silent for a connection with `logger: false`). */
  get logger(): DbLogger {
    return this.pool.logger;
  }

  /** Read routing of this lease's unit of work; undefined when the pool has no replicas. */
  get reads(): ReplicaReads | undefined {
    const set = this.pool.replicas;
    return set && (this.replicaReads ??= new ReplicaReads(set));
  }

  /** Whether the server reported an open transaction after the last statement. */
  get inTransaction(): boolean {
    return this.inTx;
  }

  async run<T>(
    prepared: boolean,
    sql: string | QueryOptions,
    values?: QueryValues,
  ): Promise<[T, FieldPacket[]]> {
    if (this.releasing) throw this.releasedError();
    let conn = this.conn ?? (await this.connect());
    // release() may have started while we waited for the connection.
    if (this.releasing) throw this.releasedError();
    this.inflight++;
    try {
      const fresh = this.sent++ === 0;
      try {
        return await this.command<T>(conn, prepared, sql, values);
      } catch (err) {
        // The connection died before its first statement (killed in the same tick as the borrow,
        // or dropped while idle and not noticed yet). Nothing of this request ran on it, and no
        // transaction was open, so the statement runs once more on a new connection: the
        // request never sees the race. A server aborts a statement whose connection is killed,
        // so this cannot run it twice unless only the reply was lost.
        if (!fresh || this.inTx || this.releasing || !isFatalError(err)) throw err;
        if (err instanceof DbStatementTimeoutError) throw err;
        this.returnConnection('fatal');
        conn = await this.connect();
        if (this.releasing) throw this.releasedError();
        this.sent++;
        return await this.command<T>(conn, prepared, sql, values);
      }
    } finally {
      if (--this.inflight === 0) this.onIdle?.();
    }
  }

  /**
   * Returns the connection: waits for statements in flight, then resets the session
   * (COM_RESET_CONNECTION: rolls back an open transaction, drops user variables, session settings,
   * temporary tables, locks) or destroys it after a fatal error. Idempotent; never rejects.
   */
  release(): Promise<void> {
    if (this.releasing) return this.releasing;
    // The unit's replica lease goes back with it (it has no owner to do so in withConnection()).
    const replica = this.replicaReads?.release();
    const done = replica ? Promise.all([this.finish(), replica]).then(() => undefined) : undefined;
    return (this.releasing = (done ?? this.finish()).catch((err: unknown) => {
      this.pool.logger.error(`Pool "${this.pool.name}": release failed: ${reasonOf(err)}`);
    }));
  }

  private connect(): Promise<PoolConnection> {
    if (this.acquiring) return this.acquiring;
    if (!this.attached && this.owner) {
      if (!this.owner.attach(this)) {
        this.releasing = Promise.resolve();
        return Promise.reject(this.releasedError());
      }
      this.attached = true;
    }
    // Captured before any await, so the stack still shows the caller's frames.
    const stack = this.pool.options.leakDetectionThreshold > 0 ? callerStack() : undefined;
    this.acquiring = this.pool.acquire(this.admitted).then(
      (conn) => {
        this.conn = conn;
        this.sent = 0;
        this.lastThreadId = conn.threadId;
        if (stack !== undefined) this.watchForLeak(stack);
        return conn;
      },
      (err: unknown) => {
        this.acquiring = undefined;
        throw err;
      },
    );
    return this.acquiring;
  }

  private command<T>(
    conn: PoolConnection,
    prepared: boolean,
    sql: string | QueryOptions,
    values: QueryValues | undefined,
  ): Promise<[T, FieldPacket[]]> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let timedOut = false;
      const done = (err: unknown, rows: unknown, fields: unknown) => {
        if (timedOut) return;
        if (timer) clearTimeout(timer);
        if (err) {
          if (isFatalError(err)) this.destroyReason ??= 'fatal';
          this.dirty = true; // a failed statement may have done part of its work
          reject(err);
          return;
        }
        this.observe(sql, rows);
        resolve([rows as T, fields as FieldPacket[]]);
      };
      const { statementTimeout } = this.pool.options;
      if (statementTimeout > 0) {
        timer = setTimeout(() => {
          timedOut = true;
          reject(this.timeOut(conn, statementTimeout));
        }, statementTimeout);
      }
      // mysql2's overloads do not accept a union of both call shapes; the runtime does.
      const driver = conn as unknown as DriverCalls;
      if (prepared) driver.execute(sql, values, done);
      else driver.query(sql, values, done);
    });
  }

  /**
   * A statement ran too long. mysql2's own timeout only stops waiting: the server keeps running
   * the statement and the connection stays busy. So: kill it server-side, close the socket now
   * (the pool must not wait for a black-holed peer), and never reuse the connection.
   */
  private timeOut(conn: PoolConnection, ms: number): DbStatementTimeoutError {
    this.destroyReason = 'timeout';
    if (conn.threadId != null) this.pool.killQuery(conn.threadId);
    this.pool.discard(conn, 'timeout');
    return new DbStatementTimeoutError(
      STATEMENT_TIMEOUT(this.pool.name, ms, conn.threadId),
      this.pool.name,
      ms,
    );
  }

  /**
   * Reads what a statement did to the session: OK packets carry the server's status flags
   * (SERVER_STATUS_IN_TRANS, SERVER_SESSION_STATE_CHANGED); what they cannot report is judged
   * from the statement's text (db-session.ts).
   */
  private observe(sql: string | QueryOptions, rows: unknown): void {
    const status = (rows as { serverStatus?: unknown } | null)?.serverStatus;
    const returnedRows = typeof status !== 'number';
    if (!returnedRows) {
      this.inTx = (status & STATUS_IN_TRANS) !== 0;
      if ((status & STATUS_STATE_CHANGED) !== 0) this.dirty = true;
    }
    if (!this.dirty) {
      const text = typeof sql === 'string' ? sql : sql.sql;
      this.dirty = this.pool.session.mayLeaveState(text, returnedRows);
    }
  }

  private async finish(): Promise<void> {
    if (this.inflight > 0) await new Promise<void>((resolve) => (this.onIdle = resolve));
    if (!this.conn && this.acquiring) {
      try {
        await this.acquiring;
      } catch {
        return;
      }
    }
    const conn = this.conn;
    if (!conn) return;
    let reason = this.destroyReason;
    // A clean session goes back as it is (keeping its prepared statements); COM_RESET_CONNECTION
    // costs about two borrow cycles, so it runs only when the session may hold state.
    const mustReset = this.dirty || this.inTx || !this.pool.tracksState(conn);
    if (reason === null && mustReset && !(await this.pool.resetSession(conn))) reason = 'reset';
    this.returnConnection(reason);
  }

  /** Hands the current connection back (to be kept or destroyed) and forgets it. */
  private returnConnection(reason: DbDestroyReason | null): void {
    const conn = this.conn!;
    this.conn = undefined;
    this.acquiring = undefined;
    this.destroyReason = null;
    this.inTx = false;
    this.dirty = false;
    this.endLeakWatch();
    this.pool.giveBack(conn, reason);
  }

  private watchForLeak(stack: string): void {
    const ms = this.pool.options.leakDetectionThreshold;
    const leak = { stack, since: Date.now(), reported: false, timer: undefined! as NodeJS.Timeout };
    leak.timer = setTimeout(() => {
      leak.reported = true;
      this.pool.counters.leaks++;
      this.pool.logger.warn(LEAK_SUSPECTED(this.pool.name, this.label(), ms, stack));
    }, ms).unref();
    this.leak = leak;
  }

  private endLeakWatch(): void {
    const leak = this.leak;
    if (!leak) return;
    this.leak = undefined;
    clearTimeout(leak.timer);
    if (leak.reported) {
      this.pool.logger.log(LEAK_ENDED(this.pool.name, this.label(), Date.now() - leak.since));
    }
  }

  private label(): string {
    return this.owner?.describe?.() ?? 'DbPool.withConnection()';
  }

  private releasedError(): DbConnectionReleasedError {
    return new DbConnectionReleasedError(CONNECTION_RELEASED(this.pool.name));
  }
}

/** The stack of whoever asked for the connection, without this package's own frames. */
function callerStack(): string {
  const lines = (new Error().stack ?? '').split('\n').slice(1);
  return lines.filter((l) => !/[/\\](db-lease|connection)\.[jt]s:/.test(l)).join('\n');
}

type DriverCallback = (err: unknown, rows: unknown, fields: unknown) => void;
interface DriverCalls {
  query(sql: string | QueryOptions, values: QueryValues | undefined, cb: DriverCallback): void;
  execute(sql: string | QueryOptions, values: QueryValues | undefined, cb: DriverCallback): void;
}
