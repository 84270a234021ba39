/**
 * A client package loaded when its backend first connects, not when the registry is imported.
 *
 * Every worker thread imports the registry (harness/worker/entry.ts finds its backend there), so
 * a package a network backend imports at the top is loaded into every worker of every backend.
 * With `nats` and `redis` loaded that way, post-message at payload 1024, batch 256 ran at
 * 2.4–2.7M msg/s against 3.0–3.5M without them (`git bisect` found the commit that added them;
 * the same A/B on today's code, twice each). Why a package a worker never calls costs it, we did
 * not measure; loading it only where it is used costs nothing.
 */
export interface LazyPackage<T> {
  /** Loads the package (once); every connection awaits this before it uses `get`. */
  load(): Promise<T>;
  /** The package, once `load` has resolved. */
  get(): T;
}

export function lazyPackage<T>(name: string, load: () => Promise<T>): LazyPackage<T> {
  let loaded: T | undefined;
  return {
    load: async () => {
      loaded ??= await load();
      return loaded;
    },
    get: () => {
      if (loaded === undefined) throw new Error(`${name} was used before a connection loaded it`);
      return loaded;
    },
  };
}
