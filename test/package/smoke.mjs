// Smoke test of the built ESM package, used the way an ESM Nest app uses it: import of the
// package and of @nestjs/*, a controller that injects Connection, one real HTTP request.
// Run by `npm run test:package` after the build; prints one line and exits non-zero on failure.
// Loaded for its side effect (the Reflect metadata API), first, as in every Nest app's main.
// oxlint-disable-next-line import/no-unassigned-import
import 'reflect-metadata';
import { Controller, Get, Inject, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Connection, DbModule } from 'nestjs-mysql-connection';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findDatabase } from '../../scripts/database.mjs';
import script from './script.cjs';

const { http } = script;

const LABEL = 'smoke esm';
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

// Plain JavaScript has no parameter decorators or emitted metadata: apply them by hand, as
// TypeScript's compiled output would.
class SmokeController {
  constructor(conn) {
    this.conn = conn;
  }

  async id() {
    const [rows] = await this.conn.query('SELECT CONNECTION_ID() AS id');
    return { id: rows[0].id, threadId: this.conn.threadId };
  }
}
Inject(Connection)(SmokeController, undefined, 0);
Get('id')(
  SmokeController.prototype,
  'id',
  Object.getOwnPropertyDescriptor(SmokeController.prototype, 'id'),
);
Controller('smoke')(SmokeController);

/** `@nestjs/core`'s version, read from disk (its exports map hides package.json on Nest 12). */
function nestVersion() {
  const entry = fileURLToPath(import.meta.resolve('@nestjs/core'));
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (pkg.name === '@nestjs/core') return pkg.version;
    } catch {
      // no package.json at this level
    }
  }
  return 'unknown';
}

async function main() {
  const entry = relative(ROOT, fileURLToPath(import.meta.resolve('nestjs-mysql-connection')));
  if (entry !== join('dist', 'esm', 'index.js')) throw new Error(`import resolved to ${entry}`);

  const db = await findDatabase();
  let app;
  try {
    class AppModule {}
    Module({
      imports: [DbModule.forRoot({ uri: db.url, connectionLimit: 2 })],
      controllers: [SmokeController],
    })(AppModule);

    app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address();
    const reply = await http(`http://127.0.0.1:${port}/smoke/id`);
    const body = reply.status === 200 ? JSON.parse(reply.body) : undefined;
    if (!Number.isInteger(body?.id) || body.id !== body.threadId) {
      throw new Error(`GET /smoke/id: ${reply.status} ${reply.body}`);
    }
    await app.close();
    app = undefined;
    return `Nest ${nestVersion()}, import -> ${entry}, GET /smoke/id 200, CONNECTION_ID ${body.id}`;
  } finally {
    await app?.close();
    await db.stop();
  }
}

// A hang (a pool that never answers, a server that never closes) must fail, not stall CI.
script.runScript(LABEL, 60, main);
