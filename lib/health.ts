// The `nestjs-mysql-connection/health` entry point: everything that needs `@nestjs/terminus`, an
// optional peer dependency, so that the main entry point never loads it.
export {
  DB_HEALTH_DEFAULTS,
  DbHealthIndicator,
  type DbPingCheckOptions,
  type DbPoolCheckOptions,
} from './db-health.indicator.js';
