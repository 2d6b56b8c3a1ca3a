import {
  Inject,
  Injectable,
  Scope,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { APP_INTERCEPTOR, REQUEST } from '@nestjs/core';
import type { PoolConnection, RowDataPacket } from 'mysql2/promise';
import { finalize, type Observable } from 'rxjs';
import type { Variant } from './variant.js';
import { SELECT_ONE, makeChain, makeController, threeOn, type Repo, type Row } from './chain.js';
import { RawPool, mysql2Gauges } from './raw-pool.js';

interface Carrier {
  benchConnection?: RequestConnection;
}

/**
 * (b) What a user hand-writes before reaching for a library: a REQUEST-scoped wrapper that borrows
 * lazily on the first statement and is released by an interceptor. No deadline, no clean-up, no
 * release on client abort: the baseline for what REQUEST scope itself costs.
 */
@Injectable({ scope: Scope.REQUEST })
export class RequestConnection {
  private conn: Promise<PoolConnection> | undefined;

  constructor(
    private readonly raw: RawPool,
    @Inject(REQUEST) req: object,
  ) {
    (req as Carrier).benchConnection = this;
  }

  async query(sql: string): Promise<Row[]> {
    const conn = await (this.conn ??= this.raw.pool.getConnection());
    const [rows] = await conn.query<RowDataPacket[]>(sql);
    return rows;
  }

  release(): void {
    const conn = this.conn;
    this.conn = undefined;
    void conn?.then(
      (c) => c.release(),
      () => undefined,
    );
  }
}

@Injectable()
export class ReleaseInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = context.switchToHttp().getRequest<Carrier>();
    return next.handle().pipe(finalize(() => req.benchConnection?.release()));
  }
}

@Injectable()
class NaiveRepo implements Repo {
  constructor(private readonly conn: RequestConnection) {}

  async one(): Promise<Row> {
    return (await this.conn.query(SELECT_ONE))[0];
  }

  three(): Promise<Row[]> {
    return threeOn((sql) => this.conn.query(sql));
  }
}

export const naiveVariant: Variant = (_config, depth) => {
  const chain = makeChain(depth, NaiveRepo);
  return {
    imports: [],
    providers: [
      RawPool,
      RequestConnection,
      { provide: APP_INTERCEPTOR, useClass: ReleaseInterceptor },
      ...chain.providers,
    ],
    controllers: [makeController(chain.head)],
    gauges: (app) => mysql2Gauges(app.get(RawPool).pool.pool),
  };
};
