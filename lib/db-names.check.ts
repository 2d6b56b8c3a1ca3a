import type { ModulesContainer } from '@nestjs/core';
import { DB_MODULE_CONFIG, INJECTED_CONNECTIONS_METADATA } from './db.internal-constants.js';
import type { DbModuleConfig } from './db.internal-constants.js';
import { DUPLICATE_CONNECTION, UNKNOWN_CONNECTION } from './db.messages.js';
import { DbConfigError } from './errors/index.js';

/** One `@InjectConnection(name)` / `@InjectPool(name)` use, recorded on its class. @internal */
export interface InjectedConnection {
  decorator: '@InjectConnection' | '@InjectPool';
  name: string;
  /** `constructor parameter #1`, `property reports`. */
  member: string;
}

/**
 * Records on `target`'s class that it injects connection `name`. Named injections are optional
 * for Nest (see `db.decorators.ts`), so that this package, not Nest's generic resolution error,
 * says what is missing. @internal
 */
export function recordInjection(
  target: object,
  key: string | symbol | undefined,
  index: number | undefined,
  decorator: InjectedConnection['decorator'],
  name: string,
): void {
  const cls = typeof target === 'function' ? target : target.constructor;
  const member =
    index !== undefined ? `constructor parameter #${index}` : `property ${String(key)}`;
  const own = (Reflect.getOwnMetadata(INJECTED_CONNECTIONS_METADATA, cls) ??
    []) as InjectedConnection[];
  Reflect.defineMetadata(INJECTED_CONNECTIONS_METADATA, [...own, { decorator, name, member }], cls);
}

/**
 * Start-up checks of the app's connection names, run by each pool's provider before it connects
 * (every module is known then, none is instantiated yet). Looks at this application's modules
 * only, never at a process-wide registry: two apps in one process (tests) do not see each other.
 * - a name registered twice (two `forRoot`/`forRootAsync` with one name) → `DbConfigError`;
 * - a class injecting a name nobody registered (`@InjectConnection('x')`) → `DbConfigError`
 *   naming the class, the member, the name and the fix.
 * @internal
 */
export function checkConnectionNames(container: ModulesContainer): void {
  const counts = new Map<string, number>();
  for (const module of container.values()) {
    const config = module.providers.get(DB_MODULE_CONFIG)?.instance as DbModuleConfig | undefined;
    if (config?.name) counts.set(config.name, (counts.get(config.name) ?? 0) + 1);
  }
  for (const [name, count] of counts) {
    if (count > 1) throw new DbConfigError(DUPLICATE_CONNECTION(name, count));
  }
  const registered = [...counts.keys()];
  for (const module of container.values()) {
    const wrappers = [
      ...module.providers.values(),
      ...module.controllers.values(),
      ...module.injectables.values(),
    ];
    for (const { metatype } of wrappers) {
      if (typeof metatype !== 'function') continue;
      for (const use of injectionsOf(metatype)) {
        if (!counts.has(use.name)) {
          const where = `${use.member} of ${metatype.name}`;
          throw new DbConfigError(UNKNOWN_CONNECTION(use.decorator, use.name, where, registered));
        }
      }
    }
  }
}

/** The recorded injections of a class and of the classes it extends. */
function injectionsOf(cls: object): InjectedConnection[] {
  const found: InjectedConnection[] = [];
  for (let c: object | null = cls; c && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    const own = Reflect.getOwnMetadata(INJECTED_CONNECTIONS_METADATA, c) as
      InjectedConnection[] | undefined;
    if (own) found.push(...own);
  }
  return found;
}
