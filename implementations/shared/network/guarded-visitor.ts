/**
 * A network consumer's side of the contract for a visitor that throws (network-contract.ts,
 * `AsyncConsumer.start`): the first throw stops the consumer for good, no later message reaches
 * the visitor, and the error is reported once, on a later turn of the event loop, never from
 * inside the client's receive path (where it would be taken for a fault of the connection).
 */
import type { MessageVisitor } from '../../contract.js';
import type { ConsumerErrorHandler } from '../../network-contract.js';

export class GuardedVisitor {
  private visitor: MessageVisitor = () => {
    throw new Error('a message arrived before the consumer started');
  };
  private onError: ConsumerErrorHandler = () => {};
  /** The visitor threw: the consumer hands nothing more and must stop receiving. */
  stopped = false;

  start(visit: MessageVisitor, onError: ConsumerErrorHandler): void {
    this.visitor = visit;
    this.onError = onError;
  }

  /**
   * Hands one message to the visitor. True: it returned, the message is consumed. False: it
   * threw now or had thrown before; the message must not be acknowledged.
   */
  visit(bytes: Uint8Array, offset: number, length: number): boolean {
    if (this.stopped) return false;
    try {
      this.visitor(bytes, offset, length);
      return true;
    } catch (error) {
      this.stopped = true;
      const report = this.onError;
      setImmediate(() => report(error));
      return false;
    }
  }
}
