import {
  Injectable,
  SetMetadata,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import type { Observable } from 'rxjs';
import { READ_ONLY_METADATA } from './db.internal-constants.js';
import { currentUnit } from './db-context.js';
import { leaseSetOf, operationRequestOf, workOf } from './db-http.adapter.js';
import { useInterceptor } from './db-use-interceptor.js';

/**
 * Sends the reads of a handler (or of every handler of a controller class) to a read replica of
 * each connection that has `replicas`: SELECT, SHOW and WITH … SELECT statements run on one
 * replica per request. Writes, transactions and `@Transactional()` handlers run on the primary,
 * and once the request has written or opened a transaction there, its later reads stay on the
 * primary too (read-your-writes). Without `replicas` configured it changes nothing.
 *
 * Works in both scopes and with `registerInterceptor: false`: it attaches a small interceptor of
 * its own that marks the request's unit of work.
 * @publicApi
 */
export function ReadOnly(): ClassDecorator & MethodDecorator {
  const setMetadata = SetMetadata(READ_ONLY_METADATA, true);
  return (target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (descriptor) {
      setMetadata(target, key!, descriptor);
      useInterceptor(descriptor.value as object, DbReadOnlyInterceptor);
      return;
    }
    setMetadata(target as abstract new (...args: never[]) => unknown);
    useInterceptor(target, DbReadOnlyInterceptor);
  };
}

/**
 * Marks the unit of work of a `@ReadOnly()` handler: the request's (HTTP), or the one open
 * (a context, a message handled under `DbInterceptor`). @internal
 */
@Injectable()
export class DbReadOnlyInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const work = workOf(context) ?? operationRequestOf(context);
    const unit = currentUnit() ?? (work ? leaseSetOf(work) : undefined);
    if (unit) unit.readOnly = true;
    return next.handle();
  }
}
