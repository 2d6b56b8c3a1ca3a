/** What every variant of the HTTP app is given, read once from the driver's environment. */
export interface BenchConfig {
  /** The dedicated bench user's URI; passed by environment, never on the command line (ps shows argv). */
  uri: string;
  /** The same `connectionLimit` for every variant, so they differ only in the layer under test. */
  poolSize: number;
}

/** Injection token of the `BenchConfig`. */
export const BENCH_CONFIG = 'BENCH:CONFIG';

export function readBenchConfig(env: NodeJS.ProcessEnv = process.env): BenchConfig {
  const uri = env.BENCH_DB_URI;
  if (!uri) throw new Error('BENCH_DB_URI is not set: start this app through bench/run.mjs.');
  const poolSize = Number(env.BENCH_POOL_SIZE ?? 10);
  if (!Number.isInteger(poolSize) || poolSize < 1) {
    throw new Error(`BENCH_POOL_SIZE must be an integer >= 1 (got ${env.BENCH_POOL_SIZE}).`);
  }
  return { uri, poolSize };
}

/** Pool gauges every variant reports, in the library's `stats()` vocabulary. */
export interface PoolGauges {
  total: number;
  idle: number;
  borrowed: number;
  pending: number;
}
