/**
 * V8 settings for measured threads, applied before any measured code first runs (imported first
 * by entry.ts; V8 flags are process-wide).
 *
 * --no-lazy-feedback-allocation: V8 gives a function its feedback vector (the record of which
 * types each operation saw) only after several calls, so code that runs once — a window edge in
 * MeasureWindow, first reached while warm-up begins — leaves no feedback, and the optimised loop
 * that later reaches it again (as the window opens) is deoptimised there for "insufficient type
 * feedback", then runs in the interpreter until it is recompiled: 5–30 ms of the window's start
 * (--trace-deopt-verbose pointed at measure-window.js's call to edge()).
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--no-lazy-feedback-allocation');
