// What does the session clean-up on release cost? Compares, on the raw mysql2 pool, a borrow /
// statement / release cycle with and without COM_RESET_CONNECTION before the release, for a text
// query and for a prepared statement (the reset also drops server-side prepared statements, so
// execute() has to prepare again). Interleaved rounds; medians. `node bench/reset-cost.mjs`
import mysql from 'mysql2';
import { findDatabase } from '../scripts/database.mjs';

const OPS = Number(process.env.OPS ?? 4000);
const WORKERS = Number(process.env.WORKERS ?? 4);
const ROUNDS = Number(process.env.ROUNDS ?? 5);

const db = await findDatabase();
const pool = mysql.createPool({ uri: db.url, connectionLimit: WORKERS });
const p = (fn) => new Promise((res, rej) => fn((err, v) => (err ? rej(err) : res(v))));

async function cycle(reset, prepared) {
  const conn = await p((cb) => pool.getConnection(cb));
  await p((cb) => (prepared ? conn.execute('SELECT ? AS x', [1], cb) : conn.query('SELECT 1', cb)));
  if (reset) await p((cb) => conn.reset(cb));
  conn.release();
}

async function measure(reset, prepared) {
  let left = OPS;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      while (left-- > 0) await cycle(reset, prepared);
    }),
  );
  return OPS / (Number(process.hrtime.bigint() - started) / 1e9);
}

const variants = [
  ['query, no reset', false, false],
  ['query, reset', true, false],
  ['execute, no reset', false, true],
  ['execute, reset', true, true],
];
const results = new Map(variants.map(([name]) => [name, []]));
await measure(false, false); // warm-up
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, reset, prepared] of variants)
    results.get(name).push(await measure(reset, prepared));
}
const median = (xs) => xs.toSorted((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`${OPS} cycles x ${ROUNDS} rounds, ${WORKERS} workers; median ops/s`);
for (const [name] of variants) {
  const m = median(results.get(name));
  console.log(
    `${name.padEnd(20)} ${m.toFixed(0).padStart(8)} ops/s  ${(1e6 / m).toFixed(1)} us/op`,
  );
}
pool.end();
await db.stop();
