// Decides whether a borrower may have left state on its session, so that the clean-up on return
// (COM_RESET_CONNECTION, measured at about 3x the cost of a borrow/SELECT 1/return cycle on
// MariaDB 10.11) runs only when it is needed.
//
// The server reports most changes itself: with session_track_state_change = ON every OK packet
// carries SERVER_SESSION_STATE_CHANGED when the statement changed user variables, session
// variables, the default schema, temporary tables, prepared statements or table locks, and
// SERVER_STATUS_IN_TRANS while a transaction is open. Two gaps remain, covered here by reading
// the statement's text, conservatively (anything not proven harmless counts as dirty):
// - statements that return rows: their status flags arrive in an EOF packet that mysql2 does not
//   expose, so `SELECT @a := 1`, `SELECT ... INTO @v`, `SELECT GET_LOCK(...)` or a stored function
//   with side effects must be recognised from the text;
// - state the tracker does not report: named locks (`DO GET_LOCK(...)`), one-shot transaction
//   characteristics (`SET TRANSACTION ...`), HANDLER and XA.

/** SERVER_STATUS_IN_TRANS. */
export const STATUS_IN_TRANS = 0x0001;
/** SERVER_SESSION_STATE_CHANGED. */
export const STATUS_STATE_CHANGED = 0x4000;

/** Turns the server's state tracking on for a session (off again after COM_RESET_CONNECTION). */
export const TRACK_STATE_SQL = 'SET SESSION session_track_state_change = ON';

// Words that mean state the tracker does not report, or work whose effects we cannot see.
// (Measured on MariaDB 10.11: `DO GET_LOCK(...)`, `SET TRANSACTION ...` and `SELECT 1 INTO @v`
// return OK packets without SERVER_SESSION_STATE_CHANGED.)
const UNTRACKED = new Set([
  'LOCK', // LOCK TABLES, ... FOR UPDATE / LOCK IN SHARE MODE
  'GET_LOCK',
  'RELEASE_LOCK',
  'RELEASE_ALL_LOCKS',
  'HANDLER',
  'XA',
  'CALL', // a procedure may do anything; its result sets hide the status flags
  'SQL_CALC_FOUND_ROWS',
]);

// Functions known to leave no session state, and keywords that may precede "(".
// A name not listed here (a stored function, GET_LOCK, LAST_INSERT_ID(expr), ...) makes a
// row-returning statement count as dirty.
const HARMLESS_CALLS = new Set(
  // keywords
  (
    'SELECT FROM WHERE AND OR NOT IN EXISTS ANY ALL SOME ON USING JOIN AS OVER VALUES VALUE ' +
    'WITH RECURSIVE UNION EXCEPT INTERSECT HAVING BY WHEN THEN ELSE CASE IS LIKE BETWEEN ' +
    'DISTINCT LIMIT OFFSET PARTITION ROW ROWS INTERVAL BINARY COLLATE ' +
    // aggregates and window functions
    'COUNT SUM AVG MIN MAX GROUP_CONCAT BIT_AND BIT_OR BIT_XOR STD STDDEV STDDEV_POP ' +
    'STDDEV_SAMP VAR_POP VAR_SAMP VARIANCE JSON_ARRAYAGG JSON_OBJECTAGG ROW_NUMBER RANK ' +
    'DENSE_RANK NTILE LAG LEAD FIRST_VALUE LAST_VALUE NTH_VALUE CUME_DIST PERCENT_RANK ' +
    // control flow and comparison
    'IF IFNULL NULLIF COALESCE GREATEST LEAST ISNULL NVL NVL2 FIELD FIND_IN_SET ELT INTERVAL ' +
    // strings
    'CONCAT CONCAT_WS LOWER UPPER LCASE UCASE LENGTH CHAR_LENGTH CHARACTER_LENGTH OCTET_LENGTH ' +
    'SUBSTRING SUBSTR SUBSTRING_INDEX LEFT RIGHT TRIM LTRIM RTRIM LPAD RPAD REPLACE REPEAT ' +
    'REVERSE LOCATE INSTR POSITION ASCII ORD CHAR HEX UNHEX FORMAT INSERT SPACE STRCMP ' +
    'QUOTE SOUNDEX REGEXP_REPLACE REGEXP_SUBSTR REGEXP_INSTR REGEXP_LIKE MATCH AGAINST ' +
    'TO_BASE64 FROM_BASE64 MD5 SHA1 SHA SHA2 CRC32 UUID UUID_SHORT CONVERT CAST ' +
    // numbers
    'ABS CEIL CEILING FLOOR ROUND TRUNCATE MOD POW POWER SQRT EXP LN LOG LOG2 LOG10 SIGN PI ' +
    'RAND CONV BIN OCT DEGREES RADIANS SIN COS TAN ASIN ACOS ATAN ATAN2 COT ' +
    // dates
    'NOW CURDATE CURTIME CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP SYSDATE UTC_DATE UTC_TIME ' +
    'UTC_TIMESTAMP DATE TIME TIMESTAMP YEAR MONTH DAY DAYOFMONTH DAYOFWEEK DAYOFYEAR WEEK ' +
    'WEEKDAY WEEKOFYEAR HOUR MINUTE SECOND MICROSECOND QUARTER DAYNAME MONTHNAME DATE_FORMAT ' +
    'TIME_FORMAT STR_TO_DATE DATE_ADD DATE_SUB ADDDATE SUBDATE ADDTIME SUBTIME DATEDIFF ' +
    'TIMEDIFF TIMESTAMPDIFF TIMESTAMPADD UNIX_TIMESTAMP FROM_UNIXTIME LAST_DAY MAKEDATE ' +
    'MAKETIME EXTRACT CONVERT_TZ TO_DAYS FROM_DAYS TO_SECONDS SEC_TO_TIME TIME_TO_SEC ' +
    // JSON
    'JSON_EXTRACT JSON_VALUE JSON_QUERY JSON_OBJECT JSON_ARRAY JSON_CONTAINS JSON_CONTAINS_PATH ' +
    'JSON_KEYS JSON_LENGTH JSON_TYPE JSON_VALID JSON_UNQUOTE JSON_QUOTE JSON_SET JSON_INSERT ' +
    'JSON_REPLACE JSON_REMOVE JSON_MERGE JSON_MERGE_PATCH JSON_MERGE_PRESERVE JSON_SEARCH ' +
    'JSON_DEPTH JSON_TABLE JSON_OVERLAPS JSON_EXISTS JSON_COMPACT JSON_DETAILED ' +
    // information about the session/server (read only)
    'CONNECTION_ID DATABASE SCHEMA USER CURRENT_USER SESSION_USER SYSTEM_USER VERSION ' +
    'FOUND_ROWS ROW_COUNT CHARSET COLLATION COERCIBILITY SLEEP BENCHMARK INET_ATON INET_NTOA ' +
    'INET6_ATON INET6_NTOA IS_IPV4 IS_IPV6 BIT_COUNT NEXTVAL LASTVAL NAME_CONST ' +
    'POINT ST_ASTEXT ST_GEOMFROMTEXT ST_DISTANCE ST_X ST_Y'
  ).split(/\s+/),
);

/**
 * Whether a statement that ran without error may have left session state behind that the OK
 * packet's flags did not report. `returnedRows`: the statement produced a result set (whose
 * status flags mysql2 does not expose). Pure function of its input. @internal
 */
export function mayLeaveUntrackedState(sql: string, returnedRows: boolean): boolean {
  const n = sql.length;
  let i = 0;
  let first: string | undefined;
  while (i < n) {
    const c = sql.charCodeAt(i);
    // quoted strings and identifiers: skipped (their content is data)
    if (c === 39 /* ' */ || c === 34 /* " */ || c === 96 /* ` */) {
      const end = skipQuoted(sql, i, c);
      // `name`( : a quoted function name, which we cannot vouch for
      if (c === 96 && returnedRows && nextNonSpace(sql, end) === 40 /* ( */) return true;
      i = end;
      continue;
    }
    if (c === 45 /* - */ && sql.charCodeAt(i + 1) === 45) {
      i = skipLine(sql, i);
      continue;
    }
    if (c === 35 /* # */) {
      i = skipLine(sql, i);
      continue;
    }
    if (c === 47 /* / */ && sql.charCodeAt(i + 1) === 42 /* * */) {
      // /*! ... */ and /*M! ... */ are executable comments: their content runs.
      const bang = sql.charCodeAt(i + 2);
      if (bang === 33 /* ! */ || bang === 77 /* M */) return true;
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      continue;
    }
    if (c === 59 /* ; */) return true; // several statements
    if (c === 58 /* : */ && sql.charCodeAt(i + 1) === 61 /* = */) return true; // @v := ...
    if (isWordStart(c)) {
      let j = i + 1;
      while (j < n && isWordPart(sql.charCodeAt(j))) j++;
      const word = sql.slice(i, j).toUpperCase();
      if (UNTRACKED.has(word)) return true;
      first ??= word;
      // SELECT ... INTO @v sets a variable unreported; INSERT/REPLACE INTO is a table.
      if (word === 'INTO' && first !== 'INSERT' && first !== 'REPLACE') return true;
      // SET TRANSACTION ... applies to the next transaction, whoever starts it; unreported.
      if (word === 'TRANSACTION' && first === 'SET') return true;
      if (returnedRows && nextNonSpace(sql, j) === 40 /* ( */ && !HARMLESS_CALLS.has(word)) {
        return true;
      }
      i = j;
      continue;
    }
    i++;
  }
  return false;
}

function skipQuoted(sql: string, start: number, quote: number): number {
  let i = start + 1;
  while (i < sql.length) {
    const c = sql.charCodeAt(i);
    if (c === 92 /* \ */ && quote !== 96) {
      i += 2;
      continue;
    }
    if (c === quote) {
      if (sql.charCodeAt(i + 1) === quote) {
        i += 2; // doubled quote inside the literal
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return i;
}

function skipLine(sql: string, start: number): number {
  const end = sql.indexOf('\n', start);
  return end < 0 ? sql.length : end + 1;
}

function nextNonSpace(sql: string, start: number): number {
  let i = start;
  while (i < sql.length) {
    const c = sql.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13) return c;
    i++;
  }
  return -1;
}

function isWordStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36 || c > 127;
}

function isWordPart(c: number): boolean {
  return isWordStart(c) || (c >= 48 && c <= 57);
}

/**
 * Remembers the verdict per SQL text: statements repeat (placeholders keep the text constant),
 * so the text is read once. Bounded; cleared when full. @internal
 */
export class SessionStateClassifier {
  private readonly rows = new Map<string, boolean>();
  private readonly ok = new Map<string, boolean>();

  constructor(private readonly capacity = 1000) {}

  mayLeaveState(sql: string, returnedRows: boolean): boolean {
    const cache = returnedRows ? this.rows : this.ok;
    let verdict = cache.get(sql);
    if (verdict === undefined) {
      verdict = mayLeaveUntrackedState(sql, returnedRows);
      if (cache.size >= this.capacity) cache.clear();
      cache.set(sql, verdict);
    }
    return verdict;
  }
}
