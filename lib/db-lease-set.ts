import type { DbLease, LeaseOwner } from './db-lease.js';
import type { DbPool } from './db-pool.js';
import type { UnitTransaction } from './db-transaction.js';

/**
 * The leases of one unit of work (an HTTP request, a message, a context): every named connection
 * the work touched. `releaseAll()` ends the set: later first queries are refused. @internal
 */
export class DbLeaseSet implements LeaseOwner {
  /** Set by `runUnit()` while a `@Transactional()` unit of work runs; its leases begin it lazily. */
  transaction: UnitTransaction | undefined;
  /** Set by `@ReadOnly()`: the unit's reads go to a replica (when its pools have replicas). */
  readOnly = false;

  private leases: DbLease[] | undefined;
  private ended = false;
  /** Context scope: the unit's lease of each pool, made on first use (one pool is the norm). */
  private firstPool: DbPool | undefined;
  private firstLease: DbLease | undefined;
  private otherLeases: Map<DbPool, DbLease> | undefined;

  /**
   * @param onFirstAttach runs once, when the first lease takes a connection (lazy hooks).
   * @param label names the unit of work in leak reports (`GET /orders/:id`).
   */
  constructor(
    private readonly onFirstAttach?: (set: DbLeaseSet) => void,
    private readonly label?: () => string,
  ) {}

  describe(): string {
    return this.label?.() ?? 'a unit of work';
  }

  attach(lease: DbLease): boolean {
    if (this.ended) return false;
    if (this.leases) {
      this.leases.push(lease);
    } else {
      this.leases = [lease];
      this.onFirstAttach?.(this);
    }
    return true;
  }

  /** The leases that have taken a connection, in order. */
  get attached(): readonly DbLease[] {
    return this.leases ?? [];
  }

  /** True once `releaseAll()` was called. */
  get released(): boolean {
    return this.ended;
  }

  /** The unit's lease of `pool` (context scope), created on first use; takes no connection yet. */
  leaseFor(pool: DbPool): DbLease {
    if (this.firstPool === pool) return this.firstLease!;
    let lease = this.otherLeases?.get(pool);
    if (lease) return lease;
    lease = pool.createLease();
    lease.owner = this;
    if (this.firstPool === undefined) {
      this.firstPool = pool;
      this.firstLease = lease;
    } else {
      (this.otherLeases ??= new Map()).set(pool, lease);
    }
    return lease;
  }

  /** Releases every lease (idempotent). Resolves when all are back in their pools. */
  releaseAll(): Promise<void> {
    this.ended = true;
    const leases = this.leases;
    if (!leases) return Promise.resolve();
    if (leases.length === 1) return leases[0].release();
    return Promise.all(leases.map((l) => l.release())).then(() => undefined);
  }
}
