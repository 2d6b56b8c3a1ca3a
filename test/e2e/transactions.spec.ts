import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { INestApplication, LoggerService } from '@nestjs/common';
import type { RowDataPacket } from 'mysql2';
import {
  Connection,
  DbDeadlockError,
  DbPool,
  DbTransactionError,
  Transactional,
  type DbScope,
} from 'nestjs-mysql-connection';
import {
  AuditService,
  ItemsService,
  MixedConnectionsController,
  Signals,
  TransactionalClassController,
  TransactionsController,
  UnknownConnectionController,
} from '../fixtures/transactions.controller.js';
import { ADAPTERS, bootApp, type HttpPlatform } from '../fixtures/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually, get, sleep } from '../support/http.js';

/** Keeps what the app logs, to check warnings and errors. */
class CapturingLogger implements LoggerService {
  readonly lines: { level: string; message: string; context?: string }[] = [];
  log(message: unknown, context?: string) {
    this.lines.push({ level: 'log', message: String(message), context });
  }
  error(message: unknown, ...rest: unknown[]) {
    const text = message instanceof Error ? (message.stack ?? message.message) : String(message);
    this.lines.push({ level: 'error', message: [text, ...rest.map(String)].join(' ') });
  }
  warn(message: unknown, context?: string) {
    this.lines.push({ level: 'warn', message: String(message), context });
  }
  debug(message: unknown, context?: string) {
    this.lines.push({ level: 'debug', message: String(message), context });
  }
  verbose() {}
  of(level: string, text: string) {
    return this.lines.filter((l) => l.level === level && l.message.includes(text));
  }
}

const SCOPES: DbScope[] = ['request', 'context'];
const CASES = SCOPES.flatMap((scope) => ADAPTERS.map((adapter) => [scope, adapter] as const));

// Context scope registers no global interceptor: @Transactional() attaches DbInterceptor itself.
describe.each<readonly [DbScope, HttpPlatform]>(CASES)(
  'transactions (%s scope, %s)',
  (scope, adapter) => {
    let db: TestDatabase;
    let app: INestApplication;
    let base: string;
    let pool: DbPool;
    let signals: Signals;
    const logger = new CapturingLogger();
    const table = (name: string) => `\`${db.name}\`.${name}`;

    const tags = async (name: 'items' | 'audit') => {
      const [rows] = await db.admin.query<RowDataPacket[]>(
        `SELECT tag FROM ${table(name)} ORDER BY id`,
      );
      return rows.map((r) => r.tag as string);
    };
    const balances = async () => {
      const [rows] = await db.admin.query<RowDataPacket[]>(
        `SELECT id, balance FROM ${table('accounts')} ORDER BY id`,
      );
      return rows.map((r) => Number(r.balance));
    };
    const post = (path: string) => get(base, path, 'POST');
    const borrowedBackToZero = () => eventually(() => pool.stats().borrowed === 0, 5000);

    beforeAll(async () => {
      db = await createTestDatabase(`tx_${scope}_${adapter}`);
      await db.admin.query(
        `CREATE TABLE ${table('items')} (id INT AUTO_INCREMENT PRIMARY KEY, tag VARCHAR(50) NOT NULL)`,
      );
      await db.admin.query(
        `CREATE TABLE ${table('audit')} (id INT AUTO_INCREMENT PRIMARY KEY, tag VARCHAR(50) NOT NULL)`,
      );
      await db.admin.query(
        `CREATE TABLE ${table('accounts')} (id INT PRIMARY KEY, balance INT NOT NULL)`,
      );
      const booted = await bootApp(
        { uri: db.url, connectionLimit: 10, scope },
        {
          adapter,
          controllers: [
            TransactionsController,
            TransactionalClassController,
            MixedConnectionsController,
            UnknownConnectionController,
          ],
          providers: [ItemsService, AuditService, Signals],
          appOptions: { logger },
        },
      );
      ({ app, base } = booted);
      pool = app.get(DbPool);
      signals = app.get(Signals);
    });

    afterAll(async () => {
      await app?.close();
      await db?.drop();
    });

    beforeEach(async () => {
      await db.admin.query(`DELETE FROM ${table('items')}`);
      await db.admin.query(`DELETE FROM ${table('audit')}`);
      await db.admin.query(`DELETE FROM ${table('accounts')}`);
      await db.admin.query(`INSERT INTO ${table('accounts')} VALUES (1, 100), (2, 100)`);
    });

    describe('@Transactional()', () => {
      it('commits the work of two services that share the request connection', async () => {
        const r = await post('/tx/commit/a');
        expect(r.status).toBe(201);
        const { items, audit } = r.body as Record<string, { id: number; inTx: number }>;
        expect(items.id).toBe(audit.id); // one server connection for both services
        expect(items.inTx).toBe(1); // and the server says a transaction is open
        expect(audit.inTx).toBe(1);
        expect(await tags('items')).toEqual(['a']);
        expect(await tags('audit')).toEqual(['a']);

        // Without the decorator the same statements run in autocommit mode.
        const plain = await post('/tx/plain/b');
        expect((plain.body as { items: { inTx: number } }).items.inTx).toBe(0);
        expect(await borrowedBackToZero()).toBe(true);
      });

      it('rolls back when the handler throws, on a method or on the class', async () => {
        expect((await post('/tx/throw/a')).status).toBe(400);
        expect((await post('/tx-class/throw/b')).status).toBe(400);
        expect(await tags('items')).toEqual([]);
        expect(await tags('audit')).toEqual([]);
        expect(await borrowedBackToZero()).toBe(true);
      });

      it('rolls back when a later interceptor throws, or a filter maps the error', async () => {
        const rejected = await post('/tx/rejected/a');
        expect(rejected.status).toBe(422);
        const filtered = await post('/tx/filtered/b');
        expect(filtered).toMatchObject({ status: 418, body: { mapped: true } });
        expect(await tags('items')).toEqual([]);
      });

      it('waits for the commit before answering: a failed commit is an error response', async () => {
        const reply = post('/tx/held/k');
        expect(await eventually(() => signals.threadIds.has('k'))).toBe(true);
        await db.admin.query('KILL CONNECTION ?', [signals.threadIds.get('k')]);
        signals.open('held:k');
        const r = await reply;
        expect(r.status).toBe(500);
        expect(await tags('items')).toEqual([]);
        expect(await borrowedBackToZero()).toBe(true);
      });

      it('opens neither a connection nor a transaction for a handler that never queries', async () => {
        const before = await db.connections();
        const inFlight = Promise.all(Array.from({ length: 5 }, () => get(base, '/tx/lazy')));
        await sleep(100);
        expect(pool.stats().borrowed).toBe(0);
        for (const r of await inFlight) {
          expect(r).toMatchObject({ status: 200, body: { threadId: null } });
        }
        expect(await db.connections()).toBeLessThanOrEqual(before);
      });

      it('runs nested transaction() calls as savepoints', async () => {
        const r = await post('/tx/savepoint');
        expect(r).toMatchObject({ status: 201, body: { inTx: 1 } });
        // the inner failure undid only its own insert; the outer work and a later savepoint stayed
        expect(await tags('items')).toEqual(['outer', 'second-inner']);
      });

      it('applies isolationLevel and readOnly to that transaction, as the server reports', async () => {
        const reply = get(base, '/tx/serializable-read-only');
        // InnoDB refreshes information_schema.INNODB_TRX only once nobody has read it for 100 ms:
        // poll more slowly than that.
        let trx: RowDataPacket | undefined;
        for (let i = 0; i < 20 && !trx; i++) {
          await sleep(150);
          const [rows] = await db.admin.query<RowDataPacket[]>(
            `SELECT t.trx_isolation_level AS iso, t.trx_is_read_only AS ro
             FROM information_schema.INNODB_TRX t
             JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
            WHERE p.USER = ?`,
            [db.user],
          );
          trx = rows[0];
        }
        signals.open('serializable-read-only');
        expect(trx).toMatchObject({ iso: 'SERIALIZABLE', ro: 1 });
        expect(await reply).toMatchObject({ status: 200, body: { inTx: 1 } });
      });

      it('makes a write in a read-only transaction fail', async () => {
        const r = await post('/tx/read-only-write');
        expect(r.status).toBe(500);
        expect(logger.of('error', 'READ ONLY transaction')).not.toHaveLength(0);
        expect(await tags('items')).toEqual([]);
      });

      it('refuses commit() inside a transaction it does not own', async () => {
        const r = await post('/tx/manual-commit-inside');
        expect(r.status).toBe(500);
        expect(
          logger.of('error', 'commit() on connection "default" inside a transaction run by'),
        ).not.toHaveLength(0);
        expect(await tags('items')).toEqual([]);
      });

      it('names the problem when a handler asks for two connections, or an unknown one', async () => {
        expect((await get(base, '/tx-mixed/own')).status).toBe(200);
        expect((await get(base, '/tx-mixed/inherited')).status).toBe(500);
        expect(
          logger.of('error', 'names two connections: "default" (outer) and "other"'),
        ).not.toHaveLength(0);
        expect((await get(base, '/tx-unknown')).status).toBe(500);
        expect(logger.of('error', 'no connection "nope" is registered')).not.toHaveLength(0);
        expect(await borrowedBackToZero()).toBe(true);

        // On one class the conflict is found when the class is defined.
        const define = () => {
          @Transactional()
          class Both {
            @Transactional({ connection: 'other' })
            handle() {}
          }
          return Both;
        };
        expect(define).toThrow(DbTransactionError);
        expect(define).toThrow('Both.handle names two connections');
      });

      it('rolls back a transaction a handler without it left open, and warns once per route', async () => {
        expect((await post('/tx/left-open/a')).status).toBe(201);
        expect((await post('/tx/left-open/b')).status).toBe(201);
        expect(await borrowedBackToZero()).toBe(true);
        expect(await tags('items')).toEqual([]); // rolled back at release
        // The warning is DbInterceptor's: global in request scope, not registered in context scope
        // (there only @Transactional() handlers get it).
        const warned = scope === 'request' ? 1 : 0;
        const warnings = logger.of('warn', 'left a transaction open');
        expect(warnings).toEqual(
          Array.from({ length: warned }, () =>
            expect.objectContaining({
              context: 'DbModule',
              message: expect.stringContaining(
                'POST /tx/left-open/:tag (TransactionsController.leftOpen) left a transaction open',
              ),
            }),
          ),
        );
        // a committed or @Transactional request is not reported
        await post('/tx/commit/c');
        expect(logger.of('warn', 'left a transaction open')).toHaveLength(warned);
      });
    });

    describe('deadlocks', () => {
      // Two requests lock rows 1 and 2 in opposite order, each waiting until the other holds its
      // first lock: InnoDB must pick a victim.
      const pair = (path: string, key: string) =>
        Promise.all([post(`/tx/${path}/${key}/1/2/10`), post(`/tx/${path}/${key}/2/1/3`)]);

      it('re-runs the whole handler with retries: both transfers succeed', async () => {
        const replies = await pair('transfer-retried', 'retried');
        expect(replies.map((r) => r.status)).toEqual([201, 201]);
        // one of them ran twice: the deadlock was real and was retried
        expect(signals.runs.get('retried')).toBe(3);
        expect(await balances()).toEqual([100 - 10 + 3, 100 + 10 - 3]);
        expect(logger.of('debug', 'rolled back after a deadlock; running it again')).toHaveLength(
          1,
        );
      });

      it('answers 409 Conflict without retries, and keeps only the winner', async () => {
        const replies = await pair('transfer', 'once');
        const statuses = replies.map((r) => r.status).toSorted((a, b) => a - b);
        expect(statuses).toEqual([201, 409]);
        expect(signals.runs.get('once')).toBe(2);
        const conflict = replies.find((r) => r.status === 409)!.body as Record<string, string>;
        expect(conflict.code).toBe('DB_DEADLOCK');
        expect(conflict.message).toContain('deadlock');
        expect(conflict.message).toContain('"retries"');
        const won = replies[0].status === 201 ? [90, 110] : [103, 97];
        expect(await balances()).toEqual(won);
        expect(await borrowedBackToZero()).toBe(true);
      });
    });

    describe('DbPool.transaction() and conn.transaction()', () => {
      const insert = (conn: Connection, tag: string) =>
        conn.query(`INSERT INTO ${table('items')} (tag) VALUES (?)`, [tag]);

      it('commits and resolves to the callback result, or rolls back and rethrows', async () => {
        expect(await pool.transaction(async (conn) => (await insert(conn, 'kept'), 42))).toBe(42);
        const failure = new Error('nope');
        await expect(
          pool.transaction(async (conn) => {
            await insert(conn, 'dropped');
            throw failure;
          }),
        ).rejects.toBe(failure);
        expect(await tags('items')).toEqual(['kept']);
        expect(pool.stats().borrowed).toBe(0);
      });

      it('keeps the outer work when a nested savepoint fails and is caught', async () => {
        await pool.transaction(async (conn) => {
          await insert(conn, 'outer');
          await conn
            .transaction(async () => {
              await insert(conn, 'inner');
              await conn.transaction(async () => insert(conn, 'innermost'));
              throw new Error('inner fails');
            })
            .catch(() => undefined);
          await conn.transaction(async () => {
            await insert(conn, 'kept-inner');
            await conn.transaction(() => Promise.reject(new Error('x'))).catch(() => undefined);
          });
        });
        expect(await tags('items')).toEqual(['outer', 'kept-inner']);
      });

      it('applies an isolation level to one transaction only', async () => {
        // Another session's uncommitted row: visible only under READ UNCOMMITTED.
        await db.admin.query('START TRANSACTION');
        await db.admin.query(`INSERT INTO ${table('items')} (tag) VALUES ('dirty')`);
        try {
          const counts = await pool.withConnection(async (conn) => {
            const count = async () => {
              const [[row]] = await conn.query<RowDataPacket[]>(
                `SELECT COUNT(*) AS n FROM ${table('items')}`,
              );
              return Number(row.n);
            };
            const dirty = await conn.transaction(count, { isolationLevel: 'READ UNCOMMITTED' });
            const next = await conn.transaction(count);
            const [[session]] = await conn.query<RowDataPacket[]>('SELECT @@tx_isolation AS iso');
            return { dirty, next, session: session.iso as string };
          });
          expect(counts).toEqual({ dirty: 1, next: 0, session: 'REPEATABLE-READ' });
        } finally {
          await db.admin.query('ROLLBACK');
        }
      });

      it('retries a deadlocked transaction, or fails with DbDeadlockError', async () => {
        const run = async (retries: number) => {
          let attempts = 0;
          let arrived = 0;
          let meet!: () => void;
          const met = new Promise<void>((r) => (meet = r));
          const transfer = (from: number, to: number) =>
            pool.transaction(
              async (conn) => {
                attempts++;
                await conn.query('UPDATE accounts SET balance = balance - 1 WHERE id = ?', [from]);
                if (++arrived === 2) meet();
                if (arrived <= 2) await met;
                await conn.query('UPDATE accounts SET balance = balance + 1 WHERE id = ?', [to]);
              },
              { retries },
            );
          const results = await Promise.allSettled([transfer(1, 2), transfer(2, 1)]);
          return { attempts, results };
        };

        const retried = await run(2);
        expect(retried.results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
        expect(retried.attempts).toBe(3);
        expect(await balances()).toEqual([100, 100]);

        const once = await run(0);
        expect(once.attempts).toBe(2);
        const failed = once.results.filter((r) => r.status === 'rejected');
        expect(failed).toHaveLength(1);
        const err = (failed[0] as PromiseRejectedResult).reason as DbDeadlockError;
        expect(err).toBeInstanceOf(DbDeadlockError);
        expect(err).toMatchObject({
          code: 'DB_DEADLOCK',
          errno: 1213,
          attempts: 1,
          pool: 'default',
        });
        // only the winner's transfer of 1 happened
        expect([
          [99, 101],
          [101, 99],
        ]).toContainEqual(await balances());
      });

      it('refuses commit() without a transaction, and after one has ended', async () => {
        await pool.withConnection(async (conn) => {
          await expect(conn.commit()).rejects.toThrow(DbTransactionError);
          await insert(conn, 'autocommitted');
          await expect(conn.commit()).rejects.toThrow('found no open transaction');
          await conn.beginTransaction();
          await insert(conn, 'committed');
          await conn.commit();
          await expect(conn.commit()).rejects.toMatchObject({ code: 'DB_TRANSACTION' });
          // rollback() without a transaction stays harmless: it is what catch blocks call
          await conn.rollback();
        });
        expect(pool.stats().borrowed).toBe(0);
        expect(await tags('items')).toEqual(['autocommitted', 'committed']);
      });

      it('refuses manual transaction calls inside transaction(), and conflicting nested options', async () => {
        await pool.transaction(async (conn) => {
          await expect(conn.beginTransaction()).rejects.toThrow(DbTransactionError);
          await expect(conn.commit()).rejects.toThrow('would end it early');
          await expect(conn.rollback()).rejects.toThrow(DbTransactionError);
          await expect(
            conn.transaction(async () => undefined, { isolationLevel: 'SERIALIZABLE' }),
          ).rejects.toThrow('cannot change that');
          await expect(conn.transaction(async () => undefined, { readOnly: true })).rejects.toThrow(
            DbTransactionError,
          );
          await insert(conn, 'still-open');
        });
        expect(await tags('items')).toEqual(['still-open']);
      });

      it('checks options before touching the database', async () => {
        const bad = { isolationLevel: 'SNAPSHOT' } as unknown as { isolationLevel: 'SERIALIZABLE' };
        await expect(pool.transaction(async () => 1, bad)).rejects.toMatchObject({
          code: 'DB_CONFIG',
          message: expect.stringContaining('Invalid transaction() option "isolationLevel"'),
        });
        expect(pool.stats().borrowed).toBe(0);
      });
    });
  },
);
