/**
 * The NanoMQ message envelope: a 64-byte, cache-line-sized header followed by 0..65536 payload
 * bytes. The harness writes it and checks it; backends only move bytes.
 *
 *   byte  0        4      6      8             16            24       28      32           40        64
 *         +--------+------+------+-------------+-------------+--------+-------+------------+---------+
 *         | magic  |flags | prod | sequence    | timestamp   |payload | crc32 | sent-at    |reserved |
 *         | u32    | u16  | u16  | u64 (lo,hi) | u64 ns      |len u32 | u32   | u64 ns     | (zero)  |
 *         +--------+------+------+-------------+-------------+--------+-------+------------+---------+
 *
 * All fields little-endian. `timestamp` is the time the message was meant to be sent (for
 * open-loop runs the intended time, else the actual send time), on process.hrtime's clock, which
 * every thread of the process shares. `sent-at` is the actual send time when it differs (flag
 * SENT_AT), so coordinated omission can be shown, not hidden.
 *
 * Integers up to 2^53 are split into two u32 words, so no BigInt is made on the hot path.
 */
import { crc32 } from 'node:zlib';

export const HEADER_BYTES = 64;
export const MAX_PAYLOAD_BYTES = 65536;
export const MAX_ENVELOPE_BYTES = HEADER_BYTES + MAX_PAYLOAD_BYTES;
/** 'NMQ' and version 1. */
export const MAGIC = 0x4e4d5101;

export const Flags = {
  /** `timestamp` is set; the consumer records latency for this message. */
  TIMESTAMPED: 1,
  /** `crc32` holds the CRC32 of the payload. */
  HAS_CRC: 2,
  /** `sent-at` holds the actual send time (open-loop runs). */
  SENT_AT: 4,
} as const;

/** Word (u32) offsets within the header, for readers that index the words directly. */
export const W_MAGIC = 0;
export const W_FLAGS_PRODUCER = 1;
export const W_SEQ_LO = 2;
export const W_SEQ_HI = 3;
export const W_TS_LO = 4;
export const W_TS_HI = 5;
export const W_LENGTH = 6;
export const W_CRC = 7;
export const W_SENT_LO = 8;
export const W_SENT_HI = 9;
/** First payload word: the harness stamps the sequence's low 32 bits there. */
export const W_PAYLOAD = HEADER_BYTES / 4;

export const TWO_32 = 4294967296;

export interface Header {
  magic: number;
  flags: number;
  producerId: number;
  sequence: number;
  timestampNs: number;
  payloadLength: number;
  crc: number;
  sentAtNs: number;
}

export class EnvelopeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvelopeError';
  }
}

/** Refuses, never truncates, a payload the format cannot carry. */
export function checkPayloadLength(length: number): void {
  if (!Number.isInteger(length) || length < 0 || length > MAX_PAYLOAD_BYTES) {
    throw new EnvelopeError(`payload of ${length} bytes is outside 0..${MAX_PAYLOAD_BYTES} bytes`);
  }
}

/** IEEE CRC32 table (the polynomial zlib.crc32 uses), for short payloads computed in place. */
const CRC_TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/** Up to this many bytes the table loop beats zlib.crc32 (measured: 149 vs 220 ns at 64 B, 967 vs 214 at 256 B). */
export const TABLE_CRC_MAX_BYTES = 96;

/**
 * CRC32 of a payload. Short payloads are hashed in place with a table: zlib.crc32 needs a view
 * of the range, one allocation per message, which with `verify: crc` became thousands of
 * garbage collections a minute. Long ones go to zlib (about 11 µs for 64 KiB).
 */
export function payloadCrc(bytes: Uint8Array, offset: number, length: number): number {
  return payloadCrcBits(bytes, offset, length) >>> 0;
}

/**
 * payloadCrc's 32 bits as a signed integer. Hot paths pass and compare this form: V8 boxes a
 * value of 2^31 or more into a heap number when it crosses a call, so half of all unsigned CRCs
 * were an allocation per message (found as GCs inside measured windows with `verify: crc`).
 */
export function payloadCrcBits(bytes: Uint8Array, offset: number, length: number): number {
  if (length > TABLE_CRC_MAX_BYTES) return crc32(bytes.subarray(offset, offset + length)) | 0;
  let c = -1;
  const end = offset + length;
  for (let i = offset; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return c ^ -1;
}

/**
 * Reads and writes headers in one buffer. Backends align records to 8 bytes, so the aligned
 * path (a Uint32Array alias of the same memory) serves the hot loop; a DataView covers the rest.
 */
export class EnvelopeCodec {
  readonly bytes: Uint8Array;
  /** A u32 alias of `bytes` when it starts 4-aligned (always, for the backends' own memory). */
  readonly words: Uint32Array | null;
  private readonly view: DataView;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.words = bytes.byteOffset % 4 === 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2) : null;
  }

  /** Writes the header of a message that carries no times, flags or CRC: only who sent it, its number and its length. */
  writeBareHeader(offset: number, producerId: number, sequence: number, payloadLength: number): void {
    this.writeHeader(offset, producerId, sequence, 0, payloadLength, 0, 0, 0);
  }

  /** Writes a header at `offset`. `crc` is ignored unless flags include HAS_CRC. */
  writeHeader(
    offset: number,
    producerId: number,
    sequence: number,
    timestampNs: number,
    payloadLength: number,
    flags: number,
    crc: number,
    sentAtNs: number,
  ): void {
    const w = this.words;
    if (w !== null && (offset & 3) === 0) {
      const i = offset >>> 2;
      w[i + W_MAGIC] = MAGIC;
      w[i + W_FLAGS_PRODUCER] = (flags & 0xffff) | ((producerId & 0xffff) << 16);
      w[i + W_SEQ_LO] = sequence >>> 0;
      w[i + W_SEQ_HI] = (sequence / TWO_32) >>> 0;
      w[i + W_TS_LO] = timestampNs >>> 0;
      w[i + W_TS_HI] = (timestampNs / TWO_32) >>> 0;
      w[i + W_LENGTH] = payloadLength;
      w[i + W_CRC] = crc >>> 0;
      w[i + W_SENT_LO] = sentAtNs >>> 0;
      w[i + W_SENT_HI] = (sentAtNs / TWO_32) >>> 0;
      return;
    }
    const v = this.view;
    v.setUint32(offset, MAGIC, true);
    v.setUint16(offset + 4, flags, true);
    v.setUint16(offset + 6, producerId, true);
    v.setUint32(offset + 8, sequence >>> 0, true);
    v.setUint32(offset + 12, (sequence / TWO_32) >>> 0, true);
    v.setUint32(offset + 16, timestampNs >>> 0, true);
    v.setUint32(offset + 20, (timestampNs / TWO_32) >>> 0, true);
    v.setUint32(offset + 24, payloadLength, true);
    v.setUint32(offset + 28, crc >>> 0, true);
    v.setUint32(offset + 32, sentAtNs >>> 0, true);
    v.setUint32(offset + 36, (sentAtNs / TWO_32) >>> 0, true);
  }

  /**
   * Rewrites the timestamp of the header at `offset` (the CRC covers the payload only), given as
   * its two 32-bit halves (`ns | 0`, `(ns / 2^32) | 0`): small integers cross a call without
   * allocating, where a double that V8 does not inline is boxed into a heap number.
   */
  setTimestampParts(offset: number, lo: number, hi: number): void {
    this.setTimeParts(offset, W_TS_LO, lo, hi);
  }

  /** Rewrites the 64-bit time whose low half is header word `word` (W_TS_LO or W_SENT_LO). */
  setTimeParts(offset: number, word: number, lo: number, hi: number): void {
    const w = this.words;
    if (w !== null && (offset & 3) === 0) {
      const i = (offset >>> 2) + word;
      w[i] = lo;
      w[i + 1] = hi;
      return;
    }
    this.view.setInt32(offset + word * 4, lo, true);
    this.view.setInt32(offset + word * 4 + 4, hi, true);
  }

  /** flags() for the hot path: no bounds on alignment checked twice. */
  flagsFast(offset: number): number {
    const w = this.words;
    return w !== null && (offset & 3) === 0 ? w[(offset >>> 2) + W_FLAGS_PRODUCER] & 0xffff : this.flags(offset);
  }

  magic(offset: number): number {
    return this.u32(offset, W_MAGIC);
  }
  flags(offset: number): number {
    return this.u32(offset, W_FLAGS_PRODUCER) & 0xffff;
  }
  producerId(offset: number): number {
    return this.u32(offset, W_FLAGS_PRODUCER) >>> 16;
  }
  sequence(offset: number): number {
    return this.u32(offset, W_SEQ_LO) + this.u32(offset, W_SEQ_HI) * TWO_32;
  }
  timestampNs(offset: number): number {
    return this.u32(offset, W_TS_LO) + this.u32(offset, W_TS_HI) * TWO_32;
  }
  sentAtNs(offset: number): number {
    return this.u32(offset, W_SENT_LO) + this.u32(offset, W_SENT_HI) * TWO_32;
  }
  payloadLength(offset: number): number {
    return this.u32(offset, W_LENGTH);
  }
  crc(offset: number): number {
    return this.u32(offset, W_CRC);
  }

  /**
   * The harness stamps the low 32 bits of the sequence into the first payload word, so a
   * payload left over from an older record is caught even without a CRC.
   */
  stampSequence(offset: number, sequence: number): void {
    const at = offset + HEADER_BYTES;
    const w = this.words;
    if (w !== null && (at & 3) === 0) w[at >>> 2] = sequence >>> 0;
    else this.view.setUint32(at, sequence >>> 0, true);
  }
  stampedSequence(offset: number): number {
    const at = offset + HEADER_BYTES;
    const w = this.words;
    if (w !== null && (at & 3) === 0) return w[at >>> 2];
    return this.view.getUint32(at, true);
  }

  readHeader(offset: number): Header {
    return {
      magic: this.magic(offset),
      flags: this.flags(offset),
      producerId: this.producerId(offset),
      sequence: this.sequence(offset),
      timestampNs: this.timestampNs(offset),
      payloadLength: this.payloadLength(offset),
      crc: this.crc(offset),
      sentAtNs: this.sentAtNs(offset),
    };
  }

  private u32(offset: number, word: number): number {
    const w = this.words;
    if (w !== null && (offset & 3) === 0) return w[(offset >>> 2) + word];
    return this.view.getUint32(offset + word * 4, true);
  }
}

export interface EncodeFields {
  producerId: number;
  sequence: number;
  timestampNs?: number;
  sentAtNs?: number;
  withCrc?: boolean;
}

/** Builds one whole envelope (header + copy of payload). For tests and tools, not hot loops. */
export function encode(fields: EncodeFields, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  checkPayloadLength(payload.length);
  const out = new Uint8Array(HEADER_BYTES + payload.length);
  out.set(payload, HEADER_BYTES);
  let flags = 0;
  if (fields.timestampNs !== undefined) flags |= Flags.TIMESTAMPED;
  if (fields.sentAtNs !== undefined) flags |= Flags.SENT_AT;
  const crc = fields.withCrc === false ? 0 : crc32(payload);
  if (fields.withCrc !== false) flags |= Flags.HAS_CRC;
  new EnvelopeCodec(out).writeHeader(0, fields.producerId, fields.sequence, fields.timestampNs ?? 0, payload.length, flags, crc, fields.sentAtNs ?? 0);
  return out;
}

export interface Decoded {
  header: Header;
  payload: Uint8Array;
}

/** Parses and verifies one envelope; throws EnvelopeError naming what is wrong. */
export function decode(bytes: Uint8Array, offset = 0, length = bytes.length - offset): Decoded {
  if (length < HEADER_BYTES) throw new EnvelopeError(`record of ${length} bytes is shorter than the 64-byte header`);
  const header = new EnvelopeCodec(bytes).readHeader(offset);
  const problem = verify(bytes, offset, length);
  if (problem !== null) throw new EnvelopeError(problem);
  return { header, payload: bytes.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + header.payloadLength) };
}

/** Returns null when the envelope is intact, else what is wrong with it. */
export function verify(bytes: Uint8Array, offset = 0, length = bytes.length - offset): string | null {
  if (length < HEADER_BYTES) return `record of ${length} bytes is shorter than the header`;
  const codec = new EnvelopeCodec(bytes);
  if (codec.magic(offset) !== MAGIC) return `bad magic 0x${codec.magic(offset).toString(16)}`;
  const payloadLength = codec.payloadLength(offset);
  if (payloadLength > MAX_PAYLOAD_BYTES) return `payload length ${payloadLength} exceeds ${MAX_PAYLOAD_BYTES}`;
  if (HEADER_BYTES + payloadLength !== length) return `payload length ${payloadLength} does not match record of ${length} bytes`;
  if ((codec.flags(offset) & Flags.HAS_CRC) !== 0) {
    const actual = payloadCrc(bytes, offset + HEADER_BYTES, payloadLength);
    if (actual !== codec.crc(offset)) return `CRC32 mismatch: header 0x${codec.crc(offset).toString(16)}, payload 0x${actual.toString(16)}`;
  }
  return null;
}
