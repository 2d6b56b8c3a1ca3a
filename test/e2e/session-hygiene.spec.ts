import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Body, Controller, Post } from '@nestjs/common';
import type { RowDataPacket } from 'mysql2';
import { Connection, type DbScope } from 'nestjs-mysql-connection';
import { bootApp, type BootedApp } from '../fixtures/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { post } from '../support/http.js';

/** Runs the statements it is given on the request's connection; reports the last result. */
@Controller('sql')
class SqlController {
  constructor(private readonly conn: Connection) {}

  @Post()
  async run(@Body() body: { statements: string[]; prepared?: boolean }) {
    let last: unknown;
    try {
      for (const sql of body.statements) {
        [last] = body.prepared ? await this.conn.execute(sql, [1]) : await this.conn.query(sql);
      }
    } catch (err) {
      return { threadId: this.conn.threadId, error: (err as { code?: string }).code };
    }
    return { threadId: this.conn.threadId, rows: last };
  }
}

// What one request leaves behind, and how the next borrower of the same connection would see it.
// The clean-up on return is skipped for sessions the server (status flags) and the statement
// text (db-session.ts) show to be clean; these cases prove it is not skipped when it matters.
const CASES: [string, string[], string, unknown][] = [
  ['a user variable', ['SET @leak = 1'], 'SELECT @leak AS v', null],
  ['an assignment inside a SELECT', ['SELECT @leak2 := 5 AS x'], 'SELECT @leak2 AS v', null],
  ['SELECT ... INTO @var', ['SELECT 7 INTO @leak3'], 'SELECT @leak3 AS v', null],
  ['a named lock (DO)', ["DO GET_LOCK('nmc_l1', 0)"], "SELECT IS_USED_LOCK('nmc_l1') AS v", null],
  [
    'a named lock (SELECT)',
    ["SELECT GET_LOCK('nmc_l2', 0) AS x"],
    "SELECT IS_USED_LOCK('nmc_l2') AS v",
    null,
  ],
  [
    'sql_mode',
    ["SET SESSION sql_mode = 'ANSI'"],
    'SELECT @@SESSION.sql_mode = @@GLOBAL.sql_mode AS v',
    1,
  ],
  [
    'the character set',
    ['SET NAMES latin1'],
    'SELECT @@character_set_client = @@GLOBAL.character_set_client AS v',
    1,
  ],
  ['autocommit', ['SET autocommit = 0'], 'SELECT @@autocommit AS v', 1],
  [
    'the default database',
    ['USE information_schema'],
    'SELECT DATABASE() = SCHEMA() AND DATABASE() <> "information_schema" AS v',
    1,
  ],
  [
    'an open transaction',
    ['START TRANSACTION', 'INSERT INTO items (v) VALUES (1)'],
    'SELECT @@in_transaction AS v',
    0,
  ],
  [
    'a temporary table',
    ['CREATE TEMPORARY TABLE tmp_leak (a INT)'],
    'CREATE TEMPORARY TABLE tmp_leak (a INT)',
    'ok',
  ],
  [
    'a prepared statement',
    ["PREPARE leak_stmt FROM 'SELECT 1'"],
    'EXECUTE leak_stmt',
    'ER_UNKNOWN_STMT_HANDLER',
  ],
  ['table locks', ['LOCK TABLES items WRITE'], 'SELECT COUNT(*) AS v FROM other', 0],
  ['a stored function with side effects', ['SELECT set_leak() AS x'], 'SELECT @from_fn AS v', null],
];

describe.each<DbScope>(['request', 'context'])('session clean-up on return (%s scope)', (scope) => {
  let db: TestDatabase;
  let booted: BootedApp;
  const run = async (statements: string[], prepared = false) =>
    (await post(booted.base, '/sql', { statements, prepared })).body as {
      threadId: number;
      rows?: RowDataPacket[];
      error?: string;
    };

  beforeAll(async () => {
    db = await createTestDatabase(`hyg_${scope}`);
    await db.admin.query(
      `CREATE TABLE \`${db.name}\`.items (id INT AUTO_INCREMENT PRIMARY KEY, v INT)`,
    );
    await db.admin.query(`CREATE TABLE \`${db.name}\`.other (id INT)`);
    await db.admin.query(
      `CREATE FUNCTION \`${db.name}\`.set_leak() RETURNS INT DETERMINISTIC BEGIN SET @from_fn = 1; RETURN 1; END`,
    );
    // connectionLimit 1: every request gets the same server connection
    booted = await bootApp(
      { uri: db.url, connectionLimit: 1, scope },
      { controllers: [SqlController] },
    );
  });

  afterAll(async () => {
    await booted?.app.close();
    await db?.drop();
  });

  it.each(CASES)('does not pass on %s', async (_, dirty, check, clean) => {
    const first = await run(dirty);
    expect(first.error).toBeUndefined();
    const next = await run([check]);
    expect(next.threadId).toBe(first.threadId); // the same server connection
    const seen = next.error ?? (Array.isArray(next.rows) ? next.rows[0]?.v : 'ok');
    expect(seen).toEqual(clean);
  });

  it('leaves a clean session as it is (no reset: its statements and counters carry on)', async () => {
    // COM_RESET_CONNECTION zeroes the session's status counters; without it they accumulate.
    const questions = 'SHOW SESSION STATUS LIKE "Questions"';
    const prepared = await run(['SELECT ? AS x'], true);
    expect(prepared.error).toBeUndefined();
    const before = await run([questions]);
    await run(['SELECT ? AS x'], true);
    await run(['SELECT 1 AS x', 'SELECT 2 AS x']);
    const after = await run([questions]);
    expect(after.threadId).toBe(before.threadId);
    expect(Number(after.rows![0].Value)).toBeGreaterThanOrEqual(Number(before.rows![0].Value) + 4);
  });
});
