/**
 * glibc's malloc_trim(0), through the project's native addon: gives the pages glibc has freed
 * inside its heap back to the system.
 *
 * Why: glibc returns memory to the system only from the top of its heap (and whole mmap'd
 * chunks). Socket reads, the first parts of frames and V8's own buffers are freed in an order
 * that leaves live chunks above free ones, so a broker that once served large frames kept
 * 26–37 MiB of free heap for the rest of its life (docs/broker.md, "What the broker's memory
 * is"). malloc_trim walks the heap and hands back every whole free page (madvise DONTNEED), so
 * what the broker holds follows what it uses.
 *
 * The addon is optional (a machine without a compiler has none): without it, or on a C library
 * other than glibc, there is nothing to trim and `loadMallocTrim` says why.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type MallocTrim = () => boolean;

export type MallocTrimLoad = { ok: true; trim: MallocTrim } | { ok: false; reason: string };

/**
 * The addon's path: build/Release/ in the package root, the nearest folder above this file with a
 * package.json (from dist/broker/ and from the TypeScript sources alike). NANOMQ_NATIVE_ADDON (an
 * absolute path to a `.node` file, as for the native backends) points at another build; anything
 * else there means no addon, never a require() of whatever the variable names. The variable
 * chooses native code the broker runs, as LD_PRELOAD would: whoever sets the broker's environment
 * already runs it.
 */
function addonPath(): string | null {
  const override = process.env.NANOMQ_NATIVE_ADDON;
  if (override !== undefined && override !== '') return override.startsWith('/') && override.endsWith('.node') ? override : null;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
  return join(dir, 'build', 'Release', 'nanomq_native.node');
}

export function loadMallocTrim(): MallocTrimLoad {
  if (process.platform !== 'linux') return { ok: false, reason: 'not Linux' };
  const path = addonPath();
  if (path === null) return { ok: false, reason: 'NANOMQ_NATIVE_ADDON is not an absolute path to a .node file, or no package.json above the broker' };
  if (!existsSync(path)) return { ok: false, reason: `native addon not built (${path} missing)` };
  const module = { exports: {} as Record<string, unknown> };
  try {
    process.dlopen(module, path);
  } catch (error) {
    return { ok: false, reason: `native addon failed to load: ${(error as Error).message.split('\n')[0]}` };
  }
  const trim = module.exports.mallocTrim;
  if (typeof trim !== 'function') return { ok: false, reason: `${path} has no mallocTrim (not glibc, or an old build: npm run build:native)` };
  return { ok: true, trim: trim as MallocTrim };
}
