import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { AppModule } from './app.module.js';
import { portFromEnv } from './settings.js';

const logger = new Logger('Sample');

async function bootstrap(): Promise<void> {
  const port = portFromEnv();
  // abortOnError off: Nest would otherwise process.abort() (a core dump) on a start-up error,
  // where a message and exit code 1 is what a user needs.
  const app = await NestFactory.create(AppModule.forRoot(), { abortOnError: false });
  // On SIGINT/SIGTERM the pool drains (requests in flight finish) before the process ends;
  // useProcessExit makes a clean shutdown exit 0 instead of dying of the signal.
  app.enableShutdownHooks([], { useProcessExit: true });
  await app.listen(port);
  const { port: actual } = app.getHttpServer().address() as AddressInfo;
  logger.log(`Listening on http://localhost:${actual}`);
}

bootstrap().catch((err: unknown) => {
  logger.error(`Could not start: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
