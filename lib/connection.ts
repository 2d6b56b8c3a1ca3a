import type { FieldPacket, QueryOptions, QueryResult, QueryValues } from 'mysql2';
import type { DbLease } from './db-lease.js';

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

  /** `START TRANSACTION`. A transaction still open when the request ends is rolled back. */
  abstract beginTransaction(): Promise<void>;

  /** `COMMIT`. */
  abstract commit(): Promise<void>;

  /** `ROLLBACK`. */
  abstract rollback(): Promise<void>;
}

/** A `Connection` bound to one lease (REQUEST scope, `withConnection`). @internal */
export class LeaseConnection extends Connection {
  constructor(private readonly lease: DbLease) {
    super();
  }

  get threadId(): number | null {
    return this.lease.threadId;
  }

  query<T extends QueryReturn = QueryReturn>(...args: QueryArgs): Promise<[T, FieldPacket[]]> {
    return this.lease.run<T>(false, args[0], args[1]);
  }

  execute<T extends QueryReturn = QueryReturn>(...args: QueryArgs): Promise<[T, FieldPacket[]]> {
    return this.lease.run<T>(true, args[0], args[1]);
  }

  async beginTransaction(): Promise<void> {
    await this.lease.run(false, 'START TRANSACTION');
  }

  async commit(): Promise<void> {
    await this.lease.run(false, 'COMMIT');
  }

  async rollback(): Promise<void> {
    await this.lease.run(false, 'ROLLBACK');
  }
}
