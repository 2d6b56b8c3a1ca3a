// Checks that the official OpenTelemetry mysql2 instrumentation still traces the statements this
// package sends: a real Nest app (ESM, built package) answers one request whose handler queries
// through the request's Connection, and the in-memory exporter must hold that statement's span.
//
// A plain Node script, not a Jest spec: the instrumentation patches mysql2 through
// require-in-the-middle when mysql2's files are require()d, and Jest's module loader (its own
// `require`, ESM mode included) bypasses that hook. Run by `npm run test:package` after the build.
// Prints one line and exits non-zero on failure.
// oxlint-disable-next-line import/no-unassigned-import
import 'reflect-metadata';
import { MySQL2Instrumentation } from '@opentelemetry/instrumentation-mysql2';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { request } from 'node:http';
import { findDatabase } from '../../scripts/database.mjs';

const LABEL = 'otel mysql2';
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register();
// Enabled on construction: from now on require('mysql2/...') is patched.
new MySQL2Instrumentation().setTracerProvider(provider);

// Only now load Nest and the package (and, through it, mysql2), as an instrumented app's
// main.ts does after its tracing set-up.
const { Controller, Get, Inject, Module } = await import('@nestjs/common');
const { NestFactory } = await import('@nestjs/core');
const { Connection, DbModule } = await import('nestjs-mysql-connection');

const MARK = `otel-probe-${process.pid}`;
class ProbeController {
  constructor(conn) {
    this.conn = conn;
  }

  async probe() {
    const [rows] = await this.conn.query(`SELECT '${MARK}' AS mark, CONNECTION_ID() AS id`);
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

function get(url) {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

let app;
let db;
try {
  db = await findDatabase();
  class AppModule {}
  Module({ imports: [DbModule.forRoot({ uri: db.url })], controllers: [ProbeController] })(
    AppModule,
  );
  app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address();
  const res = await get(`http://127.0.0.1:${port}/probe`);
  if (res.status !== 200) throw new Error(`GET /probe answered ${res.status}: ${res.body}`);
  await provider.forceFlush();
  const spans = exporter.getFinishedSpans();
  const text = (s) => s.attributes['db.query.text'] ?? s.attributes['db.statement'];
  const probe = spans.find((s) => String(text(s)).includes(MARK));
  if (!probe) {
    throw new Error(
      `no span for the handler's statement among ${spans.length}: ` +
        JSON.stringify(spans.map((s) => [s.name, text(s)])),
    );
  }
  const system = probe.attributes['db.system.name'] ?? probe.attributes['db.system'];
  if (system !== 'mysql') throw new Error(`span db.system is ${system}`);
  console.log(
    `${LABEL}: ok (${spans.length} span(s); "${probe.name}" with db.system ${system}, ` +
      `from a request-scoped Connection)`,
  );
} catch (err) {
  console.error(`${LABEL}: FAILED: ${err instanceof Error ? err.stack : err}`);
  process.exitCode = 1;
} finally {
  await app?.close();
  await provider.shutdown();
  await db?.stop();
}
