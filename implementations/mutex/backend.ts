import type { QueueBackend } from '../contract.js';
import { ringBackend } from '../shared/ring/ring-backend.js';
import { MUTEX_SHAPE } from './layout.js';
import { MutexQueueConsumer, MutexQueueProducer } from './queue.js';

export const mutex: QueueBackend = ringBackend({
  id: 'mutex',
  description: 'ring guarded by a futex-style mutex (Atomics CAS + wait/notify) with not-empty/not-full conditions',
  traits: { maxProducers: 64, maxConsumers: 64, zeroCopyRead: true, zeroCopyWrite: true, canBlock: true, sharedMemory: true },
  shape: MUTEX_SHAPE,
  producer: (memory) => new MutexQueueProducer(memory),
  consumer: (memory) => new MutexQueueConsumer(memory),
});
