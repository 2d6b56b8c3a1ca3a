/** @internal token of the resolved options of one named connection. */
export const getOptionsToken = (name: string): string => `DB:OPTIONS(${name})`;

/** @internal token under which each dynamic `DbModule` knows its own name and scope. */
export const DB_MODULE_CONFIG = 'DB:MODULE_CONFIG';

/** @internal what a dynamic `DbModule` knows before its options are resolved. */
export interface DbModuleConfig {
  name: string;
  scope: 'request' | 'context';
}

/**
 * @internal property under which a request object carries its leases.
 * `Symbol.for` (not `Symbol()`): a CommonJS and an ESM copy of this package loaded in one process
 * must still find each other's leases.
 */
export const REQUEST_LEASES = Symbol.for('nestjs-mysql-connection.leases');

/**
 * @internal property under which a raw request carries its response, on adapters whose request
 * does not link it (Fastify); `Symbol.for` for the same reason as `REQUEST_LEASES`.
 */
export const REQUEST_RESPONSE = Symbol.for('nestjs-mysql-connection.response');

/**
 * @internal metadata key under which `@InjectConnection(name)` / `@InjectPool(name)` record, on the
 * class, which named connections it asks for (checked against the registered ones at start-up).
 */
export const INJECTED_CONNECTIONS_METADATA = 'DB:INJECTED_CONNECTIONS';

/** @internal the logger context of everything this package logs. */
export const LOGGER_CONTEXT = 'DbModule';

/** @internal metadata key under which `@Transactional()` stores its (validated) options. */
export const TRANSACTIONAL_METADATA = 'DB:TRANSACTIONAL';

/** @internal metadata key under which `@ReadOnly()` marks a handler or controller. */
export const READ_ONLY_METADATA = 'DB:READ_ONLY';
