import { DbError } from './db.error.js';

/**
 * A read was routed to the replicas, none of them is usable (down, lagging or not replicating) and
 * `replicaFallback` is `'fail'`. Answered as HTTP 503.
 * @publicApi
 */
export class DbReplicaUnavailableError extends DbError {
  constructor(
    message: string,
    /** The (primary) connection's name. */
    readonly pool: string,
  ) {
    super('DB_REPLICA_UNAVAILABLE', message);
    this.answerWith(503);
  }
}
