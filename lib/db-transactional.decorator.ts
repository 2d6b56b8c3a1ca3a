import { SetMetadata } from '@nestjs/common';
import { TRANSACTIONAL_METADATA } from './db.internal-constants.js';
import { TX_TWO_CONNECTIONS } from './db.messages.js';
import { resolveTransactionOptions, type ResolvedTransactionOptions } from './db-transaction.js';
import { DbInterceptor } from './db.interceptor.js';
import { useInterceptor } from './db-use-interceptor.js';
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
 * `DbModule` registers globally in request scope; it is also attached here, first among the
 * handler's (or class's) own interceptors, so context scope and `registerInterceptor: false` keep
 * transactions, and errors of the interceptors after it still roll back.
 * @publicApi
 */
export function Transactional(options?: TransactionalOptions): ClassDecorator & MethodDecorator {
  const resolved = resolveTransactionOptions(options, '@Transactional()');
  const setMetadata = SetMetadata(TRANSACTIONAL_METADATA, resolved);
  return (target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (descriptor) {
      setMetadata(target, key!, descriptor);
      interceptFirst(descriptor.value as object);
      return;
    }
    // Class decorators run after method decorators: a conflict is found when the class is defined.
    checkMethods(target as ControllerClass, resolved);
    setMetadata(target as ControllerClass);
    interceptFirst(target);
  };
}

/**
 * Makes `DbInterceptor` the first (outermost) of the interceptors declared on `holder`, whether
 * `@UseInterceptors()` sits above or below `@Transactional()`: `UseInterceptors` appends in
 * decorator order, and an interceptor outside DbInterceptor could throw after the commit.
 */
function interceptFirst(holder: object): void {
  useInterceptor(holder, DbInterceptor, true);
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
