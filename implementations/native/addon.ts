/**
 * Loads the optional native addon (build/Release/nanomq_native.node). A machine without a
 * compiler still runs everything else: callers get the reason instead of an exception.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { packageRoot } from '../package-root.js';

/** Opaque handle to native per-side state (an N-API External). */
export type NativeHandle = { readonly __brand: 'NativeHandle' };

/** The functions implementations/native/src/addon.cc exports. */
export interface NativeAddon {
  pinThread(cpu: number): void;
  clockBind(cell: Float64Array): void;
  clockTick(): void;
  producerOpen(ring: Int32Array, offsets: Int32Array): NativeHandle;
  producerClaim(handle: NativeHandle, max: number, length: number): number;
  producerPublish(handle: NativeHandle): boolean;
  producerAbort(handle: NativeHandle): void;
  consumerOpen(ring: Int32Array, records: Int32Array): NativeHandle;
  consumerPeek(handle: NativeHandle, max: number): number;
  consumerRelease(handle: NativeHandle): boolean;
  consumerReleaseTo(handle: NativeHandle, position: number): boolean;
  runThreads(options: {
    ring: Int32Array;
    reply?: Int32Array;
    control: Int32Array;
    pingPong: boolean;
    payload: number;
    batch: number;
    pinProducer: number;
    pinConsumer: number;
  }): import('../self-driven.js').SelfDrivenReport;
}

export type AddonLoad = { ok: true; module: NativeAddon } | { ok: false; reason: string };

let cached: AddonLoad | null = null;

const EXPECTED_FUNCTIONS = [
  'pinThread',
  'producerOpen',
  'producerClaim',
  'producerPublish',
  'producerAbort',
  'consumerOpen',
  'consumerPeek',
  'consumerRelease',
  'consumerReleaseTo',
  'runThreads',
  'clockBind',
  'clockTick',
] as const;

export function loadNativeAddon(): AddonLoad {
  if (cached) return cached;
  cached = load();
  return cached;
}

/**
 * NANOMQ_NATIVE_ADDON points at another build (or at nothing, to run as a machine without one).
 * Only an absolute path to a `.node` file is accepted, and it is opened with process.dlopen,
 * never require(): require() would run a `.js` file or parse a `.json` one, so a mistyped path
 * could execute arbitrary code, or make `native` look available and crash every run.
 */
function load(): AddonLoad {
  const override = process.env.NANOMQ_NATIVE_ADDON;
  const path = override || join(packageRoot(), 'build', 'Release', 'nanomq_native.node');
  if (override && (!isAbsolute(override) || !override.endsWith('.node'))) {
    return { ok: false, reason: `NANOMQ_NATIVE_ADDON must be an absolute path to a .node file, got ${JSON.stringify(override)}` };
  }
  if (!existsSync(path)) {
    return { ok: false, reason: `native addon not built (${path} missing; run npm run build:native, needs g++ and Node headers)` };
  }
  const module = { exports: {} as Record<string, unknown> };
  try {
    process.dlopen(module, path);
  } catch (error) {
    return { ok: false, reason: `native addon failed to load from ${path}: ${(error as Error).message.split('\n')[0]}` };
  }
  const missing = EXPECTED_FUNCTIONS.filter((name) => typeof module.exports[name] !== 'function');
  if (missing.length > 0) {
    return { ok: false, reason: `${path} is not this project's addon or is out of date (missing ${missing.join(', ')}; run npm run build:native)` };
  }
  return { ok: true, module: module.exports as unknown as NativeAddon };
}
