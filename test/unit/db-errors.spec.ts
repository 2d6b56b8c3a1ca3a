import { describe, expect, it } from '@jest/globals';
import { isFatalError } from '../../lib/db-errors.js';

describe('isFatalError: which errors mean the connection must be destroyed', () => {
  it.each([
    ['mysql2 fatal flag', { fatal: true, code: 'SOMETHING' }],
    ['lost connection (server closed the socket)', { code: 'PROTOCOL_CONNECTION_LOST' }],
    [
      'query inactivity timeout (statement still running server-side)',
      { code: 'PROTOCOL_SEQUENCE_TIMEOUT' },
    ],
    ['RST', { code: 'ECONNRESET' }],
    ['broken pipe', { code: 'EPIPE' }],
    ['connect timeout', { code: 'ETIMEDOUT' }],
    ['refused', { code: 'ECONNREFUSED' }],
    ['ER_SERVER_SHUTDOWN', { errno: 1053, code: 'ER_SERVER_SHUTDOWN' }],
    ['MariaDB ER_CONNECTION_KILLED', { errno: 1927 }],
    ['MySQL 8 ER_CLIENT_INTERACTION_TIMEOUT (wait_timeout)', { errno: 4031, fatal: true }],
    ['MySQL 8 4031 without the flag', { errno: 4031 }],
    ['closed state ("Can\'t add new command")', { fatal: true }],
  ])('%s → fatal', (_, err) => {
    expect(isFatalError(Object.assign(new Error('x'), err))).toBe(true);
  });

  it.each([
    ['KILL QUERY: ER_QUERY_INTERRUPTED', { errno: 1317, code: 'ER_QUERY_INTERRUPTED' }],
    ['duplicate key', { errno: 1062, code: 'ER_DUP_ENTRY' }],
    ['syntax error', { errno: 1064, code: 'ER_PARSE_ERROR' }],
    [
      'deadlock (the transaction is rolled back, the connection is fine)',
      { errno: 1213, code: 'ER_LOCK_DEADLOCK' },
    ],
    ['lock wait timeout', { errno: 1205, code: 'ER_LOCK_WAIT_TIMEOUT' }],
    ['read-only transaction', { errno: 1792 }],
    ['explicit fatal: false', { fatal: false, errno: 1146 }],
  ])('%s → not fatal', (_, err) => {
    expect(isFatalError(Object.assign(new Error('x'), err))).toBe(false);
  });

  it.each([null, undefined, 'string', 42])('%p → not fatal', (value) => {
    expect(isFatalError(value)).toBe(false);
  });
});
