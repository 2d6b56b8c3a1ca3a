import { DEFAULT_CONNECTION_NAME } from './db.constants.js';
import { Connection } from './connection.js';
import { DbPool } from './db-pool.js';

/**
 * Injection token of a named connection's pool: the `DbPool` class for the default connection,
 * `'DB:POOL(name)'` otherwise.
 * @publicApi
 */
export function getPoolToken(name: string = DEFAULT_CONNECTION_NAME): typeof DbPool | string {
  return name === DEFAULT_CONNECTION_NAME ? DbPool : `DB:POOL(${name})`;
}

/**
 * Injection token of a named connection's request-bound `Connection`: the `Connection` class for
 * the default connection, `'DB:CONNECTION(name)'` otherwise.
 * @publicApi
 */
export function getConnectionToken(
  name: string = DEFAULT_CONNECTION_NAME,
): typeof Connection | string {
  return name === DEFAULT_CONNECTION_NAME ? Connection : `DB:CONNECTION(${name})`;
}
