import type { FieldPacket, PoolConnection, QueryOptions, QueryValues } from 'mysql2';
import { CONNECTION_RELEASED, RESET_FAILED } from './db.messages.js';
import { isFatalError, reasonOf } from './db-errors.js';
import type { DbPool } from './db-pool.js';
import { DbConnectionReleasedError } from './errors/index.js';

/**
 * Who a lease belongs to (a request, a context); told when the lease first needs a connection.
 * `attach` returns false once the owner has ended, so a late first query cannot take a
 * connection nobody would return. @internal
 */
export interface LeaseOwner {
  attach(lease: DbLease): boolean;
}

/**
 * One borrower's claim on one server connection: taken on the first statement, kept until
 * `release()`, then cleaned (or destroyed) and returned. Independent of how it is reached
 * (REQUEST scope, a context, `withConnection`). @internal
 */
export class DbLease {
  /** Set by whoever hands the lease out; consulted before the first acquire. */
  owner: LeaseOwner | undefined;

  private conn: PoolConnection | undefined;
  private acquiring: Promise<PoolConnection> | undefined;
  private releasing: Promise<void> | undefined;
  private inflight = 0;
  private onIdle: (() => void) | undefined;
  private fatal = false;
  private lastThreadId: number | null = null;

  constructor(
    private readonly pool: DbPool,
    /** Created before the pool began draining: may still acquire while it drains. */
    private readonly admitted: boolean,
  ) {}

  get threadId(): number | null {
    return this.lastThreadId;
  }

  async run<T>(
    prepared: boolean,
    sql: string | QueryOptions,
    values?: QueryValues,
  ): Promise<[T, FieldPacket[]]> {
    if (this.releasing) throw this.releasedError();
    const conn = this.conn ?? (await this.connect());
    // release() may have started while we waited for the connection.
    if (this.releasing) throw this.releasedError();
    this.inflight++;
    try {
      return await this.command<T>(conn, prepared, sql, values);
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
    return (this.releasing ??= this.finish().catch((err: unknown) => {
      this.pool.logger.error(`Pool "${this.pool.name}": release failed: ${reasonOf(err)}`);
    }));
  }

  private connect(): Promise<PoolConnection> {
    if (this.acquiring) return this.acquiring;
    if (this.owner && !this.owner.attach(this)) {
      this.releasing = Promise.resolve();
      return Promise.reject(this.releasedError());
    }
    this.acquiring = this.pool.acquire(this.admitted).then(
      (conn) => {
        this.conn = conn;
        this.lastThreadId = conn.threadId;
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
      const done = (err: unknown, rows: unknown, fields: unknown) => {
        if (err) {
          if (isFatalError(err)) this.fatal = true;
          reject(err);
        } else {
          resolve([rows as T, fields as FieldPacket[]]);
        }
      };
      // mysql2's overloads do not accept a union of both call shapes; the runtime does.
      const driver = conn as unknown as DriverCalls;
      if (prepared) driver.execute(sql, values, done);
      else driver.query(sql, values, done);
    });
  }

  private async finish(): Promise<void> {
    if (!this.conn && this.acquiring) {
      try {
        await this.acquiring;
      } catch {
        return;
      }
    }
    const conn = this.conn;
    if (!conn) return;
    if (this.inflight > 0) await new Promise<void>((resolve) => (this.onIdle = resolve));
    this.conn = undefined;
    this.pool.giveBack(conn, !this.fatal && (await this.reset(conn)));
  }

  private reset(conn: PoolConnection): Promise<boolean> {
    return new Promise((resolve) => {
      conn.reset((err: unknown) => {
        if (err) {
          this.pool.logger.warn(RESET_FAILED(this.pool.name, reasonOf(err)));
          resolve(false);
        } else {
          resolve(true);
        }
      });
    });
  }

  private releasedError(): DbConnectionReleasedError {
    return new DbConnectionReleasedError(CONNECTION_RELEASED(this.pool.name));
  }
}

type DriverCallback = (err: unknown, rows: unknown, fields: unknown) => void;
interface DriverCalls {
  query(sql: string | QueryOptions, values: QueryValues | undefined, cb: DriverCallback): void;
  execute(sql: string | QueryOptions, values: QueryValues | undefined, cb: DriverCallback): void;
}
