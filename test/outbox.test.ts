/**
 * What guards a connection's gathered output (broker/outbox.ts): frames go out in the order they
 * were queued, small DELIVERs carry their header and records, and an idle connection lets its
 * buffers go.
 */
import { describe, expect, it } from 'vitest';
import { FrameFlags, Frames, FrameType } from '../broker/frames.js';
import { Outbox } from '../broker/outbox.js';

/** A socket that records what is written, and calls write callbacks at once. */
function fakeSocket() {
  const written: Uint8Array[] = [];
  return {
    written,
    writable: true,
    closed: false,
    writableLength: 0,
    cork() {},
    uncork() {},
    once() {},
    write(chunk: Uint8Array, cb?: () => void) {
      written.push(Uint8Array.from(chunk));
      cb?.();
      return true;
    },
  };
}

const tick = () => new Promise((r) => process.nextTick(r));

describe('Outbox', () => {
  it('writes a turn’s frames and small deliveries in order, a DELIVER’s header as the protocol says', async () => {
    const socket = fakeSocket();
    const outbox = new Outbox(socket as never);
    outbox.frame(Frames.ok(7, 3));
    const records = Uint8Array.from({ length: 96 }, (_, i) => i);
    outbox.deliver(5, 9, 1, records, true);
    expect(outbox.pendingBytes).toBe(16 + 16 + 96);
    await tick();
    const out = Buffer.concat(socket.written);
    expect(out.length).toBe(16 + 16 + 96);
    expect(out[4]).toBe(FrameType.OK);
    const view = new DataView(out.buffer, out.byteOffset + 16);
    expect(view.getUint32(0, true)).toBe(16 + 96);
    expect(view.getUint8(4)).toBe(FrameType.DELIVER);
    expect(view.getUint8(5)).toBe(FrameFlags.REDELIVERED);
    expect(view.getUint16(6, true)).toBe(1);
    expect(view.getUint32(8, true)).toBe(5);
    expect(view.getUint32(12, true)).toBe(9);
    expect(out.subarray(32)).toEqual(Buffer.from(records));
    expect(outbox.pendingBytes).toBe(0);
  });

  it('lets its buffers go after a sweep with no output since the last', async () => {
    const socket = fakeSocket();
    const outbox = new Outbox(socket as never);
    outbox.frame(Frames.ok(1));
    await tick();
    const held = () => (outbox as unknown as { buffer: Uint8Array | null }).buffer;
    expect(held()).not.toBeNull();
    outbox.trimIfIdle();
    expect(held()).not.toBeNull();
    outbox.trimIfIdle();
    expect(held()).toBeNull();
    // And takes a new one when it has output again.
    outbox.frame(Frames.ok(2));
    await tick();
    expect(socket.written.length).toBe(2);
  });
});
