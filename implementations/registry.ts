/**
 * Every backend the harness can run, by id. Adding an in-process queue: implement contract.ts in
 * a folder of its own, list it in `backends`, and the shared conformance suite
 * (test/conformance.test.ts) runs against it automatically. Adding a network transport or a
 * broker: implement network-contract.ts and list it in `networkBackends`
 * (test/network.test.ts runs against those).
 */
import { broker } from './broker/backend.js';
import type { QueueBackend } from './contract.js';
import { mpscCas } from './mpsc-cas/backend.js';
import { mutex } from './mutex/backend.js';
import { native, nativeThreads } from './native/backend.js';
import { nats } from './nats/backend.js';
import { natsJetStream } from './nats/jetstream-backend.js';
import type { NetworkBackend } from './network-contract.js';
import { nullBackend } from './null/backend.js';
import { postMessage } from './post-message/backend.js';
import { redisStreams } from './redis-streams/backend.js';
import { ringbufJs } from './ringbuf-js/backend.js';
import { sabSpsc } from './sab-spsc/backend.js';
import { wal } from './wal/backend.js';

/** In-process queues (contract.ts): synchronous, between worker threads. */
export const backends: readonly QueueBackend[] = [sabSpsc, mpscCas, mutex, native, nativeThreads, ringbufJs, postMessage, wal, nullBackend];

/** Backends reached over the network (network-contract.ts), each with its server. */
export const networkBackends: readonly NetworkBackend[] = [broker, nats, natsJetStream, redisStreams];

export type AnyBackend = QueueBackend | NetworkBackend;

export function isNetworkBackend(backend: AnyBackend): backend is NetworkBackend {
  return backend.traits.network === true;
}

export function findBackend(id: string): AnyBackend | undefined {
  return backends.find((b) => b.id === id) ?? networkBackends.find((b) => b.id === id);
}

/** An in-process queue by id (for the probes and benchmarks that drive one directly). */
export function findQueueBackend(id: string): QueueBackend | undefined {
  return backends.find((b) => b.id === id);
}

export function backendIds(): string[] {
  return [...backends, ...networkBackends].map((b) => b.id);
}
