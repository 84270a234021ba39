/**
 * Socket reads into one buffer the broker reuses for every plain-TCP connection, instead of a
 * new buffer per read.
 *
 *   kernel ──read──▶ [ one 64 KiB buffer, the broker's ] ──▶ onChunk(view of what was read)
 *                     overwritten by the next read of any connection: the callback copies what
 *                     it keeps (the record arena, a partial frame) before it returns
 *
 * Why: without it Node reads each socket into a new 64 KiB buffer (malloc), shrinks it to what
 * was read (realloc), and frees it only when V8 next collects its young generation. Those
 * buffers are where the broker's memory outside V8 went: 20–30 MiB of them waiting for a
 * collection at payload 1 KiB, batch 256, and glibc's heap left fragmented by them
 * (docs/broker.md, "Memory"). Node's own answer is `onread` (`net.connect`, `new net.Socket`):
 * reads go into a buffer the caller gives and are handed to a callback. But a socket that a
 * `net.Server` accepts is made inside Node without that option (Node 20, lib/net.js,
 * `onconnection`), and there is no server option for it. So `attach` gives an accepted socket
 * what `onread` would have: the same two fields of the socket and the same call on its handle
 * (`useUserBuffer`) that Node's Socket constructor makes for `onread`. The two fields are found
 * once, on a probe socket made with `onread`, by their values, not by their names.
 *
 * Where they are not found (a Node that does this differently) or the socket is not plain TCP
 * (TLS decrypts into buffers of its own), `attach` returns false and the caller reads with
 * 'data' as before. `available()` says which; a test holds this Node to the shared path.
 *
 * Pausing is Node's: with these fields set, `socket.pause()` stops reading at the kernel and
 * `resume()` starts it again, as for any `onread` socket. End of stream still comes as 'end'
 * (Node pushes the end to the stream and reads it at once; checked on Node 20).
 */
import { type OnReadOpts, Socket, type SocketConstructorOpts } from 'node:net';

/** The size Node asks libuv to read into per read: the same reads, into one buffer. */
export const SHARED_READ_BYTES = 64 * 1024;

interface OnreadFields {
  readonly buffer: symbol;
  readonly callback: symbol;
}

/** The socket's fields `onread` sets, found on a probe socket by the values given; null when this Node has none. */
function findOnreadFields(): OnreadFields | null {
  const buffer = new Uint8Array(1);
  const callback = () => true;
  // Node's Socket takes `onread` (lib/net.js); @types/node lists it for connect() only.
  const options: SocketConstructorOpts & { onread: OnReadOpts } = { onread: { buffer, callback } };
  let probe: Socket;
  try {
    probe = new Socket(options);
  } catch {
    return null;
  }
  const record = probe as unknown as Record<symbol, unknown>;
  const symbols = Object.getOwnPropertySymbols(probe);
  const bufferField = symbols.find((s) => record[s] === buffer);
  const callbackField = symbols.find((s) => record[s] === callback);
  probe.destroy();
  if (bufferField === undefined || callbackField === undefined) return null;
  return { buffer: bufferField, callback: callbackField };
}

const fields = findOnreadFields();

interface UserBufferHandle {
  useUserBuffer(buffer: Uint8Array): void;
}

export class SharedReads {
  private readonly buffer: Buffer;
  /** Sockets attached so far, and bytes read into the buffer (for tests and the curious). */
  sockets = 0;
  bytes = 0;

  constructor(bytes = SHARED_READ_BYTES) {
    this.buffer = Buffer.allocUnsafe(bytes);
  }

  /** True when this Node lets an accepted socket read into a buffer of the caller's. */
  static available(): boolean {
    return fields !== null;
  }

  /**
   * From now on `socket`'s reads go into the shared buffer and `onChunk` gets a view of each
   * (valid only until it returns). Call before the event loop turns after accepting it, so no
   * read has gone elsewhere. False (and nothing changed) when it cannot: read with 'data'.
   */
  attach(socket: Socket, onChunk: (chunk: Uint8Array) => void): boolean {
    const handle = (socket as unknown as { _handle?: Partial<UserBufferHandle> | null })._handle;
    if (fields === null || (socket as { encrypted?: boolean }).encrypted === true || typeof handle?.useUserBuffer !== 'function') return false;
    const buffer = this.buffer;
    const record = socket as unknown as Record<symbol, unknown>;
    record[fields.buffer] = buffer;
    // As an `onread` callback: false would pause the socket; pausing is the caller's, by pause().
    record[fields.callback] = (nread: number): boolean => {
      this.bytes += nread;
      onChunk(buffer.subarray(0, nread));
      return true;
    };
    handle.useUserBuffer(buffer);
    this.sockets++;
    return true;
  }
}
