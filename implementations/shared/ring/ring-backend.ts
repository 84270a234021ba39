/**
 * A queue backend over one ring in one SharedArrayBuffer (sab-spsc, mpsc-cas, mutex, native):
 * `create` lays the ring out (ring-memory.ts) and every worker attaches to the same memory. Each
 * ring's backend.ts says only what differs: its name, traits, shape and sides.
 */
import type { Availability, Consumer, Producer, QueueBackend, QueueDescriptor, QueueTraits } from '../../contract.js';
import { createRingMemory, type RingShape, ringCapacityOf } from './ring-memory.js';

/** A ring's descriptor: the one SharedArrayBuffer every side attaches to. */
export interface RingDescriptor extends QueueDescriptor {
  readonly memory: SharedArrayBuffer;
}

export interface RingBackendSpec {
  id: string;
  description: string;
  traits: QueueTraits;
  shape: RingShape;
  /** Default: always available. */
  available?: () => Availability;
  producer(memory: SharedArrayBuffer): Producer;
  consumer(memory: SharedArrayBuffer): Consumer;
}

export function ringBackend(spec: RingBackendSpec): QueueBackend {
  return {
    id: spec.id,
    description: spec.description,
    traits: spec.traits,
    available: spec.available ?? (() => ({ available: true })),
    create(options): RingDescriptor {
      const memory = createRingMemory(options, spec.shape);
      return { backend: spec.id, memory, sharedBytes: memory.byteLength, capacityBytes: ringCapacityOf(memory) };
    },
    producer: (d) => spec.producer((d as RingDescriptor).memory),
    consumer: (d) => spec.consumer((d as RingDescriptor).memory),
  };
}
