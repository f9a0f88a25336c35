/**
 * What an object the journal recorded holds now, in the terms of the recorded change, and what the
 * change recorded before and after it: the three are compared before an undo (is it still as the
 * release left it, or already as before, or changed by someone else?) and after it (did the undo
 * put back what it claims?). Each state is text, so it reads the same in a log as in a comparison.
 * Undefined where no exact comparison exists (revisions, Argo steps, replica ratios journaled
 * before their pod counts were).
 */
import { ArgoRollout } from '../kube/argo-rollout.js';
import type { KubeClient } from '../kube/client.js';
import { findContainer, readDeployment } from '../kube/deployment.js';
import type { Change, JournalEntry } from '../kube/journal.js';
import { ReplicaRatioRouter } from '../kube/routers/replica-ratio.js';
import type { Weights } from '../kube/weights.js';
import { createRouter } from '../kube/routers/factory.js';

/** `a 10%, b 90%`, names sorted, so two readings of the same weights are the same text. */
export function weightsText(weights: Weights): string {
  return Object.keys(weights)
    .sort()
    .map((name) => `${name} ${weights[name]}%`)
    .join(', ');
}

function podsText(pods: Record<string, number>): string {
  return Object.keys(pods)
    .sort()
    .map((name) => `${name} ${pods[name]} pods`)
    .join(', ');
}

/** What the change found before it was made (`previous`), or left (`next`). */
export function recordedState(change: Change, side: 'previous' | 'next'): string | undefined {
  switch (change.kind) {
    case 'traffic': {
      if (change.router.type !== 'replica-ratio') return weightsText(change[side]);
      const pods = change.pods?.[side];
      return pods ? podsText(pods) : undefined;
    }
    case 'image':
      return change[side].image;
    case 'scale':
      return `${change[side].replicas} replicas`;
    default:
      return undefined;
  }
}

/** The live state of the entry's object, in the same terms; undefined where there is nothing exact to read. */
export async function liveState(client: KubeClient, entry: JournalEntry): Promise<string | undefined> {
  const { change, object } = entry;
  switch (change.kind) {
    case 'traffic':
      if (change.router.type === 'replica-ratio')
        return change.pods ? podsText(await new ReplicaRatioRouter(client, change.router).pods()) : undefined;
      return weightsText(await createRouter(client, change.router).read());
    case 'image': {
      const template =
        object.kind === 'Rollout'
          ? (await new ArgoRollout(client, object.namespace, object.name).get()).spec?.template
          : (await readDeployment(client, object)).spec?.template;
      return findContainer(object, template, change.container).image;
    }
    case 'scale':
      return `${(await readDeployment(client, object)).spec?.replicas ?? 1} replicas`;
    default:
      return undefined;
  }
}
