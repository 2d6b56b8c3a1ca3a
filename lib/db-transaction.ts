import type { FieldPacket, QueryOptions, QueryValues } from 'mysql2';
import type { Connection } from './connection.js';
import { DEFAULT_CONNECTION_NAME, TRANSACTION_DEFAULTS } from './db.constants.js';
import {
  INVALID_TX_OPTION,
  TX_ABORTED,
  TX_CONFLICT,
  TX_MANAGED,
  TX_NESTED_OPTION,
  TX_NOT_OPEN,
  TX_RETRY,
  TX_ROLLBACK_FAILED,
} from './db.messages.js';
import { reasonOf } from './db-errors.js';
import type { DbLease } from './db-lease.js';
import { createDbLogger, type DbLogger } from './db.logger.js';
import type { DbLeaseSet } from './db-lease-set.js';
import {
  DbConfigError,
  DbDeadlockError,
  DbLockWaitTimeoutError,
  DbTransactionError,
} from './errors/index.js';
import type {
  IsolationLevel,
  TransactionalOptions,
  TransactionOptions,
} from './interfaces/index.js';

// Transactions: option checks, the retry loop, and the per-lease state machine (outermost
// transaction, savepoints, the unit of work's transaction begun lazily).

const ISOLATION_LEVELS: readonly IsolationLevel[] = [
  'READ UNCOMMITTED',
  'READ COMMITTED',
  'REPEATABLE READ',
  'SERIALIZABLE',
];

/** Transaction options after defaults and checks. @internal */
export interface ResolvedTransactionOptions {
  isolationLevel: IsolationLevel | undefined;
  readOnly: boolean | undefined;
  retries: number;
  retryOnLockWaitTimeout: boolean;
  /** The connection's name (`@Transactional()` only; `transaction()` runs where it is called). */
  connection: string;
}

type Where = '@Transactional()' | 'transaction()';

/**
 * Applies defaults and checks `input`; throws `DbConfigError` naming the option. Unknown keys are
 * refused too: a misspelt `isolation` would otherwise silently run at the default level.
 * @internal
 */
export function resolveTransactionOptions(
  input: TransactionalOptions | undefined,
  where: Where,
): ResolvedTransactionOptions {
  const bad = (option: string, got: unknown, expected: string) =>
    new DbConfigError(INVALID_TX_OPTION(where, option, got, expected));
  if (input === undefined) input = {};
  if (input === null || typeof input !== 'object') throw bad('options', input, 'an object');
  const known = ['isolationLevel', 'readOnly', 'retries', 'retryOnLockWaitTimeout'];
  if (where === '@Transactional()') known.push('connection');
  for (const key of Object.keys(input)) {
    if (!known.includes(key)) throw bad(key, '(unknown option)', `one of ${known.join(', ')}`);
  }
  const {
    isolationLevel,
    readOnly,
    retries = TRANSACTION_DEFAULTS.retries,
    retryOnLockWaitTimeout = TRANSACTION_DEFAULTS.retryOnLockWaitTimeout,
    connection = DEFAULT_CONNECTION_NAME,
  } = input;
  // Interpolated into SQL: only the four spellings the server knows get through.
  if (isolationLevel !== undefined && !ISOLATION_LEVELS.includes(isolationLevel)) {
    throw bad('isolationLevel', isolationLevel, `one of ${ISOLATION_LEVELS.join(', ')}`);
  }
  if (readOnly !== undefined && typeof readOnly !== 'boolean') {
    throw bad('readOnly', readOnly, 'true or false');
  }
  if (typeof retries !== 'number' || !Number.isInteger(retries) || retries < 0) {
    throw bad('retries', retries, 'an integer >= 0');
  }
  if (typeof retryOnLockWaitTimeout !== 'boolean') {
    throw bad('retryOnLockWaitTimeout', retryOnLockWaitTimeout, 'true or false');
  }
  if (typeof connection !== 'string' || connection.length === 0) {
    throw bad('connection', connection, 'a connection name (a non-empty string)');
  }
  return { isolationLevel, readOnly, retries, retryOnLockWaitTimeout, connection };
}

/** The lock conflicts a retry can cure. */
export type LockConflict = 'deadlock' | 'lock wait timeout';

/**
 * Which lock conflict `err` is, if any. Only the driver's own errors count (`ER_...` codes): a
 * `DbDeadlockError` is a transaction that already used its retries, and retrying an outer unit
 * around it would multiply them. @internal
 */
export function lockConflictOf(err: unknown): LockConflict | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ER_LOCK_DEADLOCK') return 'deadlock';
  if (code === 'ER_LOCK_WAIT_TIMEOUT') return 'lock wait timeout';
  return undefined;
}

/**
 * Pause before attempt `attempt + 1`, after `attempt` failed: "equal jitter" over an exponential
 * cap, so the two sides of a deadlock do not collide again in lockstep. @internal
 */
export function retryDelay(attempt: number, random: () => number = Math.random): number {
  const { retryDelayBase, retryDelayMax } = TRANSACTION_DEFAULTS;
  const cap = Math.min(retryDelayMax, retryDelayBase * 2 ** (attempt - 1));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

/**
 * Runs `attempt` until it succeeds, fails with something other than a retryable lock conflict, or
 * has used `retries`. Each attempt must roll its own transaction back before it rejects. A lock
 * conflict that is given up on becomes `DbDeadlockError` / `DbLockWaitTimeoutError`. @internal
 */
export async function withRetries<T>(
  pool: string,
  options: ResolvedTransactionOptions,
  attempt: () => Promise<T>,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  logger: () => DbLogger = createDbLogger,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      const conflict = lockConflictOf(err);
      if (!conflict) throw err;
      const retryable = conflict === 'deadlock' || options.retryOnLockWaitTimeout;
      if (!retryable || n > options.retries) throw giveUp(err, pool, conflict, n);
      const ms = retryDelay(n);
      logger().debug(TX_RETRY(pool, conflict, n, options.retries + 1, ms));
      await sleep(ms);
    }
  }
}

function giveUp(err: unknown, pool: string, conflict: LockConflict, attempts: number): Error {
  const message = TX_CONFLICT(pool, conflict, attempts, reasonOf(err));
  return conflict === 'deadlock'
    ? new DbDeadlockError(message, pool, attempts, { cause: err })
    : new DbLockWaitTimeoutError(message, pool, attempts, { cause: err });
}

/**
 * One attempt of a unit of work's transaction (`@Transactional()` on an HTTP handler), recorded on
 * the unit's `DbLeaseSet`. The lease of `pool` begins it before its next statement, so a handler
 * that never queries opens neither a connection nor a transaction. A retry records a new object,
 * which is how a lease knows it must begin again. @internal
 */
export interface UnitTransaction {
  readonly pool: string;
  readonly options: ResolvedTransactionOptions;
}

/**
 * Runs a unit of work in a transaction on every lease of `options.connection` in `set`: committed
 * when `attempt` resolves (and before its result is handed on, so a failed commit is an error),
 * rolled back when it rejects, the whole unit run again on a deadlock if `retries` allow.
 * @internal
 */
export async function runUnit<T>(
  set: DbLeaseSet,
  options: ResolvedTransactionOptions,
  attempt: () => Promise<T>,
): Promise<T> {
  try {
    // The logger of the connection the unit runs on (silent with `logger: false`).
    const logger = () =>
      set.attached.find((lease) => lease.poolName === options.connection)?.logger ??
      createDbLogger();
    return await withRetries(
      options.connection,
      options,
      async () => {
        const unit: UnitTransaction = { pool: options.connection, options };
        set.transaction = unit;
        let result: T;
        try {
          result = await attempt();
          await Promise.all(set.attached.map((lease) => lease.tx.endUnit(unit, true)));
        } catch (err) {
          await Promise.all(set.attached.map((lease) => lease.tx.endUnit(unit, false)));
          throw err;
        }
        return result;
      },
      undefined,
      logger,
    );
  } finally {
    set.transaction = undefined;
  }
}

const SERVER_DEFAULT = "the server's default";

/**
 * What this package has opened on one lease's connection: the outermost transaction (a unit's or
 * a `transaction()` block's), its savepoints, and whether the server has already rolled it back.
 * Every statement of a `Connection` goes through `statement()`. @internal
 */
export class LeaseTransaction {
  /** 0: nothing of ours open; 1: the outermost transaction; each savepoint adds 1. */
  private depth = 0;
  private outer: ResolvedTransactionOptions | undefined;
  /** The unit attempt whose transaction this lease began (see `UnitTransaction`). */
  private unit: UnitTransaction | undefined;
  /**
   * The deadlock error after which the server rolled the whole transaction back. Statements sent
   * after it would run outside any transaction (autocommit), so inside ours they are refused.
   */
  private aborted: unknown;
  private savepoints = 0;
  private opening: Promise<void> | undefined;
  private reported = false;

  constructor(private readonly lease: DbLease) {}

  /** Runs a statement of the borrower, first beginning the unit's transaction if one is due. */
  statement<T>(
    prepared: boolean,
    sql: string | QueryOptions,
    values?: QueryValues,
  ): Promise<[T, FieldPacket[]]> {
    const ready = this.ready();
    return ready
      ? ready.then(() => this.exec<T>(prepared, sql, values))
      : this.exec<T>(prepared, sql, values);
  }

  /** `conn.transaction(fn, options)`. */
  async transaction<T>(
    conn: Connection,
    fn: (conn: Connection) => Promise<T>,
    input: TransactionOptions | undefined,
  ): Promise<T> {
    const options = resolveTransactionOptions(input, 'transaction()');
    const ready = this.ready();
    if (ready) await ready;
    // Inside @Transactional(), an outer transaction() or a beginTransaction(): a savepoint.
    if (this.depth > 0 || this.lease.inTransaction) return this.savepoint(conn, fn, options);
    const logger = () => this.lease.logger;
    return withRetries(
      this.lease.poolName,
      options,
      async () => {
        await this.begin(options);
        let result: T;
        try {
          result = await fn(conn);
          await this.commitOuter();
        } catch (err) {
          await this.rollbackOuter();
          throw err;
        }
        return result;
      },
      undefined,
      logger,
    );
  }

  async beginTransaction(): Promise<void> {
    this.refuseIfManaged('beginTransaction()');
    await this.statement(false, 'START TRANSACTION');
    this.aborted = undefined;
  }

  async commit(): Promise<void> {
    this.refuseIfManaged('commit()');
    const name = this.lease.poolName;
    if (this.aborted !== undefined) {
      throw new DbTransactionError(TX_ABORTED(name, reasonOf(this.aborted)), {
        cause: this.aborted,
      });
    }
    if (!this.lease.inTransaction && !(await this.autocommitOff())) {
      throw new DbTransactionError(TX_NOT_OPEN(name));
    }
    await this.statement(false, 'COMMIT');
  }

  async rollback(): Promise<void> {
    this.refuseIfManaged('rollback()');
    this.aborted = undefined;
    await this.statement(false, 'ROLLBACK');
  }

  /** Commits or rolls back `unit`'s transaction here, if this lease began it. */
  async endUnit(unit: UnitTransaction, commit: boolean): Promise<void> {
    if (this.opening) await this.opening.catch(() => undefined);
    if (this.unit !== unit || this.depth === 0) return;
    if (commit) await this.commitOuter();
    else await this.rollbackOuter();
  }

  /**
   * True once, for a transaction the borrower began itself and left open: the request's
   * interceptor logs it (one of several interceptors may ask).
   */
  reportLeftOpen(): boolean {
    if (this.reported || !this.lease.inTransaction || this.aborted !== undefined) return false;
    return (this.reported = true);
  }

  /** Undefined when the statement may run at once: the common case costs no extra await. */
  private ready(): Promise<void> | undefined {
    if (this.opening) return this.opening;
    const unit = this.dueUnit();
    if (unit) {
      const opening = this.begin(unit.options).then(() => {
        this.unit = unit;
      });
      return (this.opening = opening.finally(() => (this.opening = undefined)));
    }
    if (this.depth > 0 && this.aborted !== undefined) return Promise.reject(this.aborted);
    return undefined;
  }

  /** The unit transaction this lease must begin before its next statement, if any. */
  private dueUnit(): UnitTransaction | undefined {
    const unit = this.lease.owner?.transaction;
    return unit && unit !== this.unit && unit.pool === this.lease.poolName ? unit : undefined;
  }

  private async exec<T>(
    prepared: boolean,
    sql: string | QueryOptions,
    values?: QueryValues,
  ): Promise<[T, FieldPacket[]]> {
    try {
      return await this.lease.run<T>(prepared, sql, values);
    } catch (err) {
      // InnoDB answers a deadlock by rolling the whole transaction back, savepoints included.
      if (lockConflictOf(err) === 'deadlock') this.aborted = err;
      throw err;
    }
  }

  private async begin(options: ResolvedTransactionOptions): Promise<void> {
    // Without SESSION or GLOBAL, SET TRANSACTION applies to the next transaction only.
    if (options.isolationLevel) {
      await this.exec(false, `SET TRANSACTION ISOLATION LEVEL ${options.isolationLevel}`);
    }
    const mode =
      options.readOnly === undefined ? '' : options.readOnly ? ' READ ONLY' : ' READ WRITE';
    await this.exec(false, `START TRANSACTION${mode}`);
    this.depth = 1;
    this.outer = options;
    this.aborted = undefined;
    this.savepoints = 0;
  }

  private async commitOuter(): Promise<void> {
    // COMMIT after a deadlock would "succeed" and keep nothing: fail like the deadlock did.
    if (this.aborted !== undefined) throw this.aborted;
    await this.exec(false, 'COMMIT');
    this.depth = 0;
    this.outer = undefined;
  }

  private async rollbackOuter(): Promise<void> {
    try {
      await this.exec(false, 'ROLLBACK');
    } catch (err) {
      // The original error is the one worth reporting; a released or broken connection is reset
      // or destroyed on its way back to the pool, which ends the transaction anyway.
      const code = (err as { code?: unknown } | null)?.code;
      if (code !== 'DB_CONNECTION_RELEASED') {
        this.lease.logger.warn(TX_ROLLBACK_FAILED(this.lease.poolName, reasonOf(err)));
      }
    } finally {
      this.depth = 0;
      this.outer = undefined;
      this.aborted = undefined;
    }
  }

  private async savepoint<T>(
    conn: Connection,
    fn: (conn: Connection) => Promise<T>,
    options: ResolvedTransactionOptions,
  ): Promise<T> {
    this.checkNested(options);
    // Unique names, not depth-based ones: a second SAVEPOINT with a name in use replaces it.
    const name = `nmc_sp_${++this.savepoints}`;
    await this.exec(false, `SAVEPOINT ${name}`);
    this.depth++;
    try {
      const result = await fn(conn);
      // A deadlock caught inside fn still rolled everything back: the outer unit must know.
      if (this.aborted !== undefined) throw this.aborted;
      await this.exec(false, `RELEASE SAVEPOINT ${name}`);
      return result;
    } catch (err) {
      if (this.aborted === undefined) {
        try {
          await this.exec(false, `ROLLBACK TO SAVEPOINT ${name}`);
        } catch (undo) {
          // The outer transaction now holds an unknown part of fn's work: never commit it.
          this.aborted = undo;
        }
      }
      throw err;
    } finally {
      this.depth--;
    }
  }

  private checkNested(options: ResolvedTransactionOptions): void {
    const name = this.lease.poolName;
    const outerLevel = this.outer?.isolationLevel;
    if (options.isolationLevel !== undefined && options.isolationLevel !== outerLevel) {
      throw new DbTransactionError(
        TX_NESTED_OPTION(
          name,
          'isolationLevel',
          outerLevel ?? SERVER_DEFAULT,
          `"${options.isolationLevel}"`,
        ),
      );
    }
    const outerReadOnly = this.outer?.readOnly ?? false;
    if (options.readOnly !== undefined && options.readOnly !== outerReadOnly) {
      throw new DbTransactionError(
        TX_NESTED_OPTION(name, 'readOnly', String(outerReadOnly), String(options.readOnly)),
      );
    }
  }

  private refuseIfManaged(call: string): void {
    if (this.depth > 0 || this.dueUnit()) {
      throw new DbTransactionError(TX_MANAGED(this.lease.poolName, call));
    }
  }

  /**
   * Whether the session runs with autocommit off, where any statement (a SELECT too, whose result
   * carries no status flags) may have opened a transaction. Asked only when the status flags say
   * none is open, and never at the cost of taking a connection.
   */
  private async autocommitOff(): Promise<boolean> {
    if (this.lease.threadId === null) return false;
    const [rows] = await this.exec<{ a: number | string }[]>(false, 'SELECT @@autocommit AS a');
    return Number(rows[0]?.a) === 0;
  }
}
