import { SetMetadata, UseInterceptors } from '@nestjs/common';
import { TRANSACTIONAL_METADATA } from './db.internal-constants.js';
import { TX_TWO_CONNECTIONS } from './db.messages.js';
import { resolveTransactionOptions, type ResolvedTransactionOptions } from './db-transaction.js';
import { DbInterceptor } from './db.interceptor.js';
import { DbTransactionError } from './errors/index.js';
import type { TransactionalOptions } from './interfaces/index.js';

/**
 * Runs every statement of the request on a connection (default: `'default'`) in one transaction,
 * whichever service issues it: committed when the handler completes (before the response is
 * sent, so a failed commit is an error response), rolled back when the handler, a later
 * interceptor or a pipe after it throws. On a handler or a controller class; a method's
 * `@Transactional()` replaces its class's.
 *
 * Lazy like `Connection`: the transaction begins with the request's first statement on that
 * connection, so a handler that never queries opens no connection and no transaction. With
 * `retries`, a deadlock re-runs the whole handler (it must be safe to run again). Nested
 * `conn.transaction(fn)` calls become savepoints.
 *
 * Options (all optional): `isolationLevel` (server default), `readOnly` (server default),
 * `connection` (`'default'`), `retries` (`0`), `retryOnLockWaitTimeout` (`false`); invalid ones
 * throw `DbConfigError` when the class is defined. Works through `DbInterceptor`, which
 * `DbModule` registers globally; it is also attached here, so `registerInterceptor: false` does
 * not turn transactions off.
 * @publicApi
 */
export function Transactional(options?: TransactionalOptions): ClassDecorator & MethodDecorator {
  const resolved = resolveTransactionOptions(options, '@Transactional()');
  const setMetadata = SetMetadata(TRANSACTIONAL_METADATA, resolved);
  const useInterceptor = UseInterceptors(DbInterceptor);
  return (target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (descriptor) {
      setMetadata(target, key!, descriptor);
      useInterceptor(target, key!, descriptor);
      return;
    }
    // Class decorators run after method decorators: a conflict is found when the class is defined.
    checkMethods(target as ControllerClass, resolved);
    setMetadata(target as ControllerClass);
    useInterceptor(target as ControllerClass);
  };
}

/**
 * The transaction a handler runs in: the method's `@Transactional()` options, else its class's.
 * Throws `DbTransactionError` when both exist and name different connections. @internal
 */
export function transactionalOf(
  onClass: ResolvedTransactionOptions | undefined,
  onMethod: ResolvedTransactionOptions | undefined,
  route: string,
): ResolvedTransactionOptions | undefined {
  if (onClass && onMethod && onClass.connection !== onMethod.connection) {
    throw new DbTransactionError(
      TX_TWO_CONNECTIONS(route, onClass.connection, onMethod.connection),
    );
  }
  return onMethod ?? onClass;
}

type ControllerClass = abstract new (...args: never[]) => unknown;

function checkMethods(target: ControllerClass, onClass: ResolvedTransactionOptions): void {
  const proto = target.prototype as Record<string, unknown>;
  for (const key of Object.getOwnPropertyNames(proto)) {
    const method = Object.getOwnPropertyDescriptor(proto, key)?.value;
    if (typeof method !== 'function' || key === 'constructor') continue;
    const onMethod = Reflect.getMetadata(TRANSACTIONAL_METADATA, method) as
      ResolvedTransactionOptions | undefined;
    transactionalOf(onClass, onMethod, `${target.name}.${key}`);
  }
}
