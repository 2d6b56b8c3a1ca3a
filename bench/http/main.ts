// One variant of the benchmark app, started by bench/run.mjs:
//   node .tmp/bench/http/main.js <variant> [depth]
// It prints one line, `BENCH_READY {"port":…,"adminPort":…}` or `BENCH_UNAVAILABLE {"reason":…}`,
// then serves until SIGTERM.
// First, before any decorated class is evaluated: TypeScript's emitted metadata calls are no-ops
// without it, and Nest would then see constructors without parameter types.
// oxlint-disable-next-line no-unassigned-import
import 'reflect-metadata';
import { Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { BENCH_CONFIG, readBenchConfig } from './bench.config.js';
import { portOf, startAdminServer } from './admin-server.js';
import { VariantUnavailableError, type Variant, type VariantSetup } from './variant.js';
import { alsVariant } from './variant-als.js';
import { libraryVariant } from './variant-library.js';
import { naiveVariant } from './variant-naive.js';
import { rawVariant } from './variant-raw.js';
import { typeormVariant } from './variant-typeorm.js';

const VARIANTS: Record<string, Variant> = {
  raw: rawVariant,
  naive: naiveVariant,
  typeorm: typeormVariant,
  request: libraryVariant('request'),
  context: libraryVariant('context'),
  als: alsVariant,
};

@Module({})
class BenchAppModule {}

function say(kind: 'READY' | 'UNAVAILABLE', payload: object): void {
  process.stdout.write(`BENCH_${kind} ${JSON.stringify(payload)}\n`);
}

async function main(): Promise<void> {
  const [name = '', depthArg = '1'] = process.argv.slice(2);
  const variant = VARIANTS[name];
  const depth = Number(depthArg);
  if (!variant || !Number.isInteger(depth) || depth < 1) {
    throw new Error(`usage: main.js <${Object.keys(VARIANTS).join('|')}> [depth >= 1]`);
  }
  const config = readBenchConfig();
  let setup: VariantSetup;
  try {
    setup = variant(config, depth);
  } catch (err) {
    if (!(err instanceof VariantUnavailableError)) throw err;
    say('UNAVAILABLE', { reason: err.message });
    return;
  }
  const root: DynamicModule = {
    module: BenchAppModule,
    imports: setup.imports,
    controllers: setup.controllers,
    providers: [{ provide: BENCH_CONFIG, useValue: config }, ...setup.providers],
  };
  // Warnings and errors only: a per-request log line would be what we measure.
  const app = await NestFactory.create(root, { logger: ['error', 'warn'] });
  const reason = setup.unavailable?.(app);
  if (reason) {
    say('UNAVAILABLE', { reason });
    await app.close();
    return;
  }
  // SIGTERM from the driver closes the pools, which the driver then checks on the server side.
  app.enableShutdownHooks();
  await app.listen(0, '127.0.0.1');
  const admin = await startAdminServer(() => setup.gauges(app));
  const port = portOf(app.getHttpServer());
  say('READY', { port, adminPort: portOf(admin), pid: process.pid });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
