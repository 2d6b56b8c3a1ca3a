import { Logger, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { DbModule } from 'nestjs-mysql-connection';
import { AccountsModule } from './accounts/accounts.module.js';
import { ensureDatabase } from './ensure-database.js';
import { HealthModule } from './health/health.module.js';
import { resolveSettings, withDatabase, type SampleSettings } from './settings.js';

/** The sample API: accounts, transfers between them, and a pool health endpoint. */
@Module({})
export class AppModule implements OnApplicationShutdown {
  /**
   * The whole app. Settings not given are read from the environment when the app boots (not when
   * this is called), so `MYSQL_URL` set after import still counts.
   */
  static forRoot(settings: Partial<SampleSettings> = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        DbModule.forRootAsync({
          useFactory: async () => {
            const { url, database, connectionLimit, replicaUrls } = resolveSettings(settings);
            await ensureDatabase(url, database);
            // With MYSQL_REPLICA_URLS, GET /accounts (@ReadOnly()) reads from a replica; the
            // database is created on the primary and reaches the replicas by replication.
            const replicas = replicaUrls.map((r) => ({ uri: withDatabase(r, database) }));
            return {
              uri: withDatabase(url, database),
              connectionLimit,
              ...(replicas.length > 0 && { replicas }),
            };
          },
        }),
        AccountsModule,
        HealthModule,
      ],
    };
  }

  /** Runs after DbModule has drained and closed the pool, so this line means a clean stop. */
  onApplicationShutdown(signal?: string): void {
    new Logger('Sample').log(
      `Stopped${signal ? ` on ${signal}` : ''}; database connections closed`,
    );
  }
}
