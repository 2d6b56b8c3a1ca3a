import { Controller, Get } from '@nestjs/common';
import { DbPool, type DbPoolStats } from 'nestjs-mysql-connection';

@Controller('health')
export class HealthController {
  constructor(private readonly pool: DbPool) {}

  /** The pool's gauges; answers without taking a connection, so it works even when all are busy. */
  @Get('db')
  db(): DbPoolStats {
    return this.pool.stats();
  }
}
