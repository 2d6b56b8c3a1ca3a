import { Injectable } from '@nestjs/common';
import type { RowDataPacket } from 'mysql2/promise';
import type { Variant } from './variant.js';
import { SELECT_ONE, makeController, threeOn, type Repo, type Row } from './chain.js';
import { RawPool, mysql2Gauges } from './raw-pool.js';

/** (a) The baseline: a singleton service borrowing from mysql2 for each handler call. */
@Injectable()
export class RawRepo implements Repo {
  constructor(private readonly raw: RawPool) {}

  async one(): Promise<Row> {
    const conn = await this.raw.pool.getConnection();
    try {
      const [rows] = await conn.query<RowDataPacket[]>(SELECT_ONE);
      return rows[0];
    } finally {
      conn.release();
    }
  }

  async three(): Promise<Row[]> {
    const conn = await this.raw.pool.getConnection();
    try {
      return await threeOn(async (sql) => (await conn.query<RowDataPacket[]>(sql))[0]);
    } finally {
      conn.release();
    }
  }
}

export const rawVariant: Variant = () => ({
  imports: [],
  providers: [RawPool, RawRepo],
  controllers: [makeController(RawRepo)],
  gauges: (app) => mysql2Gauges(app.get(RawPool).pool.pool),
});
