// The built CommonJS twin beyond Express HTTP: Fastify, a TCP microservice, GraphQL (Apollo), a
// job with no request, a WebSocket gateway and health checks (see transports.shared.cjs), loaded
// with require() as a CommonJS Nest app does. Run by `npm run test:package` after the build;
// prints one line and exits non-zero on failure.
'use strict';

// oxlint-disable-next-line import/no-unassigned-import
require('reflect-metadata');
const { join, relative } = require('node:path');
const { runScript } = require('./script.cjs');
const { runTransports } = require('./transports.shared.cjs');

const ROOT = join(__dirname, '..', '..');

async function main() {
  const entry = relative(ROOT, require.resolve('nestjs-mysql-connection'));
  if (entry !== join('dist', 'cjs', 'index.js')) throw new Error(`require resolved to ${entry}`);
  const { findDatabase } = await import('../../scripts/database.mjs');
  const db = await findDatabase();
  try {
    const ran = await runTransports(
      {
        common: require('@nestjs/common'),
        core: require('@nestjs/core'),
        microservices: require('@nestjs/microservices'),
        fastify: require('@nestjs/platform-fastify'),
        graphql: require('@nestjs/graphql'),
        apollo: require('@nestjs/apollo'),
        rxjs: require('rxjs'),
        websockets: require('@nestjs/websockets'),
        platformWs: require('@nestjs/platform-ws'),
        ws: require('ws'),
        terminus: require('@nestjs/terminus'),
        lib: require('nestjs-mysql-connection'),
        health: require('nestjs-mysql-connection/health'),
      },
      db.url,
    );
    return `require -> ${entry}: ${ran}`;
  } finally {
    await db.stop();
  }
}

runScript('transports cjs', 90, main);
