/**
 * Time as an analysis (and the flows around it) sees it: injectable, so tests run a 10-minute
 * pause or a 5-minute analysis in milliseconds. Blue-green, canary and their scale-down delays
 * all take a `Clock`; `realClock` is the one a run uses.
 */
import { sleepMs } from '../retry.js';

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves after `ms`, or rejects when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = { now: () => Date.now(), sleep: sleepMs };
