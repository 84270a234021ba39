import type { QueueBackend, QueueDescriptor } from '../contract.js';
import { ringCapacity } from '../shared/records.js';
import { HEAD, HEAD_CACHE, LAYOUT_VERSION, META_CAPACITY, META_VERSION, MpscRingConsumer, MpscRingProducer, mpscRingBytes, TAIL } from './ring.js';

interface MpscDescriptor extends QueueDescriptor {
  readonly memory: SharedArrayBuffer;
}

export const mpscCas: QueueBackend = {
  id: 'mpsc-cas',
  description: 'bounded many-producer single-consumer ring, claim by compare-and-swap (agrona ManyToOneRingBuffer style)',
  traits: { maxProducers: 64, maxConsumers: 1, zeroCopyRead: true, zeroCopyWrite: true, canBlock: true, sharedMemory: true },
  available: () => ({ available: true }),
  create(options): MpscDescriptor {
    const capacity = ringCapacity(options.capacityBytes, options.maxMessageBytes);
    const memory = new SharedArrayBuffer(mpscRingBytes(capacity));
    const words = new Int32Array(memory);
    words[META_CAPACITY] = capacity;
    words[META_VERSION] = LAYOUT_VERSION;
    words[TAIL] = words[HEAD] = words[HEAD_CACHE] = options.startPosition ?? 0;
    return { backend: 'mpsc-cas', memory, sharedBytes: memory.byteLength, capacityBytes: capacity };
  },
  producer: (d) => new MpscRingProducer((d as MpscDescriptor).memory),
  consumer: (d) => new MpscRingConsumer((d as MpscDescriptor).memory),
};
