import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Module, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { RowDataPacket } from 'mysql2';
import {
  Connection,
  DbModule,
  DbPool,
  InjectConnection,
  InjectPool,
  type DbModuleOptions,
  type DbOptionsFactory,
} from 'nestjs-mysql-connection';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { get, listen } from '../support/http.js';

@Injectable()
class Settings {
  url = '';
}

@Module({ providers: [Settings], exports: [Settings] })
class SettingsModule {}

@Injectable()
class DbSettingsFactory implements DbOptionsFactory {
  constructor(private readonly settings: Settings) {}
  createDbOptions(): DbModuleOptions {
    return { uri: this.settings.url, connectionLimit: 3 };
  }
}

@Controller()
class WhichDatabaseController {
  constructor(
    private readonly conn: Connection,
    @InjectConnection('reports') private readonly reports: Connection,
    @InjectPool('reports') private readonly reportsPool: DbPool,
  ) {}

  @Get('which')
  async which() {
    const [[a]] = await this.conn.query<RowDataPacket[]>(
      'SELECT DATABASE() AS db, CONNECTION_ID() AS id',
    );
    const [[b]] = await this.reports.query<RowDataPacket[]>(
      'SELECT DATABASE() AS db, CONNECTION_ID() AS id',
    );
    return { main: a, reports: b, reportsPool: this.reportsPool.name };
  }
}

describe('DbModule configuration', () => {
  let main: TestDatabase;
  let reports: TestDatabase;

  beforeAll(async () => {
    main = await createTestDatabase('cfg_main');
    reports = await createTestDatabase('cfg_reports');
  });

  afterAll(async () => {
    await main?.drop();
    await reports?.drop();
  });

  async function compileWith(dbImport: ReturnType<typeof DbModule.forRootAsync>) {
    const moduleRef = await Test.createTestingModule({
      imports: [
        {
          module: SettingsModule,
          global: true,
          providers: [{ provide: Settings, useValue: { url: main.url } }],
          exports: [Settings],
        },
        dbImport,
      ],
    }).compile();
    return moduleRef;
  }

  it.each([
    [
      'useFactory + inject',
      () =>
        DbModule.forRootAsync({
          inject: [Settings],
          useFactory: (s: Settings) => ({ uri: s.url, connectionLimit: 3 }),
        }),
    ],
    ['useClass', () => DbModule.forRootAsync({ useClass: DbSettingsFactory })],
    [
      'useExisting + imports',
      () =>
        DbModule.forRootAsync({
          imports: [
            {
              module: class FactoryModule {},
              providers: [DbSettingsFactory],
              exports: [DbSettingsFactory],
            },
          ],
          useExisting: DbSettingsFactory,
        }),
    ],
  ])('forRootAsync with %s builds a working pool from the factory result', async (_, make) => {
    const moduleRef = await compileWith(make());
    const pool = moduleRef.get(DbPool);
    expect(pool.stats().limit).toBe(3);
    const [rows] = await pool.query<RowDataPacket[]>('SELECT DATABASE() AS db');
    expect(rows[0].db).toBe(main.name);
    await moduleRef.close();
  });

  it('refuses forRootAsync without exactly one of useFactory/useClass/useExisting', () => {
    expect(() => DbModule.forRootAsync({})).toThrow(
      /exactly one of "useFactory", "useClass" or "useExisting"/,
    );
  });

  it('runs two named connections to two databases side by side', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        DbModule.forRoot({ uri: main.url }),
        DbModule.forRootAsync({ name: 'reports', useFactory: () => ({ uri: reports.url }) }),
      ],
      controllers: [WhichDatabaseController],
    }).compile();
    const app: INestApplication = moduleRef.createNestApplication({ logger: false });
    const base = await listen(app);
    const r = await get(base, '/which');
    expect(r.status).toBe(200);
    const body = r.body as { main: { db: string }; reports: { db: string }; reportsPool: string };
    expect(body.main.db).toBe(main.name);
    expect(body.reports.db).toBe(reports.name);
    expect(body.reportsPool).toBe('reports');
    await app.close();
    expect(await main.waitForConnections(0)).toBe(0);
    expect(await reports.waitForConnections(0)).toBe(0);
  });

  it('does not start when the database refuses the credentials, and never prints the password', async () => {
    const wrong = new URL(main.url);
    wrong.password = 'Wr0ng-S3cret-Passw0rd';
    const started = Date.now();
    const compiling = Test.createTestingModule({
      imports: [DbModule.forRoot({ uri: wrong.toString(), retryAttempts: 2, retryDelay: 200 })],
    }).compile();
    const err = (await compiling.then(
      () => new Error('compiled'),
      (e: unknown) => e,
    )) as Error & { code?: string };
    const took = Date.now() - started;
    expect(err.code).toBe('DB_STARTUP');
    expect(err.message).toContain(`${main.host}:${main.port}`);
    expect(err.message).toContain(`user "${main.user}"`);
    expect(err.message).toContain(`database "${main.name}"`);
    expect(err.message).toMatch(/Access denied/);
    expect(err.message).toContain('2 attempt(s)');
    expect(err.message).not.toContain('Wr0ng-S3cret-Passw0rd');
    expect(took).toBeLessThan(2 * 10_000);
    expect(await main.waitForConnections(0)).toBe(0);
  });
});
