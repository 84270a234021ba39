import type { QueueBackend, QueueDescriptor } from '../contract.js';
import { createRingMemory, ringCapacityOf } from '../shared/ring-memory.js';
import { MPSC_SHAPE, MpscRingConsumer, MpscRingProducer } from './ring.js';

interface MpscDescriptor extends QueueDescriptor {
  readonly memory: SharedArrayBuffer;
}

export const mpscCas: QueueBackend = {
  id: 'mpsc-cas',
  description: 'bounded many-producer single-consumer ring, claim by compare-and-swap (agrona ManyToOneRingBuffer style)',
  traits: { maxProducers: 64, maxConsumers: 1, zeroCopyRead: true, zeroCopyWrite: true, canBlock: true, sharedMemory: true },
  available: () => ({ available: true }),
  create(options): MpscDescriptor {
    const memory = createRingMemory(options, MPSC_SHAPE);
    return { backend: 'mpsc-cas', memory, sharedBytes: memory.byteLength, capacityBytes: ringCapacityOf(memory) };
  },
  producer: (d) => new MpscRingProducer((d as MpscDescriptor).memory),
  consumer: (d) => new MpscRingConsumer((d as MpscDescriptor).memory),
};
