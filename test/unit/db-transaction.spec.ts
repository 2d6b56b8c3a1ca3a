import { describe, expect, it } from '@jest/globals';
import { UseInterceptors, type NestInterceptor } from '@nestjs/common';
import {
  DbConfigError,
  DbDeadlockError,
  DbInterceptor,
  DbLockWaitTimeoutError,
  DbTransactionError,
  TRANSACTION_DEFAULTS,
  Transactional,
} from 'nestjs-mysql-connection';
import {
  resolveTransactionOptions,
  retryDelay,
  withRetries,
  type ResolvedTransactionOptions,
} from '../../lib/db-transaction.js';
import { transactionalOf } from '../../lib/db-transactional.decorator.js';

/** A driver error as mysql2 makes it. */
const driverError = (code: string, errno: number) =>
  Object.assign(new Error(`${code} from the server`), { code, errno, sqlState: '40001' });
const deadlock = () => driverError('ER_LOCK_DEADLOCK', 1213);
const lockWait = () => driverError('ER_LOCK_WAIT_TIMEOUT', 1205);

describe('transaction options', () => {
  it('fills in the defaults', () => {
    expect(resolveTransactionOptions(undefined, 'transaction()')).toEqual({
      isolationLevel: undefined,
      readOnly: undefined,
      retries: 0,
      retryOnLockWaitTimeout: false,
      connection: 'default',
    });
  });

  it.each([
    [{ isolationLevel: 'SNAPSHOT' }, '"isolationLevel": got "SNAPSHOT", expected one of READ'],
    [{ isolationLevel: 'read committed' }, '"isolationLevel": got "read committed"'],
    [{ readOnly: 'yes' }, '"readOnly": got "yes", expected true or false'],
    [{ retries: -1 }, '"retries": got -1, expected an integer >= 0'],
    [{ retries: 1.5 }, '"retries": got 1.5'],
    [{ retryOnLockWaitTimeout: 1 }, '"retryOnLockWaitTimeout": got 1'],
    [{ isolation: 'SERIALIZABLE' }, '"isolation": got "(unknown option)"'],
    [{ connection: 'reports' }, '"connection": got "(unknown option)"'],
  ])('refuses %j in transaction(), naming the option', (input, message) => {
    const resolve = () => resolveTransactionOptions(input as never, 'transaction()');
    expect(resolve).toThrow(DbConfigError);
    expect(resolve).toThrow(`Invalid transaction() option ${message}`);
  });

  it('refuses bad @Transactional() options when the class is defined', () => {
    expect(() => Transactional({ connection: '' })).toThrow(
      'Invalid @Transactional() option "connection": got ""',
    );
    expect(() => Transactional({ retries: Number.NaN })).toThrow(DbConfigError);
    expect(() => Transactional({ connection: 'reports', retries: 2 })).not.toThrow();
  });

  it('takes the method options over the class options, on the same connection only', () => {
    const on = (connection: string, retries = 0): ResolvedTransactionOptions => ({
      ...resolveTransactionOptions({ retries }, 'transaction()'),
      connection,
    });
    expect(transactionalOf(undefined, undefined, 'C.m')).toBeUndefined();
    expect(transactionalOf(on('default'), undefined, 'C.m')).toEqual(on('default'));
    expect(transactionalOf(on('default'), on('default', 3), 'C.m')).toEqual(on('default', 3));
    expect(() => transactionalOf(on('default'), on('reports'), 'C.m')).toThrow(DbTransactionError);
    expect(() => transactionalOf(on('default'), on('reports'), 'C.m')).toThrow(
      '@Transactional() on C.m names two connections: "default" (outer) and "reports" (inner)',
    );
  });
});

describe('@Transactional() and other interceptors', () => {
  class Other implements NestInterceptor {
    intercept = () => {
      throw new Error('not called');
    };
  }
  // Nest runs a handler's interceptors in the order of this list, first = outermost.
  const interceptorsOf = (holder: object) => Reflect.getMetadata('__interceptors__', holder);

  it('puts DbInterceptor outermost, above or below @UseInterceptors()', () => {
    class Handlers {
      @UseInterceptors(Other)
      @Transactional()
      underUseInterceptors() {}

      @Transactional()
      @UseInterceptors(Other)
      overUseInterceptors() {}
    }
    @Transactional()
    @UseInterceptors(Other, DbInterceptor)
    class OnClass {}
    const proto = Handlers.prototype;
    expect(interceptorsOf(proto.underUseInterceptors)).toEqual([DbInterceptor, Other]);
    expect(interceptorsOf(proto.overUseInterceptors)).toEqual([DbInterceptor, Other]);
    expect(interceptorsOf(OnClass)).toEqual([DbInterceptor, Other]);
  });
});

describe('retry delay', () => {
  const { retryDelayBase, retryDelayMax } = TRANSACTION_DEFAULTS;

  it('waits between half and all of an exponential cap', () => {
    for (let attempt = 1; attempt <= 10; attempt++) {
      const cap = Math.min(retryDelayMax, retryDelayBase * 2 ** (attempt - 1));
      expect(retryDelay(attempt, () => 0)).toBe(cap / 2);
      expect(retryDelay(attempt, () => 0.999999)).toBe(cap);
    }
    expect(retryDelay(1, () => 0.5)).toBe(15);
    expect(retryDelay(3, () => 0)).toBe(40);
    expect(retryDelay(30, () => 1)).toBe(retryDelayMax);
  });
});

describe('withRetries', () => {
  const options = (o: Partial<ResolvedTransactionOptions> = {}): ResolvedTransactionOptions => ({
    ...resolveTransactionOptions(undefined, 'transaction()'),
    ...o,
  });
  const pauses: number[] = [];
  const sleep = (ms: number) => {
    pauses.push(ms);
    return Promise.resolve();
  };
  /** An attempt that fails with `errors` in turn, then resolves to the attempt number. */
  const failing = (...errors: Error[]) => {
    let calls = 0;
    const attempt = () => {
      calls++;
      const err = errors[calls - 1];
      return err ? Promise.reject(err) : Promise.resolve(calls);
    };
    return { attempt, calls: () => calls };
  };

  it('runs the attempt again after a deadlock, up to `retries` times, pausing in between', async () => {
    pauses.length = 0;
    const run = failing(deadlock(), deadlock());
    await expect(withRetries('default', options({ retries: 3 }), run.attempt, sleep)).resolves.toBe(
      3,
    );
    expect(pauses).toHaveLength(2);
    expect(pauses[0]).toBeGreaterThanOrEqual(10);
    expect(pauses[0]).toBeLessThanOrEqual(20);
    expect(pauses[1]).toBeGreaterThanOrEqual(20);
    expect(pauses[1]).toBeLessThanOrEqual(40);
  });

  it('gives up with DbDeadlockError, counting the attempts, keeping the driver error', async () => {
    const first = deadlock();
    const run = failing(first, deadlock(), deadlock());
    const err = await withRetries('orders', options({ retries: 1 }), run.attempt, sleep).catch(
      (e: unknown) => e,
    );
    expect(run.calls()).toBe(2);
    expect(err).toBeInstanceOf(DbDeadlockError);
    expect(err).toMatchObject({ code: 'DB_DEADLOCK', errno: 1213, pool: 'orders', attempts: 2 });
    expect((err as Error).message).toContain('connection "orders"');
    expect((err as Error).message).toContain('2 attempt(s)');
    expect((err as Error).cause).not.toBe(first); // the last one
  });

  it('retries a lock wait timeout only when asked to', async () => {
    const once = failing(lockWait());
    await expect(
      withRetries('default', options({ retries: 2 }), once.attempt, sleep),
    ).rejects.toBeInstanceOf(DbLockWaitTimeoutError);
    expect(once.calls()).toBe(1);

    const asked = failing(lockWait());
    await expect(
      withRetries(
        'default',
        options({ retries: 2, retryOnLockWaitTimeout: true }),
        asked.attempt,
        sleep,
      ),
    ).resolves.toBe(2);
  });

  it('passes any other error through untouched, without retrying', async () => {
    const other = driverError('ER_DUP_ENTRY', 1062);
    const run = failing(other);
    await expect(withRetries('default', options({ retries: 5 }), run.attempt, sleep)).rejects.toBe(
      other,
    );
    expect(run.calls()).toBe(1);
    // an inner transaction that already gave up is not retried again by an outer one
    const given = new DbDeadlockError('inner gave up', 'default', 4);
    const nested = failing(given);
    await expect(
      withRetries('default', options({ retries: 5 }), nested.attempt, sleep),
    ).rejects.toBe(given);
    expect(nested.calls()).toBe(1);
  });
});
