import {
  createConnection,
  type Connection as DriverConnection,
  type FieldPacket,
  type QueryOptions,
  type QueryValues,
  type RowDataPacket,
} from 'mysql2';
import {
  INVALID_OPTION,
  REPLICA_BACK,
  REPLICA_LAGGING,
  REPLICA_LEFT,
  REPLICA_NO_STATUS,
  REPLICA_UNAVAILABLE,
  SIZING_WARNING,
} from './db.messages.js';
import { reasonOf } from './db-errors.js';
import type { DbLease } from './db-lease.js';
import type { DbPool } from './db-pool.js';
import { DbConfigError, DbReplicaUnavailableError } from './errors/index.js';
import type {
  DbModuleOptions,
  DbReplicaFallback,
  DbReplicaSelector,
  DbReplicaTarget,
} from './interfaces/index.js';

/** Defaults of the replica options. @internal */
export const REPLICA_DEFAULTS = {
  replicaSelector: 'round-robin',
  replicaFallback: 'primary',
  replicaCheckInterval: 5_000,
  expectedInstances: 1,
} as const;

/** The sizing warning keeps this share of a server's `max_connections` free (admins, replication). */
export const SIZING_HEADROOM_PERCENT = 10;

/** Replica options after defaults and validation. @internal */
export interface ResolvedReplication {
  replicas: DbReplicaTarget[];
  selector: DbReplicaSelector;
  maxLag: number | undefined;
  fallback: DbReplicaFallback;
  checkInterval: number;
}

/** The option keys of replication, which mysql2 must not see. @internal */
export const REPLICA_OPTION_KEYS = [
  'replicas',
  'replicaSelector',
  'maxReplicationLag',
  'replicaFallback',
  'replicaCheckInterval',
  'expectedInstances',
] as const;

/** Validates the replica options; undefined when no replica is configured. @internal */
export function resolveReplication(input: DbModuleOptions): ResolvedReplication | undefined {
  const {
    replicas = [],
    replicaSelector = REPLICA_DEFAULTS.replicaSelector,
    maxReplicationLag,
    replicaFallback = REPLICA_DEFAULTS.replicaFallback,
    replicaCheckInterval = REPLICA_DEFAULTS.replicaCheckInterval,
  } = input;
  if (!Array.isArray(replicas) || replicas.some((r) => r == null || typeof r !== 'object')) {
    throw new DbConfigError(
      INVALID_OPTION('replicas', '(hidden)', 'an array of { uri } or { host, port, ... } objects'),
    );
  }
  if (!['round-robin', 'random', 'least-busy'].includes(replicaSelector)) {
    throw new DbConfigError(
      INVALID_OPTION('replicaSelector', replicaSelector, `'round-robin', 'random' or 'least-busy'`),
    );
  }
  if (replicaFallback !== 'primary' && replicaFallback !== 'fail') {
    throw new DbConfigError(
      INVALID_OPTION('replicaFallback', replicaFallback, `'primary' or 'fail'`),
    );
  }
  if (
    maxReplicationLag !== undefined &&
    (typeof maxReplicationLag !== 'number' || !(maxReplicationLag >= 0))
  ) {
    throw new DbConfigError(
      INVALID_OPTION('maxReplicationLag', maxReplicationLag, 'a number of seconds >= 0'),
    );
  }
  if (typeof replicaCheckInterval !== 'number' || !(replicaCheckInterval >= 100)) {
    throw new DbConfigError(
      INVALID_OPTION(
        'replicaCheckInterval',
        replicaCheckInterval,
        'a number of milliseconds >= 100',
      ),
    );
  }
  if (replicas.length === 0) return undefined;
  return {
    replicas,
    selector: replicaSelector,
    maxLag: maxReplicationLag,
    fallback: replicaFallback,
    checkInterval: replicaCheckInterval,
  };
}

/** What is known of one replica (reported by `DbPool.replicaStatus()`). */
interface ReplicaNode {
  readonly pool: DbPool;
  /** Why it is out of rotation; null while it is in. */
  out: string | null;
  /** Last `Seconds_Behind_Master` seen (null: not replicating or not checked). */
  lag: number | null;
  checking: boolean;
  /** `@@max_connections` was read (once, for the sizing warning). */
  sized: boolean;
}

/** One replica as `DbPool.replicaStatus()` reports it. @publicApi */
export interface DbReplicaStatus {
  /** The replica pool's name, `<name>/replica-<index>`. */
  name: string;
  /** In rotation: reachable and, with `maxReplicationLag`, not lagging. */
  usable: boolean;
  /** Why it is out of rotation, when it is. */
  reason: string | undefined;
  /** Last replication lag seen, in seconds (null: not checked or not replicating). */
  lagSeconds: number | null;
  /** Its pool's borrowed connections right now. */
  borrowed: number;
}

/**
 * The replicas of one primary pool: their pools, which are in rotation, the periodic check (lag
 * and reachability, on a short-lived connection of its own) and the choice of a replica for a
 * unit of work. @internal
 */
export class DbReplicaSet {
  private readonly nodes: ReplicaNode[];
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly primary: DbPool,
    readonly config: ResolvedReplication,
    input: DbModuleOptions,
    makePool: (options: DbModuleOptions) => DbPool,
  ) {
    // The primary's pool options, without its address, credentials or replica options.
    const shared: Record<string, unknown> = { ...input };
    for (const key of [...REPLICA_OPTION_KEYS, 'uri', 'host', 'port', 'user', 'password']) {
      delete shared[key];
    }
    delete shared.database;
    delete shared.socketPath;
    this.nodes = config.replicas.map((target, index) => ({
      pool: makePool({
        ...(shared as DbModuleOptions),
        ...target,
        name: `${primary.name}/replica-${index}`,
      }),
      out: null,
      lag: null,
      checking: false,
      sized: false,
    }));
  }

  /** The replica pools, in configuration order. */
  get pools(): DbPool[] {
    return this.nodes.map((n) => n.pool);
  }

  status(): DbReplicaStatus[] {
    return this.nodes.map((n) => ({
      name: n.pool.name,
      usable: n.out === null,
      reason: n.out ?? undefined,
      lagSeconds: n.lag,
      borrowed: n.pool.stats().borrowed,
    }));
  }

  /**
   * Checks every replica once (a replica down at start-up is only logged: reads fall back until
   * it answers), then every `replicaCheckInterval`.
   */
  async start(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.check(n)));
    if (this.closed) return;
    // unref: the check never keeps a process alive.
    this.timer = setInterval(() => {
      for (const n of this.nodes) void this.check(n);
    }, this.config.checkInterval).unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await Promise.all(this.nodes.map((n) => n.pool.close()));
  }

  /**
   * Runs one statement of `lease` (a unit of work's lease of the primary) where it belongs: on
   * the unit's replica when the unit reads from replicas and nothing pins it to the primary; on
   * the primary otherwise.
   */
  async statement<T>(
    lease: DbLease,
    reads: ReplicaReads,
    prepared: boolean,
    sql: string | QueryOptions,
    values: QueryValues | undefined,
  ): Promise<[T, FieldPacket[]]> {
    const plainRead = isPlainRead(typeof sql === 'string' ? sql : sql.sql);
    // Read-your-writes: after a write or a transaction the unit's later reads must see it, and
    // only the primary is sure to have it.
    if (!plainRead || lease.inTransaction || lease.owner?.transaction) reads.pinned = true;
    const wanted = reads.depth > 0 || lease.owner?.readOnly === true;
    if (!wanted || reads.pinned) return lease.tx.statement<T>(prepared, sql, values);
    const tried = new Set<ReplicaNode>();
    for (;;) {
      let replica = reads.lease;
      if (!replica) {
        const node = this.pick(tried);
        if (!node) {
          if (this.config.fallback === 'fail') {
            throw new DbReplicaUnavailableError(
              REPLICA_UNAVAILABLE(this.primary.name, this.nodes.length),
              this.primary.name,
            );
          }
          reads.pinned = true; // the rest of the unit reads from the primary too
          return lease.tx.statement<T>(prepared, sql, values);
        }
        replica = node.pool.createLease();
        // Released with the unit (its owner), or with the primary lease when it has none.
        replica.owner = lease.owner;
        reads.lease = replica;
        reads.node = node;
      }
      const node = reads.node!;
      try {
        const result = await replica.run<T>(prepared, sql, values);
        reads.served = true;
        return result;
      } catch (err) {
        // No connection before the unit's first read there: nothing of the unit ran on it, so
        // the read may go elsewhere. Refused or failed connects say so at once; a path that drops
        // packets (a host down, a partition) only by giving no connection within acquireTimeout
        // while the replica's pool was not even full. Either way the replica leaves rotation
        // until the periodic check reaches it again, so later units do not wait on it. A full
        // pool is load, not failure: that timeout is the caller's, as is any other failure.
        if (reads.served || reads.lease !== replica || !this.unreachable(err, node)) throw err;
        this.takeOut(node, `it cannot be reached (${reasonOf(err)})`);
        tried.add(node);
        reads.lease = undefined;
        reads.node = undefined;
        void replica.release();
      }
    }
  }

  /** Whether `err`, from a unit's first read on `node`, says the replica cannot be reached. */
  private unreachable(err: unknown, node: ReplicaNode): boolean {
    const code = (err as { code?: unknown } | null)?.code;
    if (code === 'DB_CONNECT') return true;
    if (code !== 'DB_ACQUIRE_TIMEOUT') return false;
    const { borrowed, limit } = node.pool.stats();
    return borrowed < limit;
  }

  /** The replica for a new unit of work, among those in rotation and not yet tried. */
  private pick(tried: Set<ReplicaNode>): ReplicaNode | undefined {
    const usable = this.nodes.filter((n) => n.out === null && !tried.has(n));
    if (usable.length <= 1) return usable[0];
    switch (this.config.selector) {
      case 'random':
        return usable[Math.floor(Math.random() * usable.length)];
      case 'least-busy': {
        const load = (n: ReplicaNode) => {
          const s = n.pool.stats();
          return s.borrowed + s.pending;
        };
        const start = this.next++ % usable.length; // ties go round-robin
        let best = usable[start];
        for (let i = 1; i < usable.length; i++) {
          const n = usable[(start + i) % usable.length];
          if (load(n) < load(best)) best = n;
        }
        return best;
      }
      default:
        return usable[this.next++ % usable.length];
    }
  }

  private takeOut(node: ReplicaNode, why: string): void {
    if (node.out === null) this.primary.logger.warn(REPLICA_LEFT(node.pool.name, why));
    node.out = why;
  }

  private putBack(node: ReplicaNode): void {
    if (node.out !== null) this.primary.logger.log(REPLICA_BACK(node.pool.name));
    node.out = null;
  }

  /** One check of one replica, on a connection of its own (never one a request could need). */
  private async check(node: ReplicaNode): Promise<void> {
    if (node.checking || this.closed) return;
    node.checking = true;
    const { maxLag } = this.config;
    const options = node.pool.options;
    let conn: DriverConnection | undefined;
    try {
      conn = createConnection({
        ...options.connection,
        connectTimeout: Math.min(options.acquireTimeout, this.config.checkInterval * 2, 10_000),
      });
      conn.on('error', () => undefined); // reported through the query callbacks
      if (!node.sized) {
        const [row] = await ask(conn, 'SELECT @@max_connections AS m');
        node.sized = true;
        warnIfOversized(node.pool, Number(row?.m));
      } else if (maxLag === undefined) {
        await ask(conn, 'SELECT 1');
      }
      if (maxLag === undefined) {
        node.lag = null;
        this.putBack(node);
        return;
      }
      const rows = await replicaStatus(conn);
      if (rows.length === 0) {
        node.lag = null;
        this.takeOut(node, REPLICA_NO_STATUS);
        return;
      }
      const raw = rows[0].Seconds_Behind_Master ?? rows[0].Seconds_Behind_Source;
      const lag = raw === null || raw === undefined ? null : Number(raw);
      node.lag = lag;
      if (lag === null || lag > maxLag) this.takeOut(node, REPLICA_LAGGING(lag, maxLag));
      else this.putBack(node);
    } catch (err) {
      node.lag = null;
      this.takeOut(node, `it cannot be reached (${reasonOf(err)})`);
    } finally {
      conn?.destroy();
      node.checking = false;
    }
  }
}

/**
 * A unit of work's read routing on one primary lease: inside `readOnly()`, pinned to the primary,
 * and the replica lease it reads from (one per unit: its reads see one consistent replica).
 * @internal
 */
export class ReplicaReads {
  /** `conn.readOnly(fn)` calls in progress. */
  depth = 0;
  /** The unit wrote, opened a transaction or fell back: everything stays on the primary. */
  pinned = false;
  lease: DbLease | undefined;
  node: ReplicaNode | undefined;
  /** A read has succeeded on `lease`: from then on its failures are the caller's. */
  served = false;

  constructor(readonly set: DbReplicaSet) {}

  /** Returns the replica connection (with its primary lease). */
  release(): Promise<void> {
    return this.lease?.release() ?? Promise.resolve();
  }
}

/**
 * Whether a statement only reads and leaves no state behind, so it may run on a replica:
 * SELECT, SHOW, DESCRIBE/EXPLAIN of a SELECT, or WITH … SELECT; not SELECT … FOR UPDATE / FOR
 * SHARE / LOCK IN SHARE MODE / INTO, not an assignment (`:=`), not a lock function, not several
 * statements. Anything doubtful counts as a write (it pins the unit to the primary). @internal
 */
export function isPlainRead(sql: string): boolean {
  const text = sql.replace(/\/\*[\s\S]*?\*\/|(?:--\s|#)[^\n]*/g, ' ').trim();
  if (!/^\(?\s*(select|show|with|desc|describe|explain)\b/i.test(text)) return false;
  if (/;\s*\S/.test(text)) return false;
  if (/\b(insert|update|delete|replace|call|into|lock\s+in\s+share|for\s+share)\b/i.test(text)) {
    return false;
  }
  if (
    /\bfor\s+update\b|:=|\b(get_lock|release_lock|release_all_locks|nextval|setval)\s*\(/i.test(
      text,
    )
  ) {
    return false;
  }
  return true;
}

/**
 * Warns when `connectionLimit × expectedInstances` would not fit in a server's `max_connections`
 * less `SIZING_HEADROOM_PERCENT` (kept for admins, replication threads and tools). @internal
 */
export function warnIfOversized(pool: DbPool, maxConnections: number): void {
  if (!Number.isFinite(maxConnections) || maxConnections <= 0) return;
  const { connectionLimit, expectedInstances } = pool.options;
  const budget = Math.floor(maxConnections * (1 - SIZING_HEADROOM_PERCENT / 100));
  if (connectionLimit * expectedInstances > budget) {
    pool.logger.warn(
      SIZING_WARNING(
        pool.name,
        connectionLimit,
        expectedInstances,
        maxConnections,
        SIZING_HEADROOM_PERCENT,
      ),
    );
  }
}

/** Validates `expectedInstances`. @internal */
export function resolveExpectedInstances(value: unknown): number {
  const n = value ?? REPLICA_DEFAULTS.expectedInstances;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
    throw new DbConfigError(INVALID_OPTION('expectedInstances', n, 'an integer >= 1'));
  }
  return n;
}

function ask(conn: DriverConnection, sql: string): Promise<RowDataPacket[]> {
  return new Promise((resolve, reject) => {
    conn.query<RowDataPacket[]>(sql, (err, rows) => (err ? reject(err) : resolve(rows)));
  });
}

/** `SHOW REPLICA STATUS` (MariaDB 10.5+, MySQL 8.0.22+), else the older `SHOW SLAVE STATUS`. */
async function replicaStatus(conn: DriverConnection): Promise<RowDataPacket[]> {
  try {
    return await ask(conn, 'SHOW REPLICA STATUS');
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ER_PARSE_ERROR') throw err;
    return ask(conn, 'SHOW SLAVE STATUS');
  }
}
