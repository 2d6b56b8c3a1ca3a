import { LeaseConnection } from './connection.js';
import { currentUnit } from './db-context.js';
import type { DbLease } from './db-lease.js';
import { NO_CONTEXT } from './db.messages.js';
import type { DbPool } from './db-pool.js';
import { DbNoContextError } from './errors/index.js';

/**
 * `Connection` in context scope: one singleton whose methods act on the connection of the unit
 * of work they are called from (found through AsyncLocalStorage), so injecting it makes nobody
 * request-scoped. Same guarantees as REQUEST scope: lazy, one connection per unit of work,
 * returned when the unit ends. @internal
 */
export class ContextConnection extends LeaseConnection {
  constructor(private readonly pool: DbPool) {
    super();
  }

  override get threadId(): number | null {
    return currentUnit()?.leaseFor(this.pool).threadId ?? null;
  }

  protected override get lease(): DbLease {
    const unit = currentUnit();
    if (!unit) throw new DbNoContextError(NO_CONTEXT(this.pool.name));
    return unit.leaseFor(this.pool);
  }
}
