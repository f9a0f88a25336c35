/**
 * Moving blue-green traffic: one journaled weight step at a time, and the switch back in one
 * write.
 */
import type { DeliverySession } from '../delivery/session.js';
import { recordedSpec, type RouterSpec } from '../kube/routers/factory.js';
import type { JournalEntry } from '../kube/journal.js';
import type { TrafficRouter } from '../kube/routers/router.js';
import { splitWeights, type Weights } from '../kube/weights.js';
import type { TimelineStep } from '../notify/event.js';
import { describeColorWeights, type Color, type ColorMap } from './colors.js';

export interface SwitchPlan {
  /** Fixed on its route by its first read, at the start of the run (see route-pin.ts). */
  router: TrafficRouter;
  routerSpec: RouterSpec;
  destination: ColorMap<string>;
  from: Color;
  to: Color;
  /** The new color's weight at each step, ending at 100. */
  steps: readonly number[];
}

/** The weights that put `weight`% on the new color. */
export function weightsAt(plan: Pick<SwitchPlan, 'destination' | 'from' | 'to'>, weight: number): Weights {
  return splitWeights([plan.destination[plan.from], plan.destination[plan.to]], weight);
}

export interface StepTaken {
  weight: number;
  weights: Weights;
  /** False when this run had applied it already (a resumed run) or in a dry run. */
  applied: boolean;
  timeline: TimelineStep;
}

/**
 * One weight step: recorded in the journal (kind `traffic`, with the weights before and after and
 * the RouterSpec to rebuild the router, with the route's identity), then written, then marked applied. A step this run id
 * already applied is skipped, so a resumed run continues where the last one stopped.
 */
export async function takeStep(
  session: DeliverySession,
  plan: SwitchPlan,
  index: number,
  current: Weights,
  at: () => string,
): Promise<StepTaken> {
  const weight = plan.steps[index]!;
  const next = weightsAt(plan, weight);
  const startedAt = at();
  const { applied, result } = await session.change(
    `traffic-${weight}`,
    plan.router.ref,
    { kind: 'traffic', router: recordedSpec(plan.routerSpec, plan.router), previous: current, next },
    () => plan.router.write(next),
  );
  const weights = result ?? next;
  const verb = session.dryRun ? 'would route' : applied ? 'routes' : 'already routes (this run set it before)';
  session.reporter.info(
    `Step ${index + 1}/${plan.steps.length}: ${plan.router.describe()} ${verb} ${describeColorWeights(weights, plan.destination)}`,
  );
  const timeline: TimelineStep = { name: `${plan.to} ${weight}%`, weight, startedAt };
  session.event.timeline = [...session.event.timeline, timeline];
  await session.phase({ phase: `step ${index + 1}/${plan.steps.length}`, weight, color: plan.to });
  return { weight, weights, applied, timeline };
}

/**
 * Puts all traffic back on the old color in one write (not step by step: the new color is
 * failing), then marks this run's traffic entries compensated, newest first, so neither the post
 * step nor the rollback action undoes them again.
 */
export async function switchBack(session: DeliverySession, plan: SwitchPlan, original: Weights): Promise<Weights> {
  const entries = (await session.journal.compensations(session.runId)).filter(
    (e: JournalEntry) => e.strategy === 'blue-green' && e.change.kind === 'traffic',
  );
  const weights = await plan.router.write(original);
  for (const entry of entries) await session.journal.markCompensated(entry.id);
  session.reporter.warn(`Switched back: ${plan.router.describe()} routes ${describeColorWeights(weights, plan.destination)}`);
  return weights;
}
