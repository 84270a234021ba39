/**
 * What one turn of a sending loop part returns besides a count of messages sent. The parts
 * never wait for the queue or the schedule: they say why nothing went out, and each driver waits
 * its own way (roles.ts polls and sleeps on the queue's event count, network-roles.ts awaits a
 * promise). The one pause inside a turn is the warm-up rehearsal of a held claim (held-claim.ts:
 * once, at most HELD_CLAIM_MS, in-process queues only).
 *
 *   n > 0     messages claimed, filled and committed this turn
 *   0         the queue had no room (the driver waits for space)
 *   NOT_DUE   open loop: the next burst is not due yet (the driver sleeps or turns its loop)
 *   STOPPED   the phase reached STOP: the loop ends
 */
export const STOPPED = -1;
export const NOT_DUE = -2;
