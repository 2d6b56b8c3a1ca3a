import { Inject, Optional } from '@nestjs/common';
import { DEFAULT_CONNECTION_NAME } from './db.constants.js';
import { recordInjection, type InjectedConnection } from './db-names.check.js';
import { getConnectionToken, getPoolToken } from './db.utils.js';

/**
 * `@Inject(token)`, optional for Nest, and recorded on the class: a name no `DbModule.forRoot()`
 * registered is then reported at start-up by this package (naming the class, the name and the
 * fix) instead of by Nest's generic "can't resolve dependencies" error.
 */
function injectNamed(
  decorator: InjectedConnection['decorator'],
  name: string,
  token: string | object,
): PropertyDecorator & ParameterDecorator {
  const inject = Inject(token as string);
  const optional = Optional();
  return (target: object, key: string | symbol | undefined, index?: number) => {
    recordInjection(target, key, index, decorator, name);
    if (index !== undefined) {
      inject(target, key, index);
      optional(target, key, index);
    } else {
      inject(target, key!);
      optional(target, key!);
    }
  };
}

/**
 * Injects the current request's `Connection` of a named connection (default: `'default'`).
 * `@InjectConnection()` is the same as injecting `Connection` by type. A name that no
 * `DbModule.forRoot({ name })` registered fails the start-up with a `DbConfigError`.
 * @publicApi
 */
export const InjectConnection = (
  name: string = DEFAULT_CONNECTION_NAME,
): PropertyDecorator & ParameterDecorator =>
  injectNamed('@InjectConnection', name, getConnectionToken(name));

/**
 * Injects the `DbPool` of a named connection (default: `'default'`). `@InjectPool()` is the same
 * as injecting `DbPool`. A name that no `DbModule.forRoot({ name })` registered fails the
 * start-up with a `DbConfigError`.
 * @publicApi
 */
export const InjectPool = (
  name: string = DEFAULT_CONNECTION_NAME,
): PropertyDecorator & ParameterDecorator => injectNamed('@InjectPool', name, getPoolToken(name));
