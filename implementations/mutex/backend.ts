import type { QueueBackend, QueueDescriptor } from '../contract.js';
import { ringCapacity } from '../shared/records.js';
import { HEAD, LAYOUT_VERSION, META_CAPACITY, META_VERSION, MutexQueueConsumer, MutexQueueProducer, mutexQueueBytes, TAIL } from './queue.js';

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
    words[TAIL] = words[HEAD] = options.startPosition ?? 0;
    return { backend: 'mutex', memory, sharedBytes: memory.byteLength, capacityBytes: capacity };
  },
  producer: (d) => new MutexQueueProducer((d as MutexDescriptor).memory),
  consumer: (d) => new MutexQueueConsumer((d as MutexDescriptor).memory),
};
