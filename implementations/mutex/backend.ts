import type { QueueBackend, QueueDescriptor } from '../contract.js';
import { createRingMemory, ringCapacityOf } from '../shared/ring-memory.js';
import { MUTEX_SHAPE, MutexQueueConsumer, MutexQueueProducer } from './queue.js';

interface MutexDescriptor extends QueueDescriptor {
  readonly memory: SharedArrayBuffer;
}

export const mutex: QueueBackend = {
  id: 'mutex',
  description: 'ring guarded by a futex-style mutex (Atomics CAS + wait/notify) with not-empty/not-full conditions',
  traits: { maxProducers: 64, maxConsumers: 64, zeroCopyRead: true, zeroCopyWrite: true, canBlock: true, sharedMemory: true },
  available: () => ({ available: true }),
  create(options): MutexDescriptor {
    const memory = createRingMemory(options, MUTEX_SHAPE);
    return { backend: 'mutex', memory, sharedBytes: memory.byteLength, capacityBytes: ringCapacityOf(memory) };
  },
  producer: (d) => new MutexQueueProducer((d as MutexDescriptor).memory),
  consumer: (d) => new MutexQueueConsumer((d as MutexDescriptor).memory),
};
