// Nest's metadata key of @UseInterceptors(). Not exported from @nestjs/common's root, and subpath
// imports do not resolve on Nest 12; the same since Nest 5.
const INTERCEPTORS_METADATA = '__interceptors__';

/**
 * Declares `interceptor` on `holder` (a handler or a controller class) as `@UseInterceptors()`
 * would, once whatever the decorator order. `first` makes it the outermost of the holder's own
 * interceptors; otherwise it keeps its place if already there, else goes last. @internal
 */
export function useInterceptor(holder: object, interceptor: object, first = false): void {
  const declared = (Reflect.getMetadata(INTERCEPTORS_METADATA, holder) ?? []) as unknown[];
  if (!first && declared.includes(interceptor)) return;
  const others = declared.filter((i) => i !== interceptor);
  const list = first ? [interceptor, ...others] : [...others, interceptor];
  Reflect.defineMetadata(INTERCEPTORS_METADATA, list, holder);
}
