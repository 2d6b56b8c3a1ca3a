import { AsyncLocalStorage } from 'node:async_hooks';
import {
  Injectable,
  Module,
  RequestMethod,
  type MiddlewareConsumer,
  type NestMiddleware,
  type NestModule,
} from '@nestjs/common';
import type { Variant } from './variant.js';
import { makeController, type Row } from './chain.js';
import { RawPool, mysql2Gauges } from './raw-pool.js';
import { RawRepo } from './variant-raw.js';

/**
 * (f) (a) plus what any context scope needs and this package does not control: an
 * AsyncLocalStorage context opened per request by a Nest middleware on every route, read by the
 * service. The difference (e) − (f) is then this package's own cost.
 */
const storage = new AsyncLocalStorage<{ statements: number }>();

@Injectable()
class ContextMiddleware implements NestMiddleware {
  use(_req: unknown, _res: unknown, next: (error?: unknown) => void): void {
    storage.run({ statements: 0 }, next);
  }
}

@Module({ providers: [ContextMiddleware] })
class ContextModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    // The same route pattern this package uses for its own context middleware.
    consumer.apply(ContextMiddleware).forRoutes({ path: '{*path}', method: RequestMethod.ALL });
  }
}

/** The request's context: it must really be there (the middleware ran, the store propagated). */
function context(): { statements: number } {
  const store = storage.getStore();
  if (!store) throw new Error('no AsyncLocalStorage context: the middleware did not run');
  return store;
}

/** (a)'s service, reading the request's context for each statement it runs. */
@Injectable()
class ContextRepo extends RawRepo {
  override one(): Promise<Row> {
    context().statements++;
    return super.one();
  }

  override three(): Promise<Row[]> {
    context().statements += 3;
    return super.three();
  }
}

export const alsVariant: Variant = () => ({
  imports: [ContextModule],
  providers: [RawPool, ContextRepo],
  controllers: [makeController(ContextRepo)],
  gauges: (app) => mysql2Gauges(app.get(RawPool).pool.pool),
});
