import { describe, expect, it } from '@jest/globals';
import { mayLeaveUntrackedState } from '../../lib/db-session.js';

describe('mayLeaveUntrackedState', () => {
  it.each([
    'SELECT 1',
    'SELECT id, name FROM users WHERE id = ?',
    'SELECT COUNT(*) AS n, MAX(created_at) FROM orders o JOIN users u ON (u.id = o.user_id)',
    "SELECT CONCAT('a', ';', '@x := 1', 'GET_LOCK(') AS s", // text inside literals is data
    'SELECT CONNECTION_ID() AS id, @tag AS tag', // reading a user variable is harmless
    'SELECT @@SESSION.sql_mode, @@GLOBAL.tx_isolation',
    'WITH t AS (SELECT 1 AS a) SELECT a FROM t WHERE a IN (SELECT 1)',
    'SELECT `select` FROM `from` -- a comment with LOCK and ; in it\n WHERE 1',
    'SELECT /* plain comment: GET_LOCK(x) */ 1',
    'SHOW TABLES',
    // row locks end with the statement in autocommit mode; inside a transaction the open
    // transaction (SERVER_STATUS_IN_TRANS) already makes the session dirty
    'SELECT * FROM t WHERE id = 1 FOR UPDATE',
  ])('a plain read leaves nothing: %s', (sql) => {
    expect(mayLeaveUntrackedState(sql, true)).toBe(false);
  });

  it.each([
    ['SELECT @a := 1', 'assignment in a SELECT'],
    ['SELECT 1 INTO @v', 'SELECT ... INTO (returns an OK packet without the flag)'],
    ["SELECT GET_LOCK('x', 0)", 'named lock'],
    ['SELECT my_fn(1)', 'unknown (stored) function'],
    ['SELECT `my_fn`(1)', 'quoted function name'],
    ['SELECT LAST_INSERT_ID(42)', 'LAST_INSERT_ID(expr) sets session state'],
    ['SELECT * FROM t LOCK IN SHARE MODE', 'row locks'],
    ['SELECT SQL_CALC_FOUND_ROWS * FROM t', 'FOUND_ROWS state'],
    ['SELECT 1; SET @a = 1', 'several statements'],
    ['SELECT /*!50000 @a := 1 */ 1', 'executable comment'],
    ['CALL proc()', 'procedure'],
  ])('a row-returning statement that may leave state: %s (%s)', (sql) => {
    expect(mayLeaveUntrackedState(sql, true)).toBe(true);
  });

  it.each([
    ["DO GET_LOCK('x', 0)", true],
    ['SET TRANSACTION ISOLATION LEVEL SERIALIZABLE', true],
    ['LOCK TABLES t WRITE', true],
    ['HANDLER t OPEN', true],
    ["XA START 'x'", true],
    ['INSERT INTO t (a) VALUES (my_fn(1))', false], // stored functions here are reported by the flag
    ['REPLACE INTO t VALUES (1)', false],
    ['UPDATE t SET a = 1 WHERE id = 2', false],
    ['START TRANSACTION', false], // reported through SERVER_STATUS_IN_TRANS
    ['DELETE FROM t', false],
  ])('an OK-packet statement: %s → %p', (sql, dirty) => {
    expect(mayLeaveUntrackedState(sql, false)).toBe(dirty);
  });
});
