/**
 * The numbers the method rests on, in one place: the worker loops and the coordinator use them,
 * and the reports' method text and captions quote them from here, so the words cannot drift
 * from what the code does.
 */

/** In closed-loop runs, one message in this many carries a timestamp, so the clock does not dominate. */
export const TIMESTAMP_EVERY = 64;
/** The rate producer sleeps through gaps longer than this, and spins through shorter ones. */
export const SLEEP_FROM_NS = 150_000;
/** An open-loop case more than this far below its rate is flagged BELOW-RATE. */
export const RATE_SHORTFALL_LIMIT_PCT = 5;
/** A percentile is reported only with at least this many samples beyond it. */
export const MIN_TAIL_SAMPLES = 10;
/** Other programs using more than this share of one core during a window make the case NOISY. */
export const OTHER_LOAD_LIMIT_PCT = 25;
/** A latency SLO missed while a measured thread waited ≥ this share of the window for a CPU is SCHEDULER-BOUND. */
export const SCHEDULER_BOUND_PCT = 1;
