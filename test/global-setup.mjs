// Finds (or starts) the database every suite uses, through the same helper as the sample app.
import { findDatabase, redact } from '../scripts/database.mjs';

export default async function globalSetup() {
  const db = await findDatabase({ log: (m) => process.stderr.write(`[db] ${m}\n`) });
  process.env.MYSQL_URL = db.url;
  globalThis.nmcDatabase = db;
  process.stderr.write(`[db] tests use ${redact(db.url)} (${db.source})\n`);
}
