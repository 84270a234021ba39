/**
 * Every bound the broker puts on what a client can make it hold or do, with its default: the
 * one list that `nanomq broker`'s flags, `BrokerOptions` and docs/broker.md ("Limits") follow.
 * Modelled on nats-server's named limits (max_control_line, max_payload, max_pending,
 * write_deadline): each is a number a deployment can read, change and reason about.
 *
 * What memory they bound (docs/broker.md gives the formula with these names):
 *
 *   before HELLO      connections × preAuthBytes
 *   partial frames    inputBudgetBytes, whole broker (a frame being read has its length
 *                     reserved; one that does not fit waits, holding what it had copied of
 *                     the read that carried its start: at most 64 KiB)
 *   published batches bufferedBytes, whole broker: each publishing connection reserves its
 *                     windowBytes from it; what its batches keep alive ≤ 3 × windowBytes
 *   socket output     connections × (maxPendingBytes + one batch or one read's replies)
 *   topics, groups    maxTopics, maxGroupsPerTopic × topics, maxGroups
 */
import { HEADER_BYTES, MAX_PAYLOAD_BYTES } from '../wire/envelope.js';
import { batchCredit, padTo8 } from './frames.js';

export interface BrokerLimits {
  /** Bytes of publishes a connection may have in the broker, all its publishers together, before it waits for CREDIT. */
  readonly windowBytes: number;
  /** Bytes all publishing connections together may have in the broker: each reserves its window from it. */
  readonly bufferedBytes: number;
  /** The longest frame a connection may send before its HELLO is accepted. */
  readonly preAuthBytes: number;
  /** Bytes of incomplete frames the whole broker holds; a connection that would take more is paused until others finish. */
  readonly inputBudgetBytes: number;
  /** Bytes waiting in a connection's socket past which the broker stops delivering to it. */
  readonly maxPendingBytes: number;
  readonly maxConnections: number;
  /** Publishers and subscriptions on one connection. */
  readonly maxHandlesPerConnection: number;
  readonly maxTopics: number;
  /** Distinct topics one connection's publishers and subscriptions name. */
  readonly maxTopicsPerConnection: number;
  readonly maxGroups: number;
  readonly maxGroupsPerTopic: number;
  /** A frame left incomplete, or a connection without HELLO, for this long is closed. */
  readonly frameTimeoutMs: number;
  /** A subscriber whose oldest unacknowledged delivery is this old is closed (SLOW_CONSUMER), whatever its credit. */
  readonly slowConsumerMs: number;
  /** A consumer group with no members for this long is dropped, with what it kept. */
  readonly groupIdleMs: number;
  /** A topic with no publisher, subscriber, group or retained message for this long is deleted (its log directory too). */
  readonly topicIdleMs: number;
}

/** The largest message, as a batch of one: a window must hold two, so a publisher holding back credit never starves. */
const LARGEST_RECORD = batchCredit(padTo8(HEADER_BYTES + MAX_PAYLOAD_BYTES));
export const MIN_WINDOW_BYTES = 2 * LARGEST_RECORD;

export const DEFAULT_LIMITS: BrokerLimits = {
  windowBytes: 4 * 1024 * 1024,
  bufferedBytes: 1024 * 1024 * 1024,
  preAuthBytes: 4096,
  inputBudgetBytes: 64 * 1024 * 1024,
  maxPendingBytes: 1024 * 1024,
  maxConnections: 4096,
  maxHandlesPerConnection: 1024,
  maxTopics: 10_000,
  maxTopicsPerConnection: 100,
  maxGroups: 10_000,
  maxGroupsPerTopic: 64,
  frameTimeoutMs: 10_000,
  slowConsumerMs: 30_000,
  groupIdleMs: 30_000,
  topicIdleMs: 0,
};

/** Checks limits against each other; returns what is wrong and which limit, or null. */
export function limitsProblem(limits: BrokerLimits): { option: keyof BrokerLimits; message: string } | null {
  for (const [name, value] of Object.entries(limits) as [keyof BrokerLimits, number][]) {
    if (!Number.isSafeInteger(value) || value < 0) return { option: name, message: `a whole number ≥ 0, got ${value}` };
  }
  if (limits.windowBytes < MIN_WINDOW_BYTES)
    return { option: 'windowBytes', message: `at least ${MIN_WINDOW_BYTES} bytes (two of the largest messages), got ${limits.windowBytes}` };
  if (limits.bufferedBytes < limits.windowBytes)
    return { option: 'bufferedBytes', message: `${limits.bufferedBytes} bytes is less than one window (${limits.windowBytes})` };
  if (limits.preAuthBytes < 64) return { option: 'preAuthBytes', message: `at least 64 bytes, got ${limits.preAuthBytes}` };
  // One frame as long as a window must fit, or a publisher with a full batch would wait for ever.
  if (limits.inputBudgetBytes < limits.windowBytes + 16)
    return { option: 'inputBudgetBytes', message: `at least one window and a frame header (${limits.windowBytes + 16} bytes), got ${limits.inputBudgetBytes}` };
  if (limits.inputBudgetBytes < limits.preAuthBytes) return { option: 'inputBudgetBytes', message: `at least --max-preauth (${limits.preAuthBytes} bytes)` };
  // Below Node's socket high-water mark a full socket would never say 'drain'.
  if (limits.maxPendingBytes < 16 * 1024) return { option: 'maxPendingBytes', message: `at least 16 KiB, got ${limits.maxPendingBytes}` };
  if (limits.maxConnections < 1) return { option: 'maxConnections', message: 'at least 1' };
  return null;
}
