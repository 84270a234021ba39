/**
 * What the consumers of the brokers without flow control of their own share (nats,
 * nats-jetstream, redis-streams): each message is handed to the visitor 8-byte aligned
 * (aligned-hand-over.ts) and then counted against the delivery window (delivery-window.ts),
 * which is what lets the producers send more.
 */
import type { BackendCounters, MessageVisitor } from '../contract.js';
import type { AsyncConsumer } from '../network-contract.js';
import { AlignedHandOver } from './aligned-hand-over.js';
import { DeliveryWindow, type DeliveryWindowMemory } from './delivery-window.js';

export abstract class WindowedConsumer implements AsyncConsumer {
  private visit: MessageVisitor = () => {
    throw new Error('a message arrived before the consumer started');
  };
  private received = 0;
  protected redelivered = 0;
  protected readonly window: DeliveryWindow;
  private readonly aligned = new AlignedHandOver();

  constructor(
    protected readonly index: number,
    window: DeliveryWindowMemory,
  ) {
    this.window = new DeliveryWindow(window);
  }

  start(visit: MessageVisitor): void {
    this.visit = visit;
  }

  /** Hands one message to the visitor and counts it as consumed. */
  protected deliver(data: Uint8Array): void {
    this.aligned.hand(data, this.visit);
    this.window.consumed(this.index, ++this.received);
  }

  counters(): BackendCounters {
    return { redelivered: this.redelivered };
  }

  abstract close(): Promise<void>;
}
