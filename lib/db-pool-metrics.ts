import type { DbDestroyReason, DbTimings } from './interfaces/index.js';

/**
 * The last `size` samples of a duration, for percentiles. A fixed ring: recording allocates
 * nothing, and old traffic ages out so the figures describe the pool as it is now. @internal
 */
export class SampleRing {
  private readonly samples: Float64Array;
  private count = 0;
  private next = 0;

  constructor(size = 1024) {
    this.samples = new Float64Array(size);
  }

  record(ms: number): void {
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.samples.length;
    if (this.count < this.samples.length) this.count++;
  }

  summary(): DbTimings {
    if (this.count === 0) return { p50: 0, p95: 0, p99: 0, max: 0 };
    const sorted = this.samples.subarray(0, this.count).toSorted();
    const at = (q: number) => sorted[Math.min(this.count - 1, Math.ceil(q * this.count) - 1)];
    return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[this.count - 1] };
  }
}

/** Counters of one pool; plain numbers, bumped in place on the hot path. @internal */
export class PoolCounters {
  created = 0;
  acquireTimeouts = 0;
  leaks = 0;
  readonly destroyed: Record<DbDestroyReason, number> = {
    fatal: 0,
    lifetime: 0,
    idle: 0,
    validation: 0,
    reset: 0,
    timeout: 0,
    shutdown: 0,
  };
  readonly acquireWait = new SampleRing();
  readonly hold = new SampleRing();
}
