import { Scope, type Provider } from '@nestjs/common';
import { APP_INTERCEPTOR, REQUEST } from '@nestjs/core';
import { LeaseConnection } from './connection.js';
import { DB_MODULE_NAME, getOptionsToken } from './db.internal-constants.js';
import { leaseSetOf } from './db-http.adapter.js';
import { DbPool } from './db-pool.js';
import { DbInterceptor } from './db.interceptor.js';
import { getConnectionToken, getPoolToken } from './db.utils.js';
import type { DbModuleOptions } from './interfaces/index.js';

/** The providers of one named connection, given the provider of its options. @internal */
export function createDbProviders(
  name: string,
  optionsProvider: Provider[],
  registerInterceptor: boolean,
): Provider[] {
  const providers: Provider[] = [
    ...optionsProvider,
    { provide: DB_MODULE_NAME, useValue: name },
    {
      provide: getPoolToken(name),
      inject: [getOptionsToken(name)],
      useFactory: async (options: DbModuleOptions): Promise<DbPool> => {
        const pool = new DbPool({ ...options, name });
        await pool.verify();
        return pool;
      },
    },
    {
      provide: getConnectionToken(name),
      scope: Scope.REQUEST,
      inject: [REQUEST, getPoolToken(name)],
      useFactory: (req: object, pool: DbPool): LeaseConnection => {
        const lease = pool.createLease();
        lease.owner = leaseSetOf(req);
        return new LeaseConnection(lease);
      },
    },
  ];
  if (registerInterceptor) providers.push({ provide: APP_INTERCEPTOR, useClass: DbInterceptor });
  return providers;
}
