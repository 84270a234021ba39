import { type QueueBackend, type QueueDescriptor, type QueueOptions, SPSC_IN_SHARED_MEMORY } from '../contract.js';
import { createRingMemory, ringCapacityOf } from '../shared/ring-memory.js';
import { SPSC_SHAPE } from './layout.js';
import { SpscRingConsumer, SpscRingProducer } from './ring.js';

export interface SpscDescriptor extends QueueDescriptor {
  readonly memory: SharedArrayBuffer;
}

/** Allocates and initialises one ring; shared with the native backend, which uses the same layout. */
export function createSpscMemory(options: QueueOptions): SharedArrayBuffer {
  return createRingMemory(options, SPSC_SHAPE);
}

export const sabSpsc: QueueBackend = {
  id: 'sab-spsc',
  description: 'lock-free single-producer single-consumer ring on a SharedArrayBuffer',
  traits: { ...SPSC_IN_SHARED_MEMORY, canBlock: true },
  available: () => ({ available: true }),
  create(options): SpscDescriptor {
    const memory = createSpscMemory(options);
    return { backend: 'sab-spsc', memory, sharedBytes: memory.byteLength, capacityBytes: ringCapacityOf(memory) };
  },
  producer: (d) => new SpscRingProducer((d as SpscDescriptor).memory),
  consumer: (d) => new SpscRingConsumer((d as SpscDescriptor).memory),
};
