import { Injectable, Scope, type DynamicModule, type Type } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { RowDataPacket } from 'mysql2';
import { Connection, DbModule, DbPool, type DbModuleOptions } from 'nestjs-mysql-connection';
import { VariantUnavailableError, type Variant } from './variant.js';
import { SELECT_ONE, makeChain, makeController, threeOn, type Repo, type Row } from './chain.js';

/** (d)/(e) This library, used as its README shows: inject `Connection`, query, return. */
@Injectable()
class LibraryRepo implements Repo {
  constructor(private readonly conn: Connection) {}

  async one(): Promise<Row> {
    const [rows] = await this.conn.query<RowDataPacket[]>(SELECT_ONE);
    return rows[0];
  }

  three(): Promise<Row[]> {
    return threeOn(async (sql) => (await this.conn.query<RowDataPacket[]>(sql))[0]);
  }
}

/**
 * (d) `scope: 'request'`: today's default, a REQUEST-scoped `Connection`.
 * (e) `scope: 'context'`: a singleton `Connection` bound per request through AsyncLocalStorage
 * (issue 5, part 3). Until a build accepts it, the variant reports itself unavailable: either
 * `forRoot()` rejects the option, or it ignores it and `Connection` stays REQUEST-scoped.
 */
export const libraryVariant =
  (scope: 'request' | 'context'): Variant =>
  (config, depth) => {
    const options: DbModuleOptions = { uri: config.uri, connectionLimit: config.poolSize };
    let db: DynamicModule;
    if (scope === 'context') {
      // Widened because `scope` is not part of DbModuleOptions in builds that predate it.
      const withScope: DbModuleOptions & { scope: 'context' } = { ...options, scope: 'context' };
      try {
        db = DbModule.forRoot(withScope);
      } catch (err) {
        throw new VariantUnavailableError(
          `DbModule.forRoot({ scope: 'context' }) throws: ${(err as Error).message}`,
        );
      }
    } else {
      db = DbModule.forRoot(options);
    }
    const chain = makeChain(depth, LibraryRepo);
    return {
      imports: [db],
      providers: chain.providers,
      controllers: [makeController(chain.head)],
      gauges: (app) => app.get(DbPool).stats(),
      unavailable:
        scope === 'context'
          ? (app) =>
              // introspect() is typed for concrete classes; Connection is an abstract token.
              app.get(ModuleRef).introspect(Connection as unknown as Type<Connection>).scope ===
              Scope.REQUEST
                ? `DbModule.forRoot() accepts scope: 'context' but ignores it: Connection is still ` +
                  `REQUEST-scoped in this build`
                : undefined
          : undefined,
    };
  };
