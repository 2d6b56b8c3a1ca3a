import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  Connection,
  DbConfigError,
  DbModule,
  DbPool,
  InjectConnection,
  InjectPool,
} from 'nestjs-mysql-connection';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

@Injectable()
class ReportsService {
  constructor(
    readonly conn: Connection,
    @InjectConnection('reports') readonly reports: Connection,
  ) {}
}

@Controller()
class ArchiveController {
  @InjectPool('archive') readonly archive!: DbPool;

  @Get()
  get() {
    return this.archive.stats();
  }
}

/** Start-up fails with a DbConfigError naming what to fix, before any connection is opened. */
describe('configuration errors at start-up', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('config_errors');
  });

  afterAll(async () => {
    await db?.drop();
  });

  const compile = (imports: unknown[], extra: { providers?: never[]; controllers?: never[] }) =>
    Test.createTestingModule({ imports: imports as never[], ...extra }).compile();

  it('names an unknown connection in @InjectConnection(name), its class and the fix', async () => {
    const err = await compile([DbModule.forRoot({ uri: db.url })], {
      providers: [ReportsService] as never[],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DbConfigError);
    expect((err as DbConfigError).message).toBe(
      '@InjectConnection("reports") in constructor parameter #1 of ReportsService: no connection ' +
        '"reports" is registered (registered: "default"). Possible solutions: register it with ' +
        'DbModule.forRoot({ name: "reports", ... }) (or forRootAsync({ name: "reports", ... })), ' +
        'or fix the name.',
    );
    expect(await db.connections()).toBe(0); // refused before connecting
  });

  it('names an unknown connection in @InjectPool(name) on a property', async () => {
    const err = await compile(
      [DbModule.forRoot({ uri: db.url }), DbModule.forRoot({ name: 'reports', uri: db.url })],
      { controllers: [ArchiveController] as never[] },
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'DB_CONFIG',
      message: expect.stringContaining(
        '@InjectPool("archive") in property archive of ArchiveController: no connection ' +
          '"archive" is registered (registered: "default", "reports")',
      ),
    });
  });

  it('accepts the same classes once their connections are registered', async () => {
    const app = await compile(
      [
        DbModule.forRoot({ uri: db.url }),
        DbModule.forRoot({ name: 'reports', uri: db.url }),
        DbModule.forRoot({ name: 'archive', uri: db.url }),
      ],
      { providers: [ReportsService] as never[], controllers: [ArchiveController] as never[] },
    );
    expect(app.get(ArchiveController).archive.name).toBe('archive');
    await app.close();
  });

  it('refuses two registrations of one name, naming it', async () => {
    const err = await compile(
      [
        DbModule.forRoot({ name: 'main', uri: db.url, connectionLimit: 5 }),
        DbModule.forRootAsync({ name: 'main', useFactory: () => ({ uri: db.url }) }),
      ],
      {},
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DbConfigError);
    expect((err as DbConfigError).message).toMatch(
      /^DbModule registers the connection "main" 2 times .* give the others names of their own/,
    );
    expect(await db.connections()).toBe(0);
  });
});
