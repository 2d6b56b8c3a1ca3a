// The body of `transports.cjs` and `transports.mjs`: the built package in the apps the README's
// compatibility table promises beyond Express HTTP — Fastify, a TCP microservice, GraphQL
// (Apollo), a job with no request, a WebSocket gateway and terminus health checks — each
// answering through a real query. The two scripts only differ in how they load the package and
// Nest (require vs import) and hand the modules in.
'use strict';

const { createServer } = require('node:net');
const { http } = require('./script.cjs');

/** Applies a method decorator as TypeScript's output does (it may replace the descriptor). */
function decorateMethod(cls, key, ...decorators) {
  let desc = Object.getOwnPropertyDescriptor(cls.prototype, key);
  for (const decorate of decorators.toReversed()) desc = decorate(cls.prototype, key, desc) ?? desc;
  Object.defineProperty(cls.prototype, key, desc);
}

function freePort() {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Two statements of one unit of work must run on one server connection. */
async function twoIds(conn) {
  const [[a]] = await conn.query('SELECT CONNECTION_ID() AS id');
  const [[b]] = await conn.query('SELECT CONNECTION_ID() AS id');
  if (a.id !== b.id) throw new Error(`one unit of work ran on connections ${a.id} and ${b.id}`);
  return a.id;
}

async function closed(pool, what) {
  for (let i = 0; i < 100 && pool.stats().borrowed > 0; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  if (pool.stats().borrowed !== 0) throw new Error(`${what}: a connection was not returned`);
}

/**
 * @param m the loaded modules: { common, core, microservices, fastify, graphql, apollo, rxjs,
 *   websockets, platformWs, ws, terminus, lib, health }
 * @param url the test server's URL
 * @returns what ran, for the script's one line
 */
async function runTransports(m, url) {
  const { Controller, Get, Inject, Injectable, Module } = m.common;
  const { NestFactory } = m.core;
  const { Connection, DbModule, DbPool, WithConnection } = m.lib;
  const done = [];
  const apps = [];
  try {
    // 1. Fastify HTTP, request scope.
    class HttpController {
      constructor(conn) {
        this.conn = conn;
      }
      async id() {
        return { id: await twoIds(this.conn) };
      }
    }
    Inject(Connection)(HttpController, undefined, 0);
    decorateMethod(HttpController, 'id', Get('id'));
    Controller()(HttpController);
    class FastifyModule {}
    Module({ imports: [DbModule.forRoot({ uri: url })], controllers: [HttpController] })(
      FastifyModule,
    );
    const fastifyApp = await NestFactory.create(FastifyModule, new m.fastify.FastifyAdapter(), {
      logger: ['error'],
    });
    apps.push(fastifyApp);
    await fastifyApp.listen(0, '127.0.0.1');
    const reply = await http(`http://127.0.0.1:${fastifyApp.getHttpServer().address().port}/id`);
    if (reply.status !== 200) throw new Error(`Fastify GET /id: ${reply.status} ${reply.body}`);
    await closed(fastifyApp.get(DbPool), 'Fastify');
    done.push('fastify');

    // 2. A TCP microservice, request scope (DbInterceptor gives each message its unit of work).
    const { MessagePattern, Transport, ClientProxyFactory } = m.microservices;
    class MessagesController {
      constructor(conn) {
        this.conn = conn;
      }
      async id() {
        return twoIds(this.conn);
      }
    }
    Inject(Connection)(MessagesController, undefined, 0);
    decorateMethod(MessagesController, 'id', MessagePattern('id'));
    Controller()(MessagesController);
    class MessagesModule {}
    Module({ imports: [DbModule.forRoot({ uri: url })], controllers: [MessagesController] })(
      MessagesModule,
    );
    const port = await freePort();
    const options = { transport: Transport.TCP, options: { host: '127.0.0.1', port } };
    const micro = await NestFactory.createMicroservice(MessagesModule, {
      ...options,
      logger: ['error'],
    });
    apps.push(micro);
    await micro.listen();
    const client = ClientProxyFactory.create(options);
    try {
      const ids = await Promise.all(
        [1, 2, 3].map(() => m.rxjs.firstValueFrom(client.send('id', {}))),
      );
      if (!ids.every(Number.isInteger)) throw new Error(`microservice replies: ${ids}`);
    } finally {
      await client.close();
    }
    await closed(micro.get(DbPool), 'microservice');
    done.push('tcp microservice');

    // 3. GraphQL (Apollo on Express): every resolver of an operation on the request's connection.
    const { GraphQLModule, Query, Resolver, Float } = m.graphql;
    class IdResolver {
      constructor(conn) {
        this.conn = conn;
      }
      async first() {
        return twoIds(this.conn);
      }
      async second() {
        return twoIds(this.conn);
      }
    }
    Inject(Connection)(IdResolver, undefined, 0);
    decorateMethod(
      IdResolver,
      'first',
      Query(() => Float),
    );
    decorateMethod(
      IdResolver,
      'second',
      Query(() => Float),
    );
    Resolver()(IdResolver);
    for (const platform of ['express', 'fastify']) {
      class GraphQLAppModule {}
      Module({
        imports: [
          DbModule.forRoot({ uri: url }),
          GraphQLModule.forRoot({ driver: m.apollo.ApolloDriver, autoSchemaFile: true }),
        ],
        providers: [IdResolver],
      })(GraphQLAppModule);
      const gqlApp =
        platform === 'fastify'
          ? await NestFactory.create(GraphQLAppModule, new m.fastify.FastifyAdapter(), {
              logger: ['error'],
            })
          : await NestFactory.create(GraphQLAppModule, { logger: ['error'] });
      apps.push(gqlApp);
      await gqlApp.listen(0, '127.0.0.1');
      const { port: gqlPort } = gqlApp.getHttpServer().address();
      const gql = await http(`http://127.0.0.1:${gqlPort}/graphql`, { query: '{ first second }' });
      const data = gql.status === 200 ? JSON.parse(gql.body).data : undefined;
      if (!data || data.first !== data.second) {
        throw new Error(`GraphQL on ${platform}: ${gql.status} ${gql.body}`);
      }
      await closed(gqlApp.get(DbPool), `GraphQL on ${platform}`);
      done.push(`graphql (${platform})`);
    }

    // 4. A job with no request (context scope, @WithConnection()), in an application context.
    class Job {
      constructor(conn) {
        this.conn = conn;
      }
      async run() {
        return twoIds(this.conn);
      }
    }
    Inject(Connection)(Job, undefined, 0);
    decorateMethod(Job, 'run', WithConnection());
    Injectable()(Job);
    class JobModule {}
    Module({ imports: [DbModule.forRoot({ uri: url, scope: 'context' })], providers: [Job] })(
      JobModule,
    );
    const worker = await NestFactory.createApplicationContext(JobModule, { logger: ['error'] });
    apps.push(worker);
    const [x, y] = await Promise.all([worker.get(Job).run(), worker.get(Job).run()]);
    if (x === y) throw new Error(`two concurrent @WithConnection() runs shared connection ${x}`);
    await closed(worker.get(DbPool), '@WithConnection()');
    done.push('@WithConnection job');

    // 5. A WebSocket gateway (ws), the README's pattern: context scope, a singleton service on
    // `Connection`, DbInterceptor on the gateway giving each message its own unit of work.
    const { WebSocketGateway, SubscribeMessage } = m.websockets;
    const { DbInterceptor } = m.lib;
    class Probe {
      constructor(conn) {
        this.conn = conn;
      }
      async run() {
        return twoIds(this.conn);
      }
    }
    Inject(Connection)(Probe, undefined, 0);
    Injectable()(Probe);
    class Gateway {
      constructor(probe) {
        this.probe = probe;
      }
      async onId() {
        return { event: 'id', data: await this.probe.run() };
      }
    }
    Inject(Probe)(Gateway, undefined, 0);
    decorateMethod(Gateway, 'onId', SubscribeMessage('id'));
    m.common.UseInterceptors(DbInterceptor)(Gateway);
    WebSocketGateway({ path: '/ws' })(Gateway);
    class WsAppModule {}
    Module({
      imports: [DbModule.forRoot({ uri: url, scope: 'context' })],
      providers: [Probe, Gateway],
    })(WsAppModule);
    const wsApp = await NestFactory.create(WsAppModule, { logger: ['error'] });
    apps.push(wsApp);
    wsApp.useWebSocketAdapter(new m.platformWs.WsAdapter(wsApp));
    await wsApp.listen(0, '127.0.0.1');
    const socket = new m.ws.WebSocket(`ws://127.0.0.1:${wsApp.getHttpServer().address().port}/ws`);
    try {
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      const replies = new Promise((resolve, reject) => {
        // A message whose handler failed gets no reply: wait a bounded time, then say so.
        setTimeout(() => reject(new Error('WebSocket: no 3 replies within 5 s')), 5_000).unref();
        const ids = [];
        socket.on('message', (raw) => {
          ids.push(JSON.parse(raw.toString()).data);
          if (ids.length === 3) resolve(ids);
        });
      });
      for (let i = 0; i < 3; i++) socket.send(JSON.stringify({ event: 'id', data: i }));
      const ids = await replies;
      if (!ids.every(Number.isInteger))
        throw new Error(`WebSocket replies: ${JSON.stringify(ids)}`);
    } finally {
      socket.close();
    }
    await closed(wsApp.get(DbPool), 'WebSocket gateway');
    done.push('websocket gateway (ws)');

    // 6. Health checks: DbHealthIndicator from the `health` entry point with @nestjs/terminus.
    const { HealthCheck, HealthCheckService, TerminusModule } = m.terminus;
    const { DbHealthIndicator } = m.health;
    class HealthController {
      constructor(health, db) {
        this.health = health;
        this.db = db;
      }
      check() {
        return this.health.check([
          () => this.db.pingCheck('database', { timeout: 2000 }),
          () => this.db.poolCheck('pool'),
        ]);
      }
    }
    Inject(HealthCheckService)(HealthController, undefined, 0);
    Inject(DbHealthIndicator)(HealthController, undefined, 1);
    decorateMethod(HealthController, 'check', Get(), HealthCheck());
    Controller('health')(HealthController);
    class HealthAppModule {}
    Module({
      imports: [DbModule.forRoot({ uri: url }), TerminusModule.forRoot({ logger: false })],
      controllers: [HealthController],
      providers: [DbHealthIndicator],
    })(HealthAppModule);
    const healthApp = await NestFactory.create(HealthAppModule, { logger: ['error'] });
    apps.push(healthApp);
    await healthApp.listen(0, '127.0.0.1');
    const { port: healthPort } = healthApp.getHttpServer().address();
    const health = await http(`http://127.0.0.1:${healthPort}/health`);
    const info = health.status === 200 ? JSON.parse(health.body).info : undefined;
    if (info?.database?.status !== 'up' || info?.pool?.status !== 'up') {
      throw new Error(`GET /health: ${health.status} ${health.body}`);
    }
    done.push('health (terminus)');
  } finally {
    for (const app of apps.toReversed()) await app.close();
  }
  return done.join(', ');
}

module.exports = { runTransports };
