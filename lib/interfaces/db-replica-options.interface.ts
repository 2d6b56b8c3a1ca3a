import type { ConnectionOptions } from 'mysql2';

/**
 * One read replica: a `uri`, or `host`/`port`/`user`/`password`/`database` (and any other mysql2
 * connection option it needs on its own, e.g. `ssl`). The pool hardening options (limits,
 * timeouts, lifetime, validation, clean-up) are the primary's.
 * @publicApi
 */
export type DbReplicaTarget = Pick<
  ConnectionOptions,
  'uri' | 'host' | 'port' | 'user' | 'password' | 'database' | 'socketPath' | 'ssl'
>;

/**
 * How a read picks among the replicas in rotation:
 * - `'round-robin'`: each unit of work takes the next one;
 * - `'random'`: a random one;
 * - `'least-busy'`: the one with the fewest borrowed plus waiting connections.
 * @publicApi
 */
export type DbReplicaSelector = 'round-robin' | 'random' | 'least-busy';

/** Where reads go when no replica is usable (down or lagging). @publicApi */
export type DbReplicaFallback = 'primary' | 'fail';

/**
 * Read replicas of one named connection. Nothing here changes anything unless `replicas` is set.
 * @publicApi
 */
export interface DbReplicaOptions {
  /**
   * Read replicas of this (primary) server. Each gets a pool of its own, named
   * `<name>/replica-<index>`, with the primary's pool options. Reads of a `@ReadOnly()` handler
   * or of `conn.readOnly(fn)` go to one of them; everything else stays on the primary.
   * @default [] (no replicas)
   */
  replicas?: DbReplicaTarget[];
  /**
   * How a unit of work picks its replica.
   * @default 'round-robin'
   */
  replicaSelector?: DbReplicaSelector;
  /**
   * Most replication lag (seconds, `Seconds_Behind_Master`) a replica may report and stay in
   * rotation; a replica not replicating (the value is NULL) is out too. Checked every
   * `replicaCheckInterval` on a short-lived connection of its own; the user needs the
   * `REPLICA MONITOR` privilege (MariaDB 10.5+) or `REPLICATION CLIENT` (MySQL).
   * @default undefined (lag is not checked)
   */
  maxReplicationLag?: number;
  /**
   * When no replica is usable: `'primary'` reads from the primary, `'fail'` answers
   * `DbReplicaUnavailableError` (HTTP 503).
   * @default 'primary'
   */
  replicaFallback?: DbReplicaFallback;
  /**
   * How often (ms) each replica is checked: reachable again, lag within `maxReplicationLag`.
   * @default 5000
   */
  replicaCheckInterval?: number;
  /**
   * How many instances of the application share these servers. At start-up the pool warns when
   * `connectionLimit × expectedInstances` exceeds a server's `max_connections` minus 10 %.
   * @default 1
   */
  expectedInstances?: number;
}
