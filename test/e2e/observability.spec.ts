import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Meter } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type DataPoint } from '@opentelemetry/sdk-metrics';
import { Counter, Gauge, Registry } from 'prom-client';
import { DbPool } from 'nestjs-mysql-connection';
import { bootApp, type BootedApp } from '../fixtures/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { eventually, get } from '../support/http.js';

// The README's two examples, verbatim but for the registry / meter they are handed (a test app
// must not register into prom-client's global registry or OTel's global meter provider).

/** README "Prometheus (prom-client)". */
function registerPoolMetrics(pool: DbPool, registers: Registry[]) {
  const connections = new Gauge({
    name: 'db_pool_connections',
    help: 'Connections of the pool by state, and its limit',
    labelNames: ['pool', 'state'],
    registers,
    collect() {
      const s = pool.stats();
      for (const state of ['idle', 'borrowed', 'pending', 'limit'] as const) {
        this.set({ pool: s.name, state }, s[state]);
      }
    },
  });
  const acquireWait = new Gauge({
    name: 'db_pool_acquire_wait_ms',
    help: 'Wait for a connection over the last 1,024 acquisitions',
    labelNames: ['pool', 'quantile'],
    registers,
    collect() {
      const s = pool.stats();
      for (const q of ['p50', 'p95', 'p99', 'max'] as const) {
        this.set({ pool: s.name, quantile: q }, s.acquireWaitMs[q]);
      }
    },
  });
  const timeouts = new Counter({
    name: 'db_pool_acquire_timeouts_total',
    help: 'Callers that gave up after acquireTimeout',
    labelNames: ['pool'],
    registers,
    collect() {
      const s = pool.stats();
      this.reset();
      this.inc({ pool: s.name }, s.acquireTimeouts);
    },
  });
  return [connections, acquireWait, timeouts];
}

/** README "OpenTelemetry": the semantic conventions' `db.client.connection.*` instruments. */
function observePool(pool: DbPool, meter: Meter): void {
  const count = meter.createObservableUpDownCounter('db.client.connection.count');
  const pending = meter.createObservableUpDownCounter('db.client.connection.pending_requests');
  const max = meter.createObservableUpDownCounter('db.client.connection.max');
  const timeouts = meter.createObservableCounter('db.client.connection.timeouts');
  meter.addBatchObservableCallback(
    (result) => {
      const s = pool.stats();
      const attrs = { 'db.client.connection.pool.name': s.name };
      result.observe(count, s.idle, { ...attrs, 'db.client.connection.state': 'idle' });
      result.observe(count, s.borrowed, { ...attrs, 'db.client.connection.state': 'used' });
      result.observe(pending, s.pending, attrs);
      result.observe(max, s.limit, attrs);
      result.observe(timeouts, s.acquireTimeouts, attrs);
    },
    [count, pending, max, timeouts],
  );
}

/** Collects on demand, as an exporter's reader would on its schedule. */
class OnDemandReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

describe('pool metrics for Prometheus and OpenTelemetry (README examples)', () => {
  let db: TestDatabase;
  let booted: BootedApp;
  let pool: DbPool;
  const registry = new Registry();
  const reader = new OnDemandReader();
  const provider = new MeterProvider({ readers: [reader] });

  beforeAll(async () => {
    db = await createTestDatabase('observability');
    booted = await bootApp({ uri: db.url, connectionLimit: 2, acquireTimeout: 300 });
    pool = booted.app.get(DbPool);
    registerPoolMetrics(pool, [registry]);
    observePool(pool, provider.getMeter('nestjs-mysql-connection'));
  });

  afterAll(async () => {
    await provider.shutdown();
    await booted?.app.close();
    await db?.drop();
  });

  /** The OTel data points of `name`, as `{ attributes: value }` rows. */
  async function otel(name: string): Promise<{ attributes: object; value: number }[]> {
    const { resourceMetrics } = await reader.collect();
    const metric = resourceMetrics.scopeMetrics
      .flatMap((s) => s.metrics)
      .find((m) => m.descriptor.name === name);
    return ((metric?.dataPoints as DataPoint<number>[] | undefined) ?? []).map((p) => ({
      attributes: p.attributes,
      value: p.value,
    }));
  }

  it('reports the gauges and the timeout counter as the pool sees them', async () => {
    // two requests hold both connections; a third waits, then times out
    const slow = [get(booted.base, '/slow/800'), get(booted.base, '/slow/800')];
    expect(await eventually(() => pool.stats().borrowed === 2)).toBe(true);
    const waiter = get(booted.base, '/ok');
    expect(await eventually(() => pool.stats().pending === 1)).toBe(true);

    const text = await registry.metrics();
    expect(text).toContain('db_pool_connections{pool="default",state="borrowed"} 2');
    expect(text).toContain('db_pool_connections{pool="default",state="pending"} 1');
    expect(text).toContain('db_pool_connections{pool="default",state="limit"} 2');
    expect(await otel('db.client.connection.count')).toEqual(
      expect.arrayContaining([
        {
          attributes: {
            'db.client.connection.pool.name': 'default',
            'db.client.connection.state': 'used',
          },
          value: 2,
        },
      ]),
    );
    expect(await otel('db.client.connection.pending_requests')).toEqual([
      { attributes: { 'db.client.connection.pool.name': 'default' }, value: 1 },
    ]);

    expect((await waiter).status).toBe(503);
    await Promise.all(slow);
    expect(await eventually(() => pool.stats().borrowed === 0)).toBe(true);
    const after = await registry.metrics();
    expect(after).toContain('db_pool_acquire_timeouts_total{pool="default"} 1');
    expect(after).toContain('db_pool_connections{pool="default",state="borrowed"} 0');
    expect(after).toMatch(/db_pool_acquire_wait_ms\{pool="default",quantile="max"\} \d+/);
    expect(await otel('db.client.connection.timeouts')).toEqual([
      { attributes: { 'db.client.connection.pool.name': 'default' }, value: 1 },
    ]);
    expect(await otel('db.client.connection.max')).toEqual([
      { attributes: { 'db.client.connection.pool.name': 'default' }, value: 2 },
    ]);
  });
});
