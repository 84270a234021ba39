/**
 * Loads the optional native addon (build/Release/nanomq_native.node). A machine without a
 * compiler still runs everything else: callers get the reason instead of an exception.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../shared/package-root.js';

/** Opaque handle to native per-side state (an N-API External). */
export type NativeHandle = { readonly __brand: 'NativeHandle' };

/** The functions implementations/native/src/addon.cc exports. */
export interface NativeAddon {
  pinThread(cpu: number): void;
  producerOpen(ring: Int32Array, offsets: Int32Array): NativeHandle;
  producerClaim(handle: NativeHandle, max: number, length: number): number;
  producerPublish(handle: NativeHandle): boolean;
  consumerOpen(ring: Int32Array, records: Int32Array): NativeHandle;
  consumerPeek(handle: NativeHandle, max: number): number;
  consumerRelease(handle: NativeHandle): boolean;
  runThreads(options: {
    ring: Int32Array;
    reply?: Int32Array;
    control: Int32Array;
    pingPong: boolean;
    payload: number;
    batch: number;
    pinProducer: number;
    pinConsumer: number;
  }): import('../contract.js').SelfDrivenReport;
}

export type AddonLoad = { ok: true; module: NativeAddon } | { ok: false; reason: string };

let cached: AddonLoad | null = null;

export function loadNativeAddon(): AddonLoad {
  if (cached) return cached;
  // NANOMQ_NATIVE_ADDON points at another build (or at nothing, to run as a machine without one).
  const path = process.env.NANOMQ_NATIVE_ADDON || join(packageRoot(), 'build', 'Release', 'nanomq_native.node');
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
