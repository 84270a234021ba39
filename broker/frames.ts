/**
 * The broker's wire format: length-prefixed frames over TCP, little-endian, every frame a
 * multiple of 8 bytes so the envelopes inside stay 8-aligned wherever a reader copies a frame.
 *
 *   byte 0          4      5      6          8               12              16
 *        +----------+------+------+----------+---------------+---------------+----------------------+
 *        | length   | type | flags| count    | id            | arg           | body (length − 16)   |
 *        | u32      | u8   | u8   | u16      | u32           | u32           |                      |
 *        +----------+------+------+----------+---------------+---------------+----------------------+
 *
 * `length` counts the whole frame, header included. What `id`, `arg` and the body mean depends on
 * the type (FrameType below). Message batches (PUBLISH, DELIVER) carry `count` records, each the
 * 64-byte NanoMQ envelope (wire/envelope.ts: magic, producer, sequence, times, payload length,
 * CRC32) and its payload, padded with zeros to 8 bytes:
 *
 *   +------------------+---------------------+--------+------------------+---- …
 *   | envelope (64 B)  | payload (len bytes) | pad→8  | envelope (64 B)  |
 *   +------------------+---------------------+--------+------------------+---- …
 *
 * A batch holds at most MAX_BATCH (256) messages of at most MAX_PAYLOAD_BYTES (64 KiB) each.
 */
import { HEADER_BYTES, MAGIC, MAX_PAYLOAD_BYTES, W_LENGTH, W_MAGIC } from '../wire/envelope.js';

export const FRAME_HEADER_BYTES = 16;
export const MAX_BATCH = 256;
/** A full batch of the largest messages, and its header: nothing legal is longer. */
export const MAX_FRAME_BYTES = FRAME_HEADER_BYTES + MAX_BATCH * padTo8(HEADER_BYTES + MAX_PAYLOAD_BYTES);
/** Topic and group names: short printable ASCII, so they can be logged and used as file names. */
export const NAME_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
/**
 * 2: a connection's publishers share one window, and a batch must fit in the credit left; ACKs
 * return only credit delivered; ACKs for a subscription the client left are ignored.
 * 3: a batch costs its window its bytes plus BATCH_CREDIT_OVERHEAD.
 */
export const PROTOCOL_VERSION = 3;
/**
 * What a batch costs its publisher's window beyond its bytes: about what the broker keeps per
 * batch besides them (the batch's object and view, its place in the topic's, the owner's and the
 * members' queues, the delivery's write). Without it a window of 4 MiB held 43 000 batches of one
 * 64-byte message, and their objects were most of the broker's heap at batch 1; with it, 11 900.
 */
export const BATCH_CREDIT_OVERHEAD = 256;

/** The window a batch of `bodyBytes` (its records) takes: client and broker count it the same. */
export function batchCredit(bodyBytes: number): number {
  return bodyBytes + BATCH_CREDIT_OVERHEAD;
}

/** Field offsets in the frame header. */
export const F_LENGTH = 0;
export const F_TYPE = 4;
export const F_FLAGS = 5;
export const F_COUNT = 6;
export const F_ID = 8;
export const F_ARG = 12;

export const FrameType = {
  /** client → broker, first frame. id: protocol version; body: the token (UTF-8, may be empty). */
  HELLO: 1,
  /** client → broker. id: request id; body: topic name. Answered by OK (arg: publisher handle) and a CREDIT. */
  OPEN_PUBLISHER: 2,
  /** client → broker. id: publisher handle; arg: the client's batch number; count: messages; body: records. */
  PUBLISH: 3,
  /** client → broker. id: request id; arg: credit in messages; body: topic, or "topic\0group". Answered by OK (arg: subscription id). */
  SUBSCRIBE: 4,
  /** client → broker. id: subscription id; count: messages handled (credit returned); body: u32 delivery tags acknowledged. */
  ACK: 5,
  /** broker → client. id: subscription id; arg: delivery tag; count: messages; flags: REDELIVERED; body: records. */
  DELIVER: 6,
  /** broker → client. id: publisher handle; arg: bytes of publish credit given back. */
  CREDIT: 7,
  /** broker → client. id: publisher handle; arg: the last batch number accepted (acknowledged: stored as the broker's policy says). */
  PUBACK: 8,
  /** broker → client. id: the request id answered; arg: the handle or subscription id made. */
  OK: 9,
  /** broker → client. id: the request id or handle concerned (0: the connection); arg: ErrorCode; body: message (UTF-8). */
  ERROR: 10,
  /** client → broker. id: subscription id. Leaves the subscription; its unacknowledged messages go back to its group. */
  UNSUBSCRIBE: 11,
} as const;
export type FrameTypeValue = (typeof FrameType)[keyof typeof FrameType];

export const FrameFlags = {
  /** DELIVER: these messages were delivered before, to a group member that left without acknowledging them. */
  REDELIVERED: 1,
} as const;

export const ErrorCode = {
  BAD_FRAME: 1,
  UNKNOWN_TYPE: 2,
  TOO_LARGE: 3,
  BAD_RECORD: 4,
  NOT_AUTHORIZED: 5,
  UNKNOWN_HANDLE: 6,
  BAD_NAME: 7,
  STALLED: 8,
  SLOW_CONSUMER: 9,
  SHUTTING_DOWN: 10,
  LIMIT: 11,
  /** The broker could not store what the request needs (a full or failing disk); nothing was made. */
  STORAGE: 12,
} as const;
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

export function padTo8(n: number): number {
  return (n + 7) & ~7;
}

/** The fields of a frame header (broker/frames.ts's diagram); `length` counts the whole frame. */
export interface FrameHeaderFields {
  readonly type: FrameTypeValue | number;
  readonly id: number;
  readonly arg: number;
  readonly count: number;
  readonly length: number;
  readonly flags?: number;
}

export function writeFrameHeader(into: Uint8Array, at: number, header: FrameHeaderFields): void {
  const view = new DataView(into.buffer, into.byteOffset, into.byteLength);
  writeFrameHeaderInto(view, at, header.type, header.flags ?? 0, header.count, header.id, header.arg, header.length);
}

/** `writeFrameHeader` through a view the caller keeps, allocating nothing (the broker's output, per delivery). */
export function writeFrameHeaderInto(view: DataView, at: number, type: number, flags: number, count: number, id: number, arg: number, length: number): void {
  view.setUint32(at + F_LENGTH, length, true);
  view.setUint8(at + F_TYPE, type);
  view.setUint8(at + F_FLAGS, flags);
  view.setUint16(at + F_COUNT, count, true);
  view.setUint32(at + F_ID, id >>> 0, true);
  view.setUint32(at + F_ARG, arg >>> 0, true);
}

/** A frame of only a header (OK, CREDIT, PUBACK, UNSUBSCRIBE). DELIVER's header is written in place by broker/outbox.ts. */
function headerFrame(type: FrameTypeValue, id: number, arg: number, count = 0, bodyBytes = 0, flags = 0): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  writeFrameHeader(frame, 0, { type, id, arg, count, length: FRAME_HEADER_BYTES + bodyBytes, flags });
  return frame;
}

/** A whole frame whose body is text (HELLO, OPEN_PUBLISHER, SUBSCRIBE, ERROR), padded to 8 bytes. */
export function textFrame(type: FrameTypeValue, id: number, arg: number, text: string): Buffer {
  const body = Buffer.from(text, 'utf8');
  const length = padTo8(FRAME_HEADER_BYTES + body.length);
  const frame = Buffer.alloc(length);
  writeFrameHeader(frame, 0, { type, id, arg, count: 0, length });
  body.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Every frame of the protocol, built: the one place that knows what each type carries in `id`,
 * `arg`, `count` and its body (the table in docs/broker.md). Message batches (PUBLISH's records,
 * DELIVER's body) are written in place by their senders; these build the rest.
 */
export const Frames = {
  hello: (token: string): Buffer => textFrame(FrameType.HELLO, PROTOCOL_VERSION, 0, token),
  openPublisher: (request: number, topic: string): Buffer => textFrame(FrameType.OPEN_PUBLISHER, request, 0, topic),
  /** `credit`: messages the broker may send ahead of acknowledgements. */
  subscribe: (request: number, credit: number, topic: string, group?: string): Buffer =>
    textFrame(FrameType.SUBSCRIBE, request, credit, group === undefined ? topic : `${topic}\0${group}`),
  unsubscribe: (subscription: number): Buffer => headerFrame(FrameType.UNSUBSCRIBE, subscription, 0),
  /** `count`: messages handled (credit back, at most 65 535); `tags`: the group batches acknowledged. */
  ack: (subscription: number, count: number, tags: readonly number[]): Buffer => {
    const length = padTo8(FRAME_HEADER_BYTES + 4 * tags.length);
    const frame = Buffer.alloc(length);
    writeFrameHeader(frame, 0, { type: FrameType.ACK, id: subscription, arg: 0, count, length });
    for (let i = 0; i < tags.length; i++) frame.writeUInt32LE(tags[i], FRAME_HEADER_BYTES + 4 * i);
    return frame;
  },
  /** `made`: the publisher handle or subscription id the request made (0 for HELLO and UNSUBSCRIBE). */
  ok: (request: number, made = 0): Buffer => headerFrame(FrameType.OK, request, made),
  credit: (handle: number, bytes: number): Buffer => headerFrame(FrameType.CREDIT, handle, bytes),
  puback: (handle: number, lastBatch: number): Buffer => headerFrame(FrameType.PUBACK, handle, lastBatch),
  error: (id: number, code: ErrorCodeValue, message: string): Buffer => textFrame(FrameType.ERROR, id, code, message),
} as const;

/** The text of the body of the frame at `at` (`length` bytes), without the zero padding. */
export function bodyText(bytes: Uint8Array, at: number, length: number): string {
  let end = at + length;
  while (end > at + FRAME_HEADER_BYTES && bytes[end - 1] === 0) end--;
  return Buffer.from(bytes.buffer, bytes.byteOffset + at + FRAME_HEADER_BYTES, end - at - FRAME_HEADER_BYTES).toString('utf8');
}

/** SUBSCRIBE's body: `topic`, or `topic\0group`; a third part is a malformed body. */
export function readSubscribeBody(bytes: Uint8Array, at: number, length: number): { topic: string; group: string | undefined; extra: boolean } {
  const [topic, group, ...rest] = bodyText(bytes, at, length).split('\0');
  return { topic, group, extra: rest.length > 0 };
}

/** ACK's body: the delivery tags acknowledged (0, the padding, is no tag). */
export function readAckTags(view: DataView, at: number, length: number): number[] {
  const tags: number[] = [];
  for (let p = at + FRAME_HEADER_BYTES; p + 4 <= at + length; p += 4) {
    const tag = view.getUint32(p, true);
    if (tag !== 0) tags.push(tag);
  }
  return tags;
}

/**
 * Checks a batch body: `count` records that fill it exactly, each with the envelope's magic and
 * a payload length within the limit. Returns null when it is well formed, else what is wrong.
 * (The payload CRC32 is the receivers' to check, end to end; the broker checks structure.)
 */
export function checkBatch(view: DataView, frameAt: number, frameLength: number, count: number): string | null {
  if (count === 0 || count > MAX_BATCH) return `a batch carries 1 to ${MAX_BATCH} messages, this one says ${count}`;
  const end = frameAt + frameLength;
  let at = frameAt + FRAME_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (at + HEADER_BYTES > end) return `message ${i} of ${count} runs past the frame`;
    if (view.getUint32(at + W_MAGIC * 4, true) !== MAGIC) return `message ${i} has no envelope magic`;
    const payload = view.getUint32(at + W_LENGTH * 4, true);
    if (payload > MAX_PAYLOAD_BYTES) return `message ${i} claims a payload of ${payload} bytes (limit ${MAX_PAYLOAD_BYTES})`;
    at += padTo8(HEADER_BYTES + payload);
  }
  if (at > end) return `message ${count - 1} of ${count} runs ${at - end} bytes past the frame`;
  if (at < end) return `the frame holds ${end - at} bytes after its ${count} messages`;
  return null;
}

/** Length in bytes of the envelope (header and payload) that starts at `at`. */
export function envelopeBytesAt(view: DataView, at: number): number {
  return HEADER_BYTES + view.getUint32(at + W_LENGTH * 4, true);
}

/**
 * Reads the header of a frame into fields, keeping one DataView per buffer (made again only
 * when frames start arriving in another buffer), for the server and the client alike.
 */
const NO_BYTES: DataView = new DataView(new ArrayBuffer(0));

export class FrameHeaderReader {
  private of: Uint8Array | null = null;
  /** A view of the last buffer read, for the frame's body. */
  view = NO_BYTES;
  type = 0;
  flags = 0;
  count = 0;
  id = 0;
  arg = 0;

  /**
   * Lets go of the last buffer read: a frame that spanned reads is memory copied out of its
   * reads, up to a window long, which an idle connection would otherwise keep alive until its
   * next frame.
   */
  forget(): void {
    this.of = null;
    this.view = NO_BYTES;
  }

  read(bytes: Uint8Array, at: number): void {
    if (bytes !== this.of) {
      this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      this.of = bytes;
    }
    const v = this.view;
    this.type = bytes[at + F_TYPE];
    this.flags = bytes[at + F_FLAGS];
    this.count = v.getUint16(at + F_COUNT, true);
    this.id = v.getUint32(at + F_ID, true);
    this.arg = v.getUint32(at + F_ARG, true);
  }
}
