/**
 * What this run does, decided on the router's live weights (never on an input that may be stale)
 * and on what this run id already recorded in the journal:
 *
 *  - `switch`: move traffic from the live color to the other one; `resumed` when this run id
 *    started that switch before (a re-run after a crash) and it is continued toward the same color;
 *  - `done`: this run id already switched and traffic is still as it left it: report, write nothing;
 *  - `refuse`: anything else that needs a person (a split left by another run, a switch this run
 *    already undid, traffic changed since this run switched).
 */
import type { JournalEntry } from '../kube/journal.js';
import { sameWeights, type Weights } from '../kube/weights.js';
import { describeColorWeights, liveColor, otherColor, type Color, type ColorMap } from './colors.js';

export type Decision =
  | { kind: 'switch'; from: Color; to: Color; original: Weights; resumed: boolean }
  | { kind: 'done'; from: Color; to: Color; switchedAt: string }
  | { kind: 'refuse'; active?: Color; reason: string };

export interface DecideInput {
  live: Weights;
  destination: ColorMap<string>;
  /** This run id's blue-green traffic entries, oldest first. */
  mine: readonly JournalEntry[];
  /** Names the router object in messages, e.g. `VirtualService shop/checkout`. */
  routed: string;
  runId: string;
}

/** The journal step of the last weight change: traffic reaches 100% on the new color. */
export const FINAL_STEP = 'traffic-100';

export function decide({ live, destination, mine, routed, runId }: DecideInput): Decision {
  const now = describeColorWeights(live, destination);
  const active = liveColor(live, destination);
  const traffic = mine.filter((e) => e.change.kind === 'traffic');
  const undone = traffic.find((e) => e.status === 'compensated');
  if (undone) {
    return {
      kind: 'refuse',
      active,
      reason: `run ${runId} already switched traffic and undid it (${undone.step} compensated at ${undone.compensatedAt ?? 'an unknown time'}); a run id switches once. ${routed} routes ${now}. Start a new run (or give a new run-id) to switch again.`,
    };
  }
  const first = traffic[0];
  if (!first) {
    if (active) return { kind: 'switch', from: active, to: otherColor(active), original: live, resumed: false };
    return {
      kind: 'refuse',
      reason: `${routed} routes ${now}: neither color takes all traffic, so a previous run stopped mid-switch. Run the rollback action (mode: traffic) to put traffic back where that run found it, then run this again.`,
    };
  }
  const from = liveColor(first.change.kind === 'traffic' ? first.change.previous : {}, destination);
  if (!from) {
    return {
      kind: 'refuse',
      active,
      reason: `run ${runId} recorded ${first.step} from a split (${describeColorWeights(first.change.kind === 'traffic' ? first.change.previous : {}, destination)}); cannot tell which color to return to. Use the rollback action.`,
    };
  }
  const to = otherColor(from);
  const final = traffic.find((e) => e.step === FINAL_STEP && e.status === 'applied');
  if (final && final.change.kind === 'traffic') {
    if (sameWeights(live, final.change.next)) return { kind: 'done', from, to, switchedAt: final.appliedAt ?? final.plannedAt };
    return {
      kind: 'refuse',
      active,
      reason: `run ${runId} switched traffic to ${to} at ${final.appliedAt ?? final.plannedAt}, but ${routed} now routes ${now}: someone changed it since. Not switching again; start a new run to switch.`,
    };
  }
  return { kind: 'switch', from, to, original: first.change.kind === 'traffic' ? first.change.previous : live, resumed: true };
}
