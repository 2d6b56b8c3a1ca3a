// The built ESM package beyond Express HTTP: Fastify, a TCP microservice, GraphQL (Apollo), a job
// with no request, a WebSocket gateway and health checks (see transports.shared.cjs), loaded with
// import as an ESM Nest app does.
// Run by `npm run test:package` after the build; prints one line and exits non-zero on failure.
// oxlint-disable-next-line import/no-unassigned-import
import 'reflect-metadata';
import * as apollo from '@nestjs/apollo';
import * as common from '@nestjs/common';
import * as core from '@nestjs/core';
import * as graphql from '@nestjs/graphql';
import * as microservices from '@nestjs/microservices';
import * as fastify from '@nestjs/platform-fastify';
import * as platformWs from '@nestjs/platform-ws';
import * as terminus from '@nestjs/terminus';
import * as websockets from '@nestjs/websockets';
import * as lib from 'nestjs-mysql-connection';
import * as health from 'nestjs-mysql-connection/health';
import * as rxjs from 'rxjs';
import * as ws from 'ws';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findDatabase } from '../../scripts/database.mjs';
import script from './script.cjs';
import shared from './transports.shared.cjs';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');

async function main() {
  const entry = relative(ROOT, fileURLToPath(import.meta.resolve('nestjs-mysql-connection')));
  if (entry !== join('dist', 'esm', 'index.js')) throw new Error(`import resolved to ${entry}`);
  const db = await findDatabase();
  try {
    const modules = {
      common,
      core,
      microservices,
      fastify,
      graphql,
      apollo,
      rxjs,
      websockets,
      platformWs,
      ws,
      terminus,
      lib,
      health,
    };
    const ran = await shared.runTransports(modules, db.url);
    return `import -> ${entry}: ${ran}`;
  } finally {
    await db.stop();
  }
}

script.runScript('transports esm', 90, main);
