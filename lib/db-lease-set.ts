import type { DbLease, LeaseOwner } from './db-lease.js';

/**
 * The leases of one unit of work (an HTTP request, a message, a context): every named connection
 * the work touched. `releaseAll()` ends the set: later first queries are refused. @internal
 */
export class DbLeaseSet implements LeaseOwner {
  private leases: DbLease[] | undefined;
  private ended = false;

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

  /** Releases every lease (idempotent). Resolves when all are back in their pools. */
  releaseAll(): Promise<void> {
    this.ended = true;
    const leases = this.leases;
    if (!leases) return Promise.resolve();
    if (leases.length === 1) return leases[0].release();
    return Promise.all(leases.map((l) => l.release())).then(() => undefined);
  }
}
