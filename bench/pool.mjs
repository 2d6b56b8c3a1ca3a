// Micro-benchmark of the pool layer alone, no HTTP and no Nest: borrow + `SELECT 1` + return
// through this package's DbPool.withConnection() versus mysql2's pool used directly.
//
//   node --expose-gc bench/pool.mjs          (after npm run build; prints a table)
//   node --expose-gc bench/pool.mjs --json   (what bench/run.mjs reads)
//
// Env: BENCH_DB_URI (else the server scripts/database.mjs finds, database `test`),
// BENCH_QUICK=1, BENCH_POOL_ROUNDS, BENCH_POOL_SECONDS, BENCH_POOL_WORKERS, BENCH_ALLOC_ROUNDS,
// BENCH_ALLOC_OPS, BENCH_LIBRARY (a file URL of the package entry to test instead of dist/).
import v8 from 'node:v8';
import mysql from 'mysql2';
import mysqlPromise from 'mysql2/promise';
import { findDatabase } from '../scripts/database.mjs';
import { envInt, median, rotate } from './measure.mjs';

// The driver passes its snapshot of the built package (see run.mjs), so that a rebuild of dist/
// during the run cannot change the code under test.
const { DbPool } = await import(process.env.BENCH_LIBRARY ?? 'nestjs-mysql-connection');

const SQL = 'SELECT 1';
const quick = process.env.BENCH_QUICK === '1';
const settings = {
  workers: envInt('BENCH_POOL_WORKERS', 16),
  // Many short interleaved rounds rather than a few long ones: on a shared machine the background
  // load changes within seconds, and short alternating slices see the same load.
  rounds: envInt('BENCH_POOL_ROUNDS', quick ? 3 : 12),
  seconds: Number(process.env.BENCH_POOL_SECONDS ?? (quick ? 0.5 : 1)),
  // Allocation per op barely varies between passes (it counts bytes, not time): fewer passes.
  allocRounds: envInt('BENCH_ALLOC_ROUNDS', 3),
  allocOps: envInt('BENCH_ALLOC_OPS', quick ? 2_000 : 10_000),
};
// Uncontended: one connection per worker, so only the borrow/return path is measured.
// Contended: four times more workers than connections, so the wait queue and hand-off are too.
const SCENARIOS = [
  { name: 'uncontended', limit: settings.workers },
  { name: 'contended', limit: Math.max(1, Math.floor(settings.workers / 4)) },
];

/** The three ways of doing one unit of work; each gets a pool of its own with the same limit. */
const VARIANTS = {
  library: {
    label: 'DbPool.withConnection (this package)',
    create: (uri, limit) => new DbPool({ uri, connectionLimit: limit }),
    op: (pool) => () => pool.withConnection((conn) => conn.query(SQL)),
    gauges: (pool) => pool.stats(),
    close: (pool) => pool.close(),
  },
  'mysql2-promise': {
    label: 'mysql2/promise getConnection/query/release',
    create: (uri, limit) => mysqlPromise.createPool({ uri, connectionLimit: limit }),
    op: (pool) => async () => {
      const conn = await pool.getConnection();
      try {
        await conn.query(SQL);
      } finally {
        conn.release();
      }
    },
    gauges: (pool) => mysql2Gauges(pool.pool),
    close: (pool) => pool.end(),
  },
  'mysql2-callback': {
    label: 'mysql2 callback getConnection/query/release (floor)',
    create: (uri, limit) => mysql.createPool({ uri, connectionLimit: limit }),
    op: (pool) => () =>
      new Promise((resolve, reject) => {
        pool.getConnection((err, conn) => {
          if (err) return reject(err);
          conn.query(SQL, (queryErr) => {
            conn.release();
            if (queryErr) reject(queryErr);
            else resolve();
          });
        });
      }),
    gauges: (pool) => mysql2Gauges(pool),
    close: (pool) => new Promise((resolve) => pool.end(() => resolve())),
  },
};

// mysql2 has no metrics API; its private queues are the only truth (see bench/http/raw-pool.ts).
function mysql2Gauges(pool) {
  const { _allConnections: all, _freeConnections: free, _connectionQueue: queue } = pool;
  return {
    total: all.length,
    idle: free.length,
    borrowed: all.length - free.length,
    pending: queue.length,
  };
}

/** `workers` loops doing `op` until `seconds` have passed; returns completed ops per second. */
async function opsPerSecond(op, seconds) {
  let ops = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      await op();
      ops++;
    }
  };
  await Promise.all(Array.from({ length: settings.workers }, worker));
  return ops / ((performance.now() - start) / 1000);
}

/**
 * Bytes allocated on the JS heap per op, over `count` ops by the same workers: heap growth plus
 * everything each GC in between reclaimed (v8.GCProfiler reports used size before and after every
 * GC). It counts the whole process's JS allocations (mysql2's packet parsing included, the same
 * for all variants), not native memory (socket buffers) and not retained size.
 */
async function bytesPerOp(op, count) {
  globalThis.gc?.();
  const profiler = new v8.GCProfiler();
  profiler.start();
  const before = v8.getHeapStatistics().used_heap_size;
  let left = count;
  const worker = async () => {
    while (left-- > 0) await op();
  };
  await Promise.all(Array.from({ length: settings.workers }, worker));
  const after = v8.getHeapStatistics().used_heap_size;
  const { statistics } = profiler.stop();
  let reclaimed = 0;
  for (const gc of statistics) {
    reclaimed += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
  }
  return (after - before + reclaimed) / count;
}

async function runScenario(uri, scenario) {
  const names = Object.keys(VARIANTS);
  const pools = Object.fromEntries(names.map((n) => [n, VARIANTS[n].create(uri, scenario.limit)]));
  const ops = Object.fromEntries(names.map((n) => [n, VARIANTS[n].op(pools[n])]));
  const perRound = Object.fromEntries(names.map((n) => [n, { ops: [], bytes: [] }]));
  // Warm-up: opens every connection and lets the JIT settle before anything is recorded.
  for (const n of names) await opsPerSecond(ops[n], Math.min(1, settings.seconds));
  for (let round = 0; round < settings.rounds; round++) {
    for (const n of rotate(names, round))
      perRound[n].ops.push(await opsPerSecond(ops[n], settings.seconds));
  }
  for (let round = 0; round < settings.allocRounds; round++) {
    for (const n of rotate(names, round))
      perRound[n].bytes.push(await bytesPerOp(ops[n], settings.allocOps));
  }
  const leaks = {};
  for (const n of names) {
    const { borrowed, pending } = VARIANTS[n].gauges(pools[n]);
    leaks[n] = { borrowed, pending };
    await VARIANTS[n].close(pools[n]);
  }
  const variants = Object.fromEntries(
    names.map((n) => [
      n,
      {
        label: VARIANTS[n].label,
        opsMedian: median(perRound[n].ops),
        opsRounds: perRound[n].ops,
        bytesMedian: median(perRound[n].bytes),
        bytesRounds: perRound[n].bytes,
      },
    ]),
  );
  // Paired per round: each round's ratio compares runs made seconds apart, under the same noise.
  const paired = (a, b) => perRound[a].ops.map((v, i) => v / perRound[b].ops[i]);
  return {
    ...scenario,
    variants,
    ratioVsPromise: variants.library.opsMedian / variants['mysql2-promise'].opsMedian,
    ratioVsCallback: variants.library.opsMedian / variants['mysql2-callback'].opsMedian,
    pairedVsPromise: paired('library', 'mysql2-promise'),
    pairedVsCallback: paired('library', 'mysql2-callback'),
    leaks,
  };
}

async function main() {
  const json = process.argv.includes('--json');
  let uri = process.env.BENCH_DB_URI;
  let stop = async () => {};
  if (!uri) {
    const db = await findDatabase({ log: (m) => console.error(m) });
    uri = new URL('test', db.url).toString();
    stop = db.stop;
  }
  const scenarios = [];
  for (const scenario of SCENARIOS) scenarios.push(await runScenario(uri, scenario));
  await stop();
  const result = { settings, sql: SQL, gcExposed: typeof globalThis.gc === 'function', scenarios };
  if (json) {
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  }
  for (const s of scenarios) {
    console.log(`\n${s.name}: ${settings.workers} workers, connectionLimit ${s.limit}`);
    for (const [name, v] of Object.entries(s.variants)) {
      console.log(
        `  ${name.padEnd(16)} ${v.opsMedian.toFixed(0).padStart(8)} ops/s ` +
          `${v.bytesMedian.toFixed(0).padStart(7)} B/op  leaks ${JSON.stringify(s.leaks[name])}`,
      );
    }
    console.log(
      `  library / mysql2-promise ${s.ratioVsPromise.toFixed(3)}, ` +
        `/ mysql2-callback ${s.ratioVsCallback.toFixed(3)}`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
