import {
  Inject,
  Module,
  Optional,
  RequestMethod,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type MiddlewareConsumer,
  type NestModule,
  type Provider,
} from '@nestjs/common';
import { HttpAdapterHost, ModuleRef } from '@nestjs/core';
import { DB_DEFAULTS, DEFAULT_CONNECTION_NAME } from './db.constants.js';
import { DB_MODULE_CONFIG, getOptionsToken, type DbModuleConfig } from './db.internal-constants.js';
import { DbContextMiddleware } from './db-context.middleware.js';
import { DbResponseMiddleware, needsResponseBinding } from './db-http.adapter.js';
import { resolveDbOptions } from './db-options.js';
import type { DbPool } from './db-pool.js';
import { createDbProviders } from './db.providers.js';
import { getConnectionToken, getPoolToken } from './db.utils.js';
import { reasonOf } from './db-errors.js';
import { DbConfigError } from './errors/index.js';
import type {
  DbModuleAsyncOptions,
  DbModuleOptions,
  DbOptionsFactory,
  DbScope,
} from './interfaces/index.js';

/**
 * MySQL/MariaDB for Nest: one bounded pool per named connection, a request-bound `Connection`,
 * and a draining shutdown. Global, like Nest's official database modules.
 * @publicApi
 */
@Module({})
export class DbModule implements NestModule, BeforeApplicationShutdown {
  constructor(
    @Inject(DB_MODULE_CONFIG) private readonly config: DbModuleConfig,
    private readonly moduleRef: ModuleRef,
    @Optional() private readonly adapterHost?: HttpAdapterHost,
  ) {}

  /**
   * Context scope: every route runs in a unit of work, opened before guards. Request scope on
   * Fastify: every request records its response, for the release on `close`.
   */
  configure(consumer: MiddlewareConsumer): void {
    const everyRoute = { path: '{*path}', method: RequestMethod.ALL };
    if (this.config.scope === 'context') {
      consumer.apply(DbContextMiddleware).forRoutes(everyRoute);
    } else if (needsResponseBinding(this.adapterHost?.httpAdapter?.getType())) {
      consumer.apply(DbResponseMiddleware).forRoutes(everyRoute);
    }
  }

  /** Registers a connection with static options. Invalid options throw `DbConfigError` here. */
  static forRoot(options: DbModuleOptions = {}): DynamicModule {
    const resolved = resolveDbOptions(options);
    const providers = createDbProviders(
      { name: resolved.name, scope: resolved.scope },
      [{ provide: getOptionsToken(resolved.name), useValue: options }],
      resolved.registerInterceptor,
    );
    return DbModule.assemble(resolved.name, providers);
  }

  /** Registers a connection whose options come from a factory, a class or an existing provider. */
  static forRootAsync(options: DbModuleAsyncOptions): DynamicModule {
    // name, scope and registerInterceptor shape the providers, so they cannot come from the factory.
    const { name, scope, registerInterceptor } = resolveDbOptions({
      name: options.name ?? DEFAULT_CONNECTION_NAME,
      scope: options.scope ?? DB_DEFAULTS.scope,
      ...(options.registerInterceptor !== undefined && {
        registerInterceptor: options.registerInterceptor,
      }),
    });
    const token = getOptionsToken(name);
    const given = [options.useFactory, options.useClass, options.useExisting].filter(Boolean);
    if (given.length !== 1) {
      throw new DbConfigError(
        `DbModule.forRootAsync() needs exactly one of "useFactory", "useClass" or "useExisting" ` +
          `(got ${given.length}).`,
      );
    }
    // The factory's result is validated by resolveDbOptions() when the pool is built.
    const fromFactory = async (factory: DbOptionsFactory) =>
      checkStatic(name, scope, await factory.createDbOptions(name));
    let optionProviders: Provider[];
    if (options.useFactory) {
      const useFactory = options.useFactory as (...args: unknown[]) => DbModuleOptions;
      optionProviders = [
        {
          provide: token,
          inject: options.inject ?? [],
          useFactory: async (...args: unknown[]) =>
            checkStatic(name, scope, await useFactory(...args)),
        },
      ];
    } else {
      const factoryClass = (options.useClass ?? options.useExisting)!;
      optionProviders = [{ provide: token, inject: [factoryClass], useFactory: fromFactory }];
      if (options.useClass) optionProviders.push({ provide: factoryClass, useClass: factoryClass });
    }
    const module = DbModule.assemble(
      name,
      createDbProviders({ name, scope }, optionProviders, registerInterceptor),
    );
    return { ...module, imports: options.imports ?? [] };
  }

  private static assemble(name: string, providers: Provider[]): DynamicModule {
    return {
      module: DbModule,
      global: true,
      providers,
      exports: [getPoolToken(name), getConnectionToken(name)],
    };
  }

  /**
   * Drains the pool before Nest closes the HTTP server, so the deadline also bounds requests that
   * would otherwise keep `server.close()` waiting: requests in flight finish, new work gets
   * `DbPoolClosedError` (503), and after `shutdownTimeout` whatever is still borrowed is destroyed.
   */
  async beforeApplicationShutdown(): Promise<void> {
    let pool: DbPool;
    try {
      pool = this.moduleRef.get<DbPool>(getPoolToken(this.config.name), { strict: true });
    } catch {
      return; // the pool never came up (start-up failed): nothing to close
    }
    try {
      await pool.close();
    } catch (err) {
      pool.logger.error(`Pool "${this.config.name}": close failed: ${reasonOf(err)}`);
    }
  }
}

/** The factory may not change what already shaped the providers: name and scope. */
function checkStatic(name: string, scope: DbScope, options: DbModuleOptions): DbModuleOptions {
  for (const [key, fixed] of [
    ['name', name],
    ['scope', scope],
  ] as const) {
    const got = options?.[key];
    if (got !== undefined && got !== fixed) {
      throw new DbConfigError(
        `Invalid DbModule option "${key}": forRootAsync({ ${key}: "${fixed}" }) returned options ` +
          `with ${key} "${got}". Give "${key}" to forRootAsync() itself, not in the factory's result.`,
      );
    }
  }
  return { ...options, name, scope };
}
