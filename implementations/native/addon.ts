/**
 * Loads the optional native addon (build/Release/nanomq_native.node). A machine without a
 * compiler still runs everything else: callers get the reason instead of an exception.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../shared/package-root.js';

export interface NativeAddon {
  pinThread(cpu: number): void;
  [name: string]: unknown;
}

export type AddonLoad = { ok: true; module: NativeAddon } | { ok: false; reason: string };

let cached: AddonLoad | null = null;

export function loadNativeAddon(): AddonLoad {
  if (cached) return cached;
  const path = join(packageRoot(), 'build', 'Release', 'nanomq_native.node');
  if (!existsSync(path)) {
    cached = { ok: false, reason: `native addon not built (${path} missing; run npm run build:native, needs g++ and Node headers)` };
    return cached;
  }
  try {
    cached = { ok: true, module: createRequire(import.meta.url)(path) as NativeAddon };
  } catch (error) {
    cached = { ok: false, reason: `native addon failed to load: ${(error as Error).message}` };
  }
  return cached;
}
