import { Inject } from '@nestjs/common';
import { getConnectionToken, getPoolToken } from './db.utils.js';

/**
 * Injects the current request's `Connection` of a named connection.
 * `@InjectConnection()` is the same as injecting `Connection` by type.
 * @publicApi
 */
export const InjectConnection = (name?: string): PropertyDecorator & ParameterDecorator =>
  Inject(getConnectionToken(name));

/**
 * Injects the `DbPool` of a named connection. `@InjectPool()` is the same as injecting `DbPool`.
 * @publicApi
 */
export const InjectPool = (name?: string): PropertyDecorator & ParameterDecorator =>
  Inject(getPoolToken(name));
