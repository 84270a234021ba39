/**
 * What a consuming thread does with each message, whatever loop hands it over (the synchronous
 * drain loop in roles.ts, or a socket's data events in network-roles.ts): check delivery, and
 * record latency from the message's timestamp (rate: from its intended send time; and the
 * service time from its actual send time).
 */
import type { MessageVisitor } from '../../implementations/contract.js';
import { Flags, TWO_32, W_SENT_HI, W_SENT_LO, W_TS_HI, W_TS_LO } from '../../wire/envelope.js';
import { clockCell, tickClock } from '../metrics/clock.js';
import type { Histogram } from '../metrics/histogram.js';
import type { DeliveryCheck } from './delivery-check.js';
import type { GroupDeliveryCheck } from './group-delivery-check.js';
import { CLOSED_AT, type MeasureWindow, OPENED_AT } from './measure-window.js';

/** Indexes into ReceiveVisitor.tally. */
export const RECEIVED = 0;
export const IN_FLIGHT_AT_STOP = 1;

export interface ReceiveVisitor {
  visit: MessageVisitor;
  /** [RECEIVED]: messages handled; [IN_FLIGHT_AT_STOP]: rate messages intended inside the window that arrived after STOP. */
  tally: Float64Array;
}

export function receiveVisitor(
  check: DeliveryCheck | GroupDeliveryCheck,
  window: MeasureWindow,
  latency: Histogram,
  service: Histogram | null,
  isRate: boolean,
): ReceiveVisitor {
  // Counts in a typed array, not closure variables that would need a context object per update.
  const tally = new Float64Array(2);
  const bounds = window.boundsNs;
  const visit: MessageVisitor = (bytes, offset, length) => {
    check.check(bytes, offset, length);
    const codec = check.codec;
    tally[RECEIVED]++;
    if ((codec.flagsFast(offset) & Flags.TIMESTAMPED) === 0) return;
    // The header's times are read from its words right here: a double returned by a call that
    // V8 does not inline is a heap allocation per message.
    const words = codec.words;
    // Every backend hands out 8-aligned records; the codec's unaligned path is the fallback.
    if (words === null || (offset & 3) !== 0) throw new Error(`record at unaligned offset ${offset}`);
    const at = offset >>> 2;
    const stamped = words[at + W_TS_LO] + words[at + W_TS_HI] * TWO_32;
    // Warm-up records too (reset when the window opens). After STOP, a rate message still
    // counts when it was intended inside the window: it was in flight when the window closed.
    if (window.stopped) {
      if (!isRate) return;
      if (stamped < bounds[OPENED_AT] || stamped >= bounds[CLOSED_AT]) return;
      tally[IN_FLIGHT_AT_STOP]++;
    } else if (isRate && stamped < bounds[OPENED_AT]) {
      // Intended before the window: warm-up's, however late it arrives. During warm-up the
      // bound is 0 and this compare runs on every message, so it is compiled before the window.
      return;
    }
    tickClock();
    const now = clockCell[0];
    latency.recordValue(Math.max(0, now - stamped));
    if (service !== null) service.recordValue(Math.max(0, now - (words[at + W_SENT_LO] + words[at + W_SENT_HI] * TWO_32)));
  };
  return { visit, tally };
}

/**
 * What a ping-pong client does with each reply: check delivery and record the round trip from
 * the request's own timestamp (warm-up's too: the histogram is reset as the window opens, and
 * the path is compiled before it). tally[RECEIVED] counts the replies.
 */
export function roundTripVisitor(check: DeliveryCheck, window: MeasureWindow, roundTrip: Histogram): ReceiveVisitor {
  const tally = new Float64Array(2);
  const visit: MessageVisitor = (bytes, offset, length) => {
    check.check(bytes, offset, length);
    tally[RECEIVED]++;
    if (window.stopped) return;
    const words = check.codec.words;
    if (words === null || (offset & 3) !== 0) throw new Error(`record at unaligned offset ${offset}`);
    tickClock();
    roundTrip.recordValue(Math.max(0, clockCell[0] - (words[(offset >>> 2) + W_TS_LO] + words[(offset >>> 2) + W_TS_HI] * TWO_32)));
  };
  return { visit, tally };
}
