import type { DynamicModule, INestApplicationContext, Provider, Type } from '@nestjs/common';
import type { BenchConfig, PoolGauges } from './bench.config.js';

/** The parts of one variant's app; `main.ts` assembles them into the root module. */
export interface VariantSetup {
  imports: (DynamicModule | Type)[];
  providers: Provider[];
  controllers: Type[];
  /** The pool's gauges, read by the driver through the admin server to check for leaks. */
  gauges(app: INestApplicationContext): PoolGauges;
  /**
   * Checked once the app is built: why this build of the library cannot run the variant as
   * intended (undefined when it can). Lets the bench report "not available" instead of
   * measuring something else under the variant's name.
   */
  unavailable?(app: INestApplicationContext): string | undefined;
}

/** Builds one variant; `depth` is the number of services between controller and connection. */
export type Variant = (config: BenchConfig, depth: number) => VariantSetup;

/** Thrown by a variant whose option this build of the library rejects. */
export class VariantUnavailableError extends Error {}
