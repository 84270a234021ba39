/**
 * Hands a message to a MessageVisitor 8-byte aligned, as the contract promises (readers alias
 * the header with a Uint32Array). A client library that hands over views of its socket buffer
 * at arbitrary offsets (NATS, Redis: payloads follow a text protocol line) costs one copy into
 * a scratch buffer here; an aligned view passes through untouched. The scratch is reused: a
 * visitor reads the message before it returns and keeps no reference to it.
 */
import type { GuardedVisitor } from './guarded-visitor.js';

export class AlignedHandOver {
  private scratch = new Uint8Array(1024);

  /** What the visitor made of it: false when it threw (guarded-visitor.ts). */
  hand(data: Uint8Array, visitor: GuardedVisitor): boolean {
    if ((data.byteOffset & 7) === 0) return visitor.visit(data, 0, data.length);
    if (this.scratch.length < data.length) this.scratch = new Uint8Array(Math.max(data.length, 2 * this.scratch.length));
    this.scratch.set(data);
    return visitor.visit(this.scratch, 0, data.length);
  }
}
