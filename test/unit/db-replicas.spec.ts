import { describe, expect, it, jest } from '@jest/globals';
import { DbConfigError, DbPool } from 'nestjs-mysql-connection';
import { isPlainRead, warnIfOversized } from '../../lib/db-replicas.js';

describe('isPlainRead (what may run on a replica)', () => {
  it.each([
    'SELECT 1',
    '  select * from t where id = ?',
    '/* hint */ SELECT @@server_id',
    'SHOW TABLES',
    'WITH x AS (SELECT 1) SELECT * FROM x',
    '(SELECT 1) UNION (SELECT 2)',
    'EXPLAIN SELECT 1',
  ])('%s is a read', (sql) => expect(isPlainRead(sql)).toBe(true));

  it.each([
    'INSERT INTO t VALUES (1)',
    'UPDATE t SET a = 1',
    'SELECT * FROM t FOR UPDATE',
    'SELECT * FROM t LOCK IN SHARE MODE',
    'SELECT * FROM t FOR SHARE',
    'SELECT 1 INTO @x',
    'SELECT @x := 1',
    "SELECT GET_LOCK('a', 1)",
    'SELECT 1; DELETE FROM t',
    'SET @x = 1',
    'START TRANSACTION',
    'CALL p()',
  ])('%s is not', (sql) => expect(isPlainRead(sql)).toBe(false));
});

describe('replica options', () => {
  const base = { uri: 'mysql://u@127.0.0.1:1/db', replicas: [{ uri: 'mysql://u@127.0.0.1:2/db' }] };

  it.each([
    [{ replicaSelector: 'fastest' }],
    [{ replicaFallback: 'retry' }],
    [{ maxReplicationLag: -1 }],
    [{ replicaCheckInterval: 10 }],
    [{ expectedInstances: 0 }],
    [{ replicas: 'mysql://x' }],
  ])('rejects %j', (bad) => {
    expect(() => new DbPool({ ...base, ...(bad as object) })).toThrow(DbConfigError);
  });

  it('names the replica pools after the primary and gives them its pool options', async () => {
    const pool = new DbPool({ ...base, name: 'main', connectionLimit: 3, logger: false });
    try {
      expect(pool.replicas!.pools.map((p) => [p.name, p.options.connectionLimit])).toEqual([
        ['main/replica-0', 3],
      ]);
      expect(pool.replicas!.pools[0].options.target.port).toBe(2);
      expect(pool.options.driver).not.toHaveProperty('replicas');
    } finally {
      await pool.close();
    }
  });
});

describe('sizing guardrail', () => {
  const fake = (connectionLimit: number, expectedInstances: number) => {
    const warn = jest.fn();
    return {
      warn,
      pool: {
        name: 'default',
        options: { connectionLimit, expectedInstances },
        logger: { warn },
      } as unknown as DbPool,
    };
  };

  it('warns when connectionLimit × expectedInstances exceeds max_connections less 10 %', () => {
    const over = fake(10, 14); // 140 > 151 - 10 % = 135
    warnIfOversized(over.pool, 151);
    expect(over.warn).toHaveBeenCalledWith(
      expect.stringMatching(/10 × expectedInstances 14 = 140/),
    );
    const fits = fake(10, 13); // 130 <= 135
    warnIfOversized(fits.pool, 151);
    expect(fits.warn).not.toHaveBeenCalled();
  });
});
