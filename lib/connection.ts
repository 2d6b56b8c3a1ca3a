import type { FieldPacket, QueryOptions, QueryResult, QueryValues } from 'mysql2';
import type { DbLease } from './db-lease.js';
import type { TransactionOptions } from './interfaces/index.js';

/** What `query()`/`execute()` may resolve to, as in `mysql2/promise`. @publicApi */
export type QueryReturn = QueryResult;

/** Arguments of `query()`/`execute()`: SQL (or mysql2 query options) and placeholder values. @publicApi */
export type QueryArgs = [sql: string | QueryOptions, values?: QueryValues];

/**
 * The current request's database connection, and the token to inject it:
 * `constructor(private readonly conn: Connection)` for the default connection,
 * `@InjectConnection('name') conn: Connection` for a named one.
 *
 * Lazy: a server connection is taken from the pool on the first statement, kept for the rest
 * of the request (every statement of one request runs on one server connection) and returned,
 * clean, when the request ends. Methods mirror `mysql2/promise`.
 * @publicApi
 */
export abstract class Connection {
  /** The server's id of the connection (`CONNECTION_ID()`) once one is taken; `null` before. */
  abstract get threadId(): number | null;

  /** Runs a text-protocol statement; resolves to `[rows, fields]`. */
  abstract query<T extends QueryReturn = QueryReturn>(
    ...args: QueryArgs
  ): Promise<[T, FieldPacket[]]>;

  /** Runs a prepared statement (binary protocol); resolves to `[rows, fields]`. */
  abstract execute<T extends QueryReturn = QueryReturn>(
    ...args: QueryArgs
  ): Promise<[T, FieldPacket[]]>;

  /**
   * Runs `fn` in a transaction and resolves to its result: `START TRANSACTION` first, `COMMIT`
   * when `fn` resolves, `ROLLBACK` (and `fn`'s error rethrown) when it rejects.
   *
   * Called inside another transaction (a `@Transactional()` handler, an outer `transaction()`, or
   * one begun with `beginTransaction()`) it runs as a `SAVEPOINT` instead: if `fn` rejects, only
   * its own work is undone and the outer transaction goes on if the caller catches the error. A
   * nested call cannot change `isolationLevel` or `readOnly`, and only the outermost transaction
   * retries (a deadlock rolls back everything, savepoints included).
   *
   * `fn` receives this same connection. Statements must be awaited inside `fn`; do not run two
   * `transaction()` calls concurrently on one connection.
   * @throws DbDeadlockError after a deadlock the `retries` (default 0) did not cure
   * @throws DbConfigError for invalid options, DbTransactionError for a nested call that conflicts
   */
  abstract transaction<T>(
    fn: (conn: Connection) => Promise<T>,
    options?: TransactionOptions,
  ): Promise<T>;

  /**
   * `START TRANSACTION`. A transaction still open when the request ends is rolled back (and a
   * warning logged). Refused with `DbTransactionError` inside `transaction()` or `@Transactional()`.
   */
  abstract beginTransaction(): Promise<void>;

  /**
   * `COMMIT`. Refused with `DbTransactionError` when no transaction is open (nothing begun, already
   * ended, or rolled back by the server after a deadlock) and inside `transaction()` or
   * `@Transactional()`, which commit for you.
   */
  abstract commit(): Promise<void>;

  /** `ROLLBACK`. Refused inside `transaction()` or `@Transactional()`: throw an error instead. */
  abstract rollback(): Promise<void>;

  /**
   * Runs `fn` with this connection's reads (SELECT, SHOW, WITH … SELECT) sent to a read replica,
   * as in a `@ReadOnly()` handler; resolves to `fn`'s result. Without `replicas` configured it
   * just runs `fn`. Reads stay on the primary once the unit of work has written or opened a
   * transaction there (read-your-writes); writes always go to the primary.
   */
  abstract readOnly<T>(fn: (conn: Connection) => Promise<T>): Promise<T>;
}

/**
 * A `Connection` that runs on a lease: a fixed one (REQUEST scope, `withConnection`), or, in a
 * subclass, the current unit of work's (context scope). @internal
 */
export class LeaseConnection extends Connection {
  constructor(private readonly bound?: DbLease) {
    super();
  }

  get threadId(): number | null {
    return this.lease.threadId;
  }

  /** The lease statements run on. */
  protected get lease(): DbLease {
    return this.bound!;
  }

  query<T extends QueryReturn = QueryReturn>(...args: QueryArgs): Promise<[T, FieldPacket[]]> {
    return this.statement<T>(false, args);
  }

  execute<T extends QueryReturn = QueryReturn>(...args: QueryArgs): Promise<[T, FieldPacket[]]> {
    return this.statement<T>(true, args);
  }

  transaction<T>(fn: (conn: Connection) => Promise<T>, options?: TransactionOptions): Promise<T> {
    const lease = this.lease;
    // Transactions run on the primary, and so does the rest of the unit (read-your-writes).
    pinToPrimary(lease);
    return lease.tx.transaction(this, fn, options);
  }

  beginTransaction(): Promise<void> {
    const lease = this.lease;
    pinToPrimary(lease);
    return lease.tx.beginTransaction();
  }

  commit(): Promise<void> {
    return this.lease.tx.commit();
  }

  rollback(): Promise<void> {
    return this.lease.tx.rollback();
  }

  // Statements go through the lease's transaction state, which begins a @Transactional()
  // unit's transaction before the first one and refuses them after a deadlock (issue 4).
  // With replicas, the unit's read routing decides where each statement runs (db-replicas.ts).
  private statement<T>(prepared: boolean, [sql, values]: QueryArgs): Promise<[T, FieldPacket[]]> {
    const lease = this.lease;
    const reads = lease.reads;
    if (reads) return reads.set.statement<T>(lease, reads, prepared, sql, values);
    return lease.tx.statement<T>(prepared, sql, values);
  }

  async readOnly<T>(fn: (conn: Connection) => Promise<T>): Promise<T> {
    const reads = this.lease.reads;
    if (!reads) return fn(this);
    reads.depth++;
    try {
      return await fn(this);
    } finally {
      reads.depth--;
    }
  }
}

/** With replicas: the rest of the lease's unit of work reads from the primary. */
function pinToPrimary(lease: DbLease): void {
  const reads = lease.reads;
  if (reads) reads.pinned = true;
}
