import type { QueueBackend, QueueDescriptor } from '../contract.js';
import { ringCapacity } from '../shared/records.js';
import { LAYOUT_VERSION, META_CAPACITY, META_VERSION, MutexQueueConsumer, MutexQueueProducer, mutexQueueBytes } from './queue.js';

interface MutexDescriptor extends QueueDescriptor {
  readonly memory: SharedArrayBuffer;
}

export const mutex: QueueBackend = {
  id: 'mutex',
  description: 'ring guarded by a futex-style mutex (Atomics CAS + wait/notify) with not-empty/not-full conditions',
  traits: { maxProducers: 64, maxConsumers: 64, zeroCopyRead: true, zeroCopyWrite: true, canBlock: true, sharedMemory: true },
  available: () => ({ available: true }),
  create(options): MutexDescriptor {
    const capacity = ringCapacity(options.capacityBytes, options.maxMessageBytes);
    const memory = new SharedArrayBuffer(mutexQueueBytes(capacity));
    const words = new Int32Array(memory);
    words[META_CAPACITY] = capacity;
    words[META_VERSION] = LAYOUT_VERSION;
    return { backend: 'mutex', memory, sharedBytes: memory.byteLength };
  },
  producer: (d) => new MutexQueueProducer((d as MutexDescriptor).memory),
  consumer: (d) => new MutexQueueConsumer((d as MutexDescriptor).memory),
};
