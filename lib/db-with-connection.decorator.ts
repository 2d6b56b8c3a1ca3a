import { currentUnit, runInUnit } from './db-context.js';
import { DbLeaseSet } from './db-lease-set.js';

/**
 * Gives the decorated method's whole async call tree one unit of work: every context-scoped
 * `Connection` it reaches (any service, any depth) borrows one connection per pool, returned
 * clean when the method settles. For work with no request: cron jobs, queue consumers,
 * `onModuleInit`. Called inside a request (or another such method) it joins that unit instead.
 * Metadata of other decorators (e.g. `@Cron()`) is kept, whichever order they are applied in.
 * @publicApi
 */
export function WithConnection(): MethodDecorator {
  return (target, key, descriptor) => {
    const original = descriptor.value as unknown as (...args: unknown[]) => unknown;
    const label = `@WithConnection() ${(target as { constructor: { name: string } }).constructor.name}.${String(key)}`;
    const wrapped = async function (this: unknown, ...args: unknown[]): Promise<unknown> {
      if (currentUnit()) return original.apply(this, args);
      const unit = new DbLeaseSet(undefined, () => label);
      try {
        return await runInUnit(unit, () => original.apply(this, args));
      } finally {
        await unit.releaseAll();
      }
    };
    Object.defineProperty(wrapped, 'name', { value: original.name });
    for (const metaKey of Reflect.getMetadataKeys(original)) {
      Reflect.defineMetadata(metaKey, Reflect.getMetadata(metaKey, original), wrapped);
    }
    descriptor.value = wrapped as unknown as typeof descriptor.value;
    return descriptor;
  };
}
