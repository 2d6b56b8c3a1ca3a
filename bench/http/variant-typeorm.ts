import { Injectable } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { Pool as CallbackPool } from 'mysql2';
import { DataSource } from 'typeorm';
import type { Variant } from './variant.js';
import { SELECT_ONE, makeController, threeOn, type Repo, type Row } from './chain.js';
import { mysql2Gauges } from './raw-pool.js';

/**
 * (c) `@nestjs/typeorm` as its users write raw SQL: `DataSource.query()`, which borrows and returns
 * a connection per statement (so `/three` may use up to three connections; that is TypeORM's model).
 */
@Injectable()
class TypeormRepo implements Repo {
  constructor(private readonly dataSource: DataSource) {}

  async one(): Promise<Row> {
    const rows: Row[] = await this.dataSource.query(SELECT_ONE);
    return rows[0];
  }

  three(): Promise<Row[]> {
    return threeOn((sql) => this.dataSource.query(sql));
  }
}

export const typeormVariant: Variant = (config) => ({
  imports: [
    TypeOrmModule.forRoot({
      type: 'mysql',
      url: config.uri,
      // TypeORM's name for mysql2's connectionLimit.
      poolSize: config.poolSize,
      entities: [],
      synchronize: false,
      logging: false,
      retryAttempts: 1,
    }),
  ],
  providers: [TypeormRepo],
  controllers: [makeController(TypeormRepo)],
  // MysqlDriver keeps the mysql2 pool it created in `pool`; it has no public accessor.
  gauges: (app) =>
    mysql2Gauges((app.get(DataSource).driver as unknown as { pool: CallbackPool }).pool),
});
