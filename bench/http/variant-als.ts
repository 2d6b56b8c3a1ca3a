import { AsyncLocalStorage } from 'node:async_hooks';
import {
  Injectable,
  Module,
  RequestMethod,
  type MiddlewareConsumer,
  type NestMiddleware,
  type NestModule,
} from '@nestjs/common';
import type { RowDataPacket } from 'mysql2/promise';
import type { Variant } from './variant.js';
import { SELECT_ONE, makeController, threeOn, type Repo, type Row } from './chain.js';
import { RawPool, mysql2Gauges } from './raw-pool.js';

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

/** Counts each statement in the request's context: the context must really be there. */
function context(): { statements: number } {
  const store = storage.getStore();
  if (!store) throw new Error('no AsyncLocalStorage context: the middleware did not run');
  return store;
}

@Injectable()
class ContextRepo implements Repo {
  constructor(private readonly raw: RawPool) {}

  async one(): Promise<Row> {
    const conn = await this.raw.pool.getConnection();
    try {
      context().statements++;
      const [rows] = await conn.query<RowDataPacket[]>(SELECT_ONE);
      return rows[0];
    } finally {
      conn.release();
    }
  }

  async three(): Promise<Row[]> {
    const conn = await this.raw.pool.getConnection();
    try {
      return await threeOn(async (sql) => {
        context().statements++;
        return (await conn.query<RowDataPacket[]>(sql))[0];
      });
    } finally {
      conn.release();
    }
  }
}

export const alsVariant: Variant = () => ({
  imports: [ContextModule],
  providers: [RawPool, ContextRepo],
  controllers: [makeController(ContextRepo)],
  gauges: (app) => mysql2Gauges(app.get(RawPool).pool.pool),
});
