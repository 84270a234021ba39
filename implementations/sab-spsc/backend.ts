import { type QueueBackend, SPSC_IN_SHARED_MEMORY } from '../contract.js';
import { ringBackend } from '../shared/ring/ring-backend.js';
import { SPSC_SHAPE } from './layout.js';
import { SpscRingConsumer, SpscRingProducer } from './ring.js';

export const sabSpsc: QueueBackend = ringBackend({
  id: 'sab-spsc',
  description: 'lock-free single-producer single-consumer ring on a SharedArrayBuffer',
  traits: { ...SPSC_IN_SHARED_MEMORY, canBlock: true },
  shape: SPSC_SHAPE,
  producer: (memory) => new SpscRingProducer(memory),
  consumer: (memory) => new SpscRingConsumer(memory),
});
