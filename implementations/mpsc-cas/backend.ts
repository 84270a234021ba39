import type { QueueBackend } from '../contract.js';
import { ringBackend } from '../shared/ring/ring-backend.js';
import { MPSC_SHAPE } from './layout.js';
import { MpscRingConsumer, MpscRingProducer } from './ring.js';

export const mpscCas: QueueBackend = ringBackend({
  id: 'mpsc-cas',
  description: 'bounded many-producer single-consumer ring, claim by compare-and-swap (agrona ManyToOneRingBuffer style)',
  traits: { maxProducers: 64, maxConsumers: 1, zeroCopyRead: true, zeroCopyWrite: true, canBlock: true, sharedMemory: true },
  shape: MPSC_SHAPE,
  producer: (memory) => new MpscRingProducer(memory),
  consumer: (memory) => new MpscRingConsumer(memory),
});
