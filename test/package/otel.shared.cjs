// The body of `otel.cjs` and `otel.mjs`: a real Nest app on the built package answers one request
// whose handler queries through the request's Connection, and the in-memory exporter must hold
// that statement's span. The two scripts differ in how they load the package (require vs import);
// both set up tracing first, as an instrumented app's entry point does.
'use strict';

const { MySQL2Instrumentation } = require('@opentelemetry/instrumentation-mysql2');
const { InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { http } = require('./script.cjs');

/**
 * Registers a tracer provider with an in-memory exporter and enables the mysql2 instrumentation:
 * from then on require('mysql2/...') is patched. Call it before Nest and the package are loaded.
 */
function startTracing() {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  provider.register();
  new MySQL2Instrumentation().setTracerProvider(provider);
  return { provider, exporter };
}

/**
 * @param m the loaded modules: { common, core, lib }
 * @param tracing what `startTracing()` returned, called before `m` was loaded
 * @param url the test server's URL
 * @returns the line to print on success
 */
async function runOtelProbe(m, { provider, exporter }, url) {
  const { Controller, Get, Inject, Module } = m.common;
  const { NestFactory } = m.core;
  const { Connection, DbModule } = m.lib;
  const mark = `otel-probe-${process.pid}`;
  class ProbeController {
    constructor(conn) {
      this.conn = conn;
    }

    async probe() {
      const [rows] = await this.conn.query(`SELECT '${mark}' AS mark, CONNECTION_ID() AS id`);
      return rows[0];
    }
  }
  Inject(Connection)(ProbeController, undefined, 0);
  Get('probe')(
    ProbeController.prototype,
    'probe',
    Object.getOwnPropertyDescriptor(ProbeController.prototype, 'probe'),
  );
  Controller()(ProbeController);
  class AppModule {}
  Module({ imports: [DbModule.forRoot({ uri: url })], controllers: [ProbeController] })(AppModule);

  const app = await NestFactory.create(AppModule, { logger: false });
  try {
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address();
    const res = await http(`http://127.0.0.1:${port}/probe`);
    if (res.status !== 200) throw new Error(`GET /probe answered ${res.status}: ${res.body}`);
    await provider.forceFlush();
    const spans = exporter.getFinishedSpans();
    const text = (s) => s.attributes['db.query.text'] ?? s.attributes['db.statement'];
    const probe = spans.find((s) => String(text(s)).includes(mark));
    if (!probe) {
      throw new Error(
        `no span for the handler's statement among ${spans.length}: ` +
          JSON.stringify(spans.map((s) => [s.name, text(s)])),
      );
    }
    const system = probe.attributes['db.system.name'] ?? probe.attributes['db.system'];
    if (system !== 'mysql') throw new Error(`span db.system is ${system}`);
    return (
      `${spans.length} span(s); "${probe.name}" with db.system ${system}, ` +
      'from a request-scoped Connection'
    );
  } finally {
    await app.close();
  }
}

module.exports = { runOtelProbe, startTracing };
