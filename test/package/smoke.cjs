// Smoke test of the built CommonJS twin, used the way a CommonJS Nest app uses it: require() of
// the package and of @nestjs/*, a controller that injects Connection, one real HTTP request.
// Run by `npm run test:package` after the build; prints one line and exits non-zero on failure.
'use strict';

// Loaded for its side effect (the Reflect metadata API), first, as in every Nest app's main.
// oxlint-disable-next-line import/no-unassigned-import
require('reflect-metadata');
const { readFileSync } = require('node:fs');
const { dirname, join, relative } = require('node:path');
const { Controller, Get, Inject, Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { Connection, DbModule } = require('nestjs-mysql-connection');
const { http, runScript } = require('./script.cjs');

const LABEL = 'smoke cjs';
const ROOT = join(__dirname, '..', '..');

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
  for (
    let dir = dirname(require.resolve('@nestjs/core'));
    dir !== dirname(dir);
    dir = dirname(dir)
  ) {
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
  const entry = relative(ROOT, require.resolve('nestjs-mysql-connection'));
  if (entry !== join('dist', 'cjs', 'index.js')) throw new Error(`require() resolved to ${entry}`);

  const { findDatabase } = await import('../../scripts/database.mjs');
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
    return `Nest ${nestVersion()}, require -> ${entry}, GET /smoke/id 200, CONNECTION_ID ${body.id}`;
  } finally {
    await app?.close();
    await db.stop();
  }
}

// A hang (a pool that never answers, a server that never closes) must fail, not stall CI.
runScript(LABEL, 60, main);
