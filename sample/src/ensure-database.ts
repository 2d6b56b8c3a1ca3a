import mysql, { type RowDataPacket } from 'mysql2/promise';
import { describeServer, withDatabase } from './settings.js';

/**
 * Creates `database` on the server at `url` unless it exists. Runs on a plain connection of its
 * own, without a database, because the pool's connections name the database and could not open
 * before it exists.
 */
export async function ensureDatabase(url: string, database: string): Promise<void> {
  let conn: mysql.Connection | undefined;
  try {
    conn = await mysql.createConnection({
      uri: withDatabase(url, undefined),
      connectTimeout: 5000,
    });
    // Checked first: a user granted only this database may not run CREATE DATABASE, even with
    // IF NOT EXISTS, but can see the database here.
    const [rows] = await conn.query<RowDataPacket[]>(
      'SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
      [database],
    );
    if (rows.length === 0) {
      await conn.query(`CREATE DATABASE IF NOT EXISTS \`${database.replaceAll('`', '``')}\``);
    }
  } catch (err) {
    const reason = (err as { code?: string }).code ?? (err as Error).message;
    throw new Error(
      `Could not make sure database "${database}" exists on ${describeServer(url)}: ${reason}. ` +
        'Check MYSQL_URL (mysql://user:password@host:3306/database) and that the server is running.',
      { cause: err },
    );
  } finally {
    await conn?.end().catch(() => undefined);
  }
}
