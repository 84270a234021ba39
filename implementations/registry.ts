/**
 * Every backend the harness can run, by id. Adding a backend: implement contract.ts in a folder
 * of its own, list it here, and the shared conformance suite (test/conformance.test.ts) runs
 * against it automatically.
 */
import type { QueueBackend } from './contract.js';
import { mpscCas } from './mpsc-cas/backend.js';
import { mutex } from './mutex/backend.js';
import { native, nativeThreads } from './native/backend.js';
import { nullBackend } from './null/backend.js';
import { postMessage } from './post-message/backend.js';
import { ringbufJs } from './ringbuf-js/backend.js';
import { sabSpsc } from './sab-spsc/backend.js';

export const backends: readonly QueueBackend[] = [sabSpsc, mpscCas, mutex, native, nativeThreads, ringbufJs, postMessage, nullBackend];

export function findBackend(id: string): QueueBackend | undefined {
  return backends.find((b) => b.id === id);
}

export function backendIds(): string[] {
  return backends.map((b) => b.id);
}
