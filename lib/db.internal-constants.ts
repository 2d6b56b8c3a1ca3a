/** @internal token of the resolved options of one named connection. */
export const getOptionsToken = (name: string): string => `DB:OPTIONS(${name})`;

/** @internal token under which each dynamic `DbModule` knows its own connection name. */
export const DB_MODULE_NAME = 'DB:MODULE_NAME';

/**
 * @internal property under which a request object carries its leases.
 * `Symbol.for` (not `Symbol()`): a CommonJS and an ESM copy of this package loaded in one process
 * must still find each other's leases.
 */
export const REQUEST_LEASES = Symbol.for('nestjs-mysql-connection.leases');

/** @internal the logger context of everything this package logs. */
export const LOGGER_CONTEXT = 'DbModule';
