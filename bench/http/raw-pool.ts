import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Pool as CallbackPool } from 'mysql2';
import { createPool, type Pool } from 'mysql2/promise';
import { BENCH_CONFIG, type BenchConfig, type PoolGauges } from './bench.config.js';

/** A plain mysql2 promise pool as a singleton provider: what variants (a) and (b) build on. */
@Injectable()
export class RawPool implements OnApplicationShutdown {
  readonly pool: Pool;

  constructor(@Inject(BENCH_CONFIG) config: BenchConfig) {
    // mysql2's defaults otherwise (waitForConnections, maxIdle = limit, no reset), as a user has them.
    this.pool = createPool({ uri: config.uri, connectionLimit: config.poolSize });
  }

  onApplicationShutdown(): Promise<void> {
    return this.pool.end();
  }
}

/**
 * Gauges of a mysql2 pool from its private queues: mysql2 has no metrics API (issues #3434,
 * #1078), and its acquire/release events miss direct hand-offs, so counting events would be wrong.
 */
export function mysql2Gauges(pool: CallbackPool): PoolGauges {
  const internals = pool as unknown as Record<
    '_allConnections' | '_freeConnections' | '_connectionQueue',
    { length: number }
  >;
  const { _allConnections: all, _freeConnections: free, _connectionQueue: queue } = internals;
  return {
    total: all.length,
    idle: free.length,
    borrowed: all.length - free.length,
    pending: queue.length,
  };
}
