import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DbModule, DbPool } from 'nestjs-mysql-connection';
import { ProbeController, TakesConnectionGuard } from '../fixtures/probe.controller.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually, get, listen, sleep } from '../support/http.js';

interface Entry {
  level: string;
  message: string;
  context: string | undefined;
}

/** An app logger that keeps every line, as a user's own logger (pino, winston, ...) would get it. */
class CapturingLogger implements LoggerService {
  readonly entries: Entry[] = [];
  log = (m: unknown, ...rest: unknown[]) => this.push('log', m, rest);
  warn = (m: unknown, ...rest: unknown[]) => this.push('warn', m, rest);
  error = (m: unknown, ...rest: unknown[]) => this.push('error', m, rest);
  debug = (m: unknown, ...rest: unknown[]) => this.push('debug', m, rest);
  verbose = (m: unknown, ...rest: unknown[]) => this.push('verbose', m, rest);
  fatal = (m: unknown, ...rest: unknown[]) => this.push('fatal', m, rest);

  private push(level: string, message: unknown, rest: unknown[]): void {
    const context = rest.filter((r): r is string => typeof r === 'string').at(-1);
    this.entries.push({ level, message: String(message), context });
  }

  fromLibrary(): Entry[] {
    return this.entries.filter((e) => e.context === 'DbModule');
  }
}

describe.each([true, false])('logging (logger: %s)', (enabled) => {
  let db: TestDatabase;
  const logs = new CapturingLogger();
  let startupError: unknown;

  beforeAll(async () => {
    db = await createTestDatabase(`logging_${enabled}`);
    await db.admin.query(
      `CREATE TABLE \`${db.name}\`.items (id INT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL)`,
    );
    const wrong = new URL(db.url);
    wrong.password = 'not-the-password-4711';

    // 1. start-up retries, with a wrong password
    startupError = await Test.createTestingModule({
      imports: [
        DbModule.forRoot({
          uri: wrong.toString(),
          retryAttempts: 2,
          retryDelay: 10,
          logger: enabled,
        }),
      ],
    })
      .setLogger(logs)
      .compile()
      .catch((err: unknown) => err);

    // 2. maxLifetime not below the server's wait_timeout (the server default: 8 h)
    const [[{ w }]] = (await db.admin.query('SELECT @@wait_timeout AS w')) as unknown as [
      [{ w: number }],
    ];
    const moduleRef = await Test.createTestingModule({
      imports: [
        DbModule.forRoot({
          uri: db.url,
          maxLifetime: Number(w) * 1000,
          leakDetectionThreshold: 500,
          shutdownTimeout: 900,
          logger: enabled,
        }),
      ],
      controllers: [ProbeController],
      providers: [TakesConnectionGuard],
    })
      .setLogger(logs)
      .compile();
    const app = moduleRef.createNestApplication({ logger: logs });
    const base = await listen(app);
    const pool = app.get(DbPool);

    // 3. a transaction left open by a handler (warned by DbInterceptor)
    const opened = await get(base, '/tx/open/1', 'POST');
    if (opened.status !== 201) throw new Error(`POST /tx/open/1: ${opened.status}`);
    // 4. a possible leak, reported with the stack where it was taken, then its end
    await pool.withConnection(async (conn) => {
      await conn.query('SELECT 1');
      await sleep(700);
    });
    // 5. a connection still held when shutdownTimeout runs out
    void pool
      .withConnection(async (conn) => {
        await conn.query('SELECT 1');
        await new Promise(() => {});
      })
      .catch(() => undefined);
    if (!(await eventually(() => pool.stats().borrowed === 1))) throw new Error('not borrowed');
    await app.close();
  }, 30_000);

  afterAll(async () => {
    await db?.drop();
  });

  const LEAK =
    /^Pool "default": a connection taken by DbPool\.withConnection\(\) has been held for more than 500 ms/;
  // [line, how many times]: 4. and 5. both hold a connection past leakDetectionThreshold.
  const expected: [RegExp, number][] = [
    [/^Connection "default": attempt 1\/2 failed \(.*Access denied.*\); retrying in 10 ms$/, 1],
    [
      /^Pool "default": maxLifetime \(\d+ ms\) is not comfortably below the server's wait_timeout/,
      1,
    ],
    [
      /^POST \/tx\/open\/:v \(ProbeController\.txOpen\) left a transaction open on connection "default"/,
      1,
    ],
    [LEAK, 2],
    [
      /^Pool "default": the connection taken by DbPool\.withConnection\(\) \(reported as a possible leak\) came back/,
      1,
    ],
    [/^Pool "default": 1 connection\(s\) still borrowed after shutdownTimeout \(900 ms\)/, 1],
  ];

  it('still fails the start-up on a wrong password', () => {
    expect(startupError).toMatchObject({ code: 'DB_STARTUP' });
  });

  if (enabled) {
    it("logs every event through Nest's Logger, with the context DbModule", () => {
      const lines = logs.fromLibrary().map((e) => e.message);
      for (const [pattern, count] of expected) {
        expect({ pattern, count: lines.filter((l) => pattern.test(l)).length }).toEqual({
          pattern,
          count,
        });
      }
      expect(lines).toHaveLength(7);
    });

    it('writes one line per event; only the leak report carries a stack', () => {
      const multiLine = logs.fromLibrary().filter((e) => e.message.includes('\n'));
      expect(multiLine.map((e) => e.message.split('\n')[0])).toEqual([
        expect.stringMatching(LEAK),
        expect.stringMatching(LEAK),
      ]);
      // the stack shows where the connection was taken: this test file
      expect(multiLine[0].message).toContain('logging.spec.ts');
    });

    it('never logs a password', () => {
      const all = JSON.stringify(logs.entries);
      expect(all).not.toContain('not-the-password-4711');
      expect(all).not.toContain(db.password);
    });
  } else {
    it('logs nothing at all with logger: false', () => {
      expect(logs.fromLibrary()).toEqual([]);
    });
  }
});
