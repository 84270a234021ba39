/**
 * What the producers of the brokers without flow control of their own share (nats,
 * nats-jetstream, redis-streams), the other half of windowed-consumer.ts:
 * - a fresh buffer per claimed batch: their clients keep references to what they were given
 *   until they write it out, so a buffer is never reused;
 * - one `send` per message, and a hook after the batch (Redis: WAIT for the replicas);
 * - two bounds on what may be sent: the delivery window (what the readers have not taken yet)
 *   and `pipelineLimit`, the replies the server still owes (PubAcks, command replies), so a
 *   producer never runs further ahead of its server than that. A producer waiting on the
 *   second is woken by the reply, which arrives on its own event loop.
 */
import type { BackendCounters, WaitOutcome } from '../../contract.js';
import type { AsyncProducer } from '../../network-contract.js';
import { DeliveryWindow, type DeliveryWindowMemory } from './delivery-window.js';
import { WakeUp } from './wake-up.js';

/** The largest batch a producer stages at once. */
const MAX_CLAIM = 4096;

export abstract class WindowedProducer implements AsyncProducer {
  buffer: Buffer = Buffer.alloc(0);
  private length = 0;
  private claimed = 0;
  /** Messages or commands sent whose reply has not come back yet. */
  protected awaitingReply = 0;
  private readonly replyArrived = new WakeUp();
  private readonly window: DeliveryWindow;

  constructor(
    window: DeliveryWindowMemory,
    private readonly pipelineLimit: number,
  ) {
    this.window = new DeliveryWindow(window);
  }

  claim(max: number, length: number): number {
    const pipelineRoom = Math.max(0, this.pipelineLimit - this.awaitingReply);
    if (pipelineRoom === 0) return 0;
    // The window's room is taken at once (counted in flight), so only what is used is taken.
    const n = this.window.grant(Math.min(max, MAX_CLAIM, pipelineRoom));
    if (n === 0) return 0;
    this.buffer = Buffer.alloc(n * length);
    this.length = length;
    this.claimed = n;
    return n;
  }

  offsetOf(i: number): number {
    return i * this.length;
  }

  commit(): void {
    const n = this.claimed;
    for (let i = 0; i < n; i++) this.send(this.buffer.subarray(i * this.length, (i + 1) * this.length));
    this.batchSent();
    this.claimed = 0;
  }

  /** Hands one message to the client. */
  protected abstract send(message: Buffer): void;

  /** After every message of a batch was sent. */
  protected batchSent(): void {}

  /** One more reply is owed (call when sending what the server will answer). */
  protected expectReply(): void {
    this.awaitingReply++;
  }

  /** A reply the server owed has come back. */
  protected replied(): void {
    this.awaitingReply--;
    this.replyArrived.wake();
  }

  flush(): void {
    // The clients write what they hold at the end of this turn of the event loop.
  }

  awaitSpace(timeoutMs: number): Promise<WaitOutcome> {
    if (this.awaitingReply < this.pipelineLimit) return this.window.awaitRoom(timeoutMs);
    return this.replyArrived.wait(timeoutMs);
  }

  counters(): BackendCounters {
    return {};
  }

  abstract close(): Promise<void>;
}
