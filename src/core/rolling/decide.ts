/**
 * What a rolling run does, decided from the live Deployment and this run's journal entries before
 * anything is written (no cluster here): refuse (a Recreate or paused Deployment, or a run id that
 * already rolled out something else), confirm what this run id already rolled out (a re-run), wait
 * for the rollout of an image that is already set (nothing of its own to change), or roll out (a
 * re-run of an unfinished run goes on where it stopped). A container that is not there, or not
 * named among several, is bad input: InputError naming the input and the containers.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import { InputError } from '../config/input-error.js';
import { deploymentRolloutState, revisionOf } from '../kube/deployment.js';
import type { JournalEntry } from '../kube/journal.js';

/** The journal step of a rolling run's image change (one per run id). */
export const IMAGE_STEP = 'image';

export type Decision =
  /** Nothing is written: the reason says why and what to do. `live`: the image the container runs. */
  | { kind: 'refuse'; reason: string; container: string; live: string }
  /** This run id already rolled the image out, and the Deployment still runs it: read it back, write nothing. */
  | { kind: 'done'; container: string; previous: string }
  /** The container already runs the image, set before this run: wait for its rollout (if any), write nothing. */
  | { kind: 'current'; container: string }
  /** Set the image (journaled) and roll it out; `resumed`: this run id set it already, and its rollout is not done. */
  | { kind: 'roll'; container: string; previous: string; revision: number | undefined; resumed: boolean };

export interface DecideInput {
  deployment: V1Deployment;
  /** `Deployment shop/checkout`, for messages. */
  name: string;
  image: string;
  /** The container input (undefined: the only container). */
  container: string | undefined;
  /** The journal's entries (all runs). */
  journal: readonly JournalEntry[];
  runId: string;
}

export function decide(o: DecideInput): Decision {
  const { deployment, name } = o;
  const container = pickContainer(o);
  const refuse = (reason: string): Decision => ({ kind: 'refuse', reason, container: container.name, live: container.image });
  const strategy = deployment.spec?.strategy?.type ?? 'RollingUpdate';
  if (strategy !== 'RollingUpdate') {
    return refuse(
      `${name} uses strategy ${strategy}, which stops every pod before it starts the new ones: the service would be down meanwhile. Not rolling it out. Give the Deployment spec.strategy.type: RollingUpdate (e.g. kubectl patch deployment ${deployment.metadata?.name} -n ${deployment.metadata?.namespace} --type merge -p '{"spec":{"strategy":{"type":"RollingUpdate"}}}'), or deliver it with blue-green`,
    );
  }
  if (deployment.spec?.paused) {
    return refuse(
      `${name} is paused (spec.paused: true), so the controller would not roll the image out. Resume it (kubectl rollout resume deployment/${deployment.metadata?.name} -n ${deployment.metadata?.namespace}), then run again`,
    );
  }
  const live = container.image;
  const mine = o.journal.filter(
    (e) => e.runId === o.runId && e.step === IMAGE_STEP && e.strategy === 'rolling' && e.status !== 'compensated',
  );
  const other = mine.find(
    (e) =>
      e.change.kind !== 'image' || e.change.next.image !== o.image || e.change.container !== container.name || !sameObject(e, deployment),
  );
  if (other) {
    const was =
      other.change.kind === 'image'
        ? `${other.change.next.image} to container ${other.change.container} of ${other.object.kind} ${other.object.namespace}/${other.object.name}`
        : other.step;
    return refuse(
      `run ${o.runId} already rolled out ${was} (journal entry ${other.id}, ${other.status}); a run id rolls out one image to one container. Give a new run-id (or leave it empty) to roll out ${o.image}`,
    );
  }
  // This run id's own entry: applied, or recorded and not known to be applied (killed around the write).
  const own = mine[0];
  if (own?.change.kind === 'image') {
    if (own.status === 'applied' && live !== o.image) {
      return refuse(
        `run ${o.runId} set container ${container.name} of ${name} to ${o.image}, but it runs ${live} now: someone changed it since. Not setting it again under the same run id; give a new run-id to roll out ${o.image} again`,
      );
    }
    const previous = own.change.previous.image;
    if (own.status === 'applied' && deploymentRolloutState(deployment).state === 'done')
      return { kind: 'done', container: container.name, previous };
    // The journal's entry is what an undo restores: its previous image, whatever the write did.
    return { kind: 'roll', container: container.name, previous, revision: own.change.previous.revision, resumed: live === o.image };
  }
  if (live === o.image) return { kind: 'current', container: container.name };
  return { kind: 'roll', container: container.name, previous: live, revision: revisionOf(deployment), resumed: false };
}

function pickContainer(o: DecideInput): { name: string; image: string } {
  const containers = (o.deployment.spec?.template?.spec?.containers ?? []).map((c) => ({ name: c.name, image: c.image ?? '' }));
  const names = containers.map((c) => c.name).join(', ');
  if (o.container !== undefined) {
    const found = containers.find((c) => c.name === o.container);
    if (!found)
      throw new InputError(
        `Invalid inputs of rolling:\n- container: ${o.name} has no container ${o.container}; its containers are ${names || 'none'}`,
      );
    return found;
  }
  if (containers.length === 1) return containers[0]!;
  if (containers.length === 0) throw new InputError(`Invalid inputs of rolling:\n- deployment: ${o.name} has no containers`);
  throw new InputError(
    `Invalid inputs of rolling:\n- container: ${o.name} has ${containers.length} containers (${names}); name the one whose image is set, e.g. container: ${containers[0]!.name}`,
  );
}

function sameObject(entry: JournalEntry, deployment: V1Deployment): boolean {
  return (
    entry.object.kind === 'Deployment' &&
    entry.object.namespace === deployment.metadata?.namespace &&
    entry.object.name === deployment.metadata?.name
  );
}
