import { Scope, type Provider } from '@nestjs/common';
import { APP_INTERCEPTOR, ModulesContainer, REQUEST } from '@nestjs/core';
import { LeaseConnection } from './connection.js';
import { ContextConnection } from './db-context.connection.js';
import { DB_MODULE_CONFIG, getOptionsToken, type DbModuleConfig } from './db.internal-constants.js';
import { RequestOwner } from './db-http.adapter.js';
import { checkConnectionNames } from './db-names.check.js';
import { DbPool } from './db-pool.js';
import { DbInterceptor } from './db.interceptor.js';
import { getConnectionToken, getPoolToken } from './db.utils.js';
import type { DbModuleOptions } from './interfaces/index.js';

/** The providers of one named connection, given the provider of its options. @internal */
export function createDbProviders(
  config: DbModuleConfig,
  optionsProvider: Provider[],
  registerInterceptor: boolean,
): Provider[] {
  const { name, scope } = config;
  const providers: Provider[] = [
    ...optionsProvider,
    { provide: DB_MODULE_CONFIG, useValue: config },
    {
      provide: getPoolToken(name),
      inject: [getOptionsToken(name), ModulesContainer],
      useFactory: async (options: DbModuleOptions, modules: ModulesContainer): Promise<DbPool> => {
        // Before connecting: a misnamed or doubly registered connection fails the start-up now.
        checkConnectionNames(modules);
        const pool = new DbPool({ ...options, name, scope });
        await pool.verify();
        return pool;
      },
    },
    scope === 'context'
      ? {
          provide: getConnectionToken(name),
          inject: [getPoolToken(name)],
          useFactory: (pool: DbPool): ContextConnection => new ContextConnection(pool),
        }
      : {
          provide: getConnectionToken(name),
          scope: Scope.REQUEST,
          inject: [REQUEST, getPoolToken(name)],
          useFactory: (req: object, pool: DbPool): LeaseConnection => {
            const lease = pool.createLease();
            lease.owner = new RequestOwner(req);
            return new LeaseConnection(lease);
          },
        },
  ];
  if (registerInterceptor) providers.push({ provide: APP_INTERCEPTOR, useClass: DbInterceptor });
  return providers;
}
