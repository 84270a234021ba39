/**
 * What the consumers of the brokers without flow control of their own share (nats,
 * nats-jetstream, redis-streams): each message is handed to the visitor 8-byte aligned
 * (aligned-hand-over.ts) and then counted against the delivery window (delivery-window.ts),
 * which is what lets the producers send more.
 */
import type { BackendCounters, MessageVisitor } from '../../contract.js';
import type { AsyncConsumer, ConsumerErrorHandler } from '../../network-contract.js';
import { AlignedHandOver } from './aligned-hand-over.js';
import { DeliveryWindow, type DeliveryWindowMemory } from './delivery-window.js';
import { GuardedVisitor } from './guarded-visitor.js';

export abstract class WindowedConsumer implements AsyncConsumer {
  private readonly guard = new GuardedVisitor();
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

  start(visit: MessageVisitor, onError: ConsumerErrorHandler): Promise<void> {
    this.guard.start(visit, onError);
    return this.receive();
  }

  /** Subscribes (joins, starts reading): resolves once messages can arrive. */
  protected abstract receive(): Promise<void>;

  /**
   * Hands one message to the visitor and counts it as consumed. False when the visitor threw
   * (now or before): the message is not consumed, must not be acknowledged, and the subclass
   * has been told to stop receiving.
   */
  protected deliver(data: Uint8Array): boolean {
    if (!this.aligned.hand(data, this.guard)) {
      this.stopReceiving();
      return false;
    }
    this.window.consumed(this.index, ++this.received);
    return true;
  }

  /** The visitor threw: receive nothing more (what is unacknowledged stays so). Idempotent. */
  protected abstract stopReceiving(): void;

  counters(): BackendCounters {
    return { redelivered: this.redelivered };
  }

  abstract close(): Promise<void>;
}
