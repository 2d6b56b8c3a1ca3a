import { AsyncLocalStorage } from 'node:async_hooks';
import type { DbLeaseSet } from './db-lease-set.js';

// The one AsyncLocalStorage of this package: it carries the current unit of work (an HTTP request,
// a message, a @WithConnection() call) through every await of its call tree. It is kept on
// globalThis under a registered symbol so that a CommonJS and an ESM copy of this package loaded
// in one process share it; otherwise a context opened by one copy would be invisible to the other.
const KEY = Symbol.for('nestjs-mysql-connection.context');
const holder = globalThis as { [KEY]?: AsyncLocalStorage<DbLeaseSet> };
const storage = (holder[KEY] ??= new AsyncLocalStorage<DbLeaseSet>());

/** The unit of work the caller runs in, if any. @internal */
export function currentUnit(): DbLeaseSet | undefined {
  return storage.getStore();
}

/** Runs `fn` (and everything it awaits) as unit of work `unit`. @internal */
export function runInUnit<R>(unit: DbLeaseSet, fn: () => R): R {
  return storage.run(unit, fn);
}
