import type { QueueBackend, QueueDescriptor, QueueOptions } from '../contract.js';
import { ringCapacity } from '../shared/records.js';
import { HEAD, LAYOUT_VERSION, META_CAPACITY, META_VERSION, ringBytes, TAIL } from './layout.js';
import { SpscRingConsumer, SpscRingProducer } from './ring.js';

export interface SpscDescriptor extends QueueDescriptor {
  readonly memory: SharedArrayBuffer;
}

/** Allocates and initialises one ring; shared with the native backend, which uses the same layout. */
export function createSpscMemory(options: QueueOptions): SharedArrayBuffer {
  const capacity = ringCapacity(options.capacityBytes, options.maxMessageBytes);
  const memory = new SharedArrayBuffer(ringBytes(capacity));
  const words = new Int32Array(memory);
  words[META_CAPACITY] = capacity;
  words[META_VERSION] = LAYOUT_VERSION;
  words[HEAD] = words[TAIL] = options.startPosition ?? 0;
  return memory;
}

export const sabSpsc: QueueBackend = {
  id: 'sab-spsc',
  description: 'lock-free single-producer single-consumer ring on a SharedArrayBuffer',
  traits: { maxProducers: 1, maxConsumers: 1, zeroCopyRead: true, zeroCopyWrite: true, canBlock: true, sharedMemory: true },
  available: () => ({ available: true }),
  create(options): SpscDescriptor {
    const memory = createSpscMemory(options);
    return { backend: 'sab-spsc', memory, sharedBytes: memory.byteLength, capacityBytes: new Int32Array(memory)[META_CAPACITY] };
  },
  producer: (d) => new SpscRingProducer((d as SpscDescriptor).memory),
  consumer: (d) => new SpscRingConsumer((d as SpscDescriptor).memory),
};
