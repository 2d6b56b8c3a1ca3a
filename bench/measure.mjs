// Small helpers shared by the driver and the pool micro-benchmark.
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const AUTOCANNON = join(ROOT, 'node_modules', 'autocannon', 'autocannon.js');
const run = promisify(execFile);

export function median(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).toSorted((x, y) => x - y);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** `list` rotated left by `by`: round r starts with a different variant, so none is always first. */
export function rotate(list, by) {
  const k = list.length ? by % list.length : 0;
  return [...list.slice(k), ...list.slice(0, k)];
}

/** An integer from the environment, or `fallback`; anything else is an error, not a guess. */
export function envInt(name, fallback, min = 1) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${name} must be an integer >= ${min} (got "${raw}").`);
  }
  return value;
}

/**
 * Runs autocannon in its own process (so the load generator's CPU is not the server's and its
 * event loop is not the driver's) and returns the figures the report uses. `amount` (requests)
 * replaces `duration` (seconds) when given.
 */
export async function autocannon({ url, connections, duration, amount }) {
  const args = [AUTOCANNON, '--json', '--no-progress', '-c', String(connections)];
  if (amount) args.push('-a', String(amount));
  else args.push('-d', String(duration));
  args.push(url);
  const { stdout } = await run(process.execPath, args, { maxBuffer: 64 * 1024 * 1024 });
  const r = JSON.parse(stdout);
  return {
    // Successful responses only: a fast 503 is not throughput.
    rps: r['2xx'] / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    ok: r['2xx'],
    errors: r.errors + r.timeouts + r.non2xx,
    seconds: r.duration,
  };
}
