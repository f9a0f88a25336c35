/**
 * A dry run of one undo: reads the live object (only GETs), and says what is there now and what
 * the undo would put back. Traffic is checked with the router's own dry run, so weights it
 * cannot express are refused here as they would be for real.
 */
import { createRouter } from '../kube/routers/factory.js';
import type { KubeClient } from '../kube/client.js';
import { findContainer, readDeployment, revisionOf } from '../kube/deployment.js';
import { formatWeights } from '../kube/weights.js';
import type { PlannedUndo } from './plan.js';
import { actionFor, type RollbackAction } from './report.js';

export async function previewUndo(client: KubeClient, undo: PlannedUndo): Promise<RollbackAction> {
  const { change, object } = undo.target;
  switch (change.kind) {
    case 'traffic': {
      const router = createRouter(client, change.router);
      const live = await router.read();
      const planned = await router.write(change.previous, { dryRun: true });
      return actionFor(undo, formatWeights(live), formatWeights(planned));
    }
    case 'image': {
      const dep = await readDeployment(client, object);
      const live = findContainer(object, dep.spec?.template, change.container).image;
      return actionFor(undo, live, change.previous.image);
    }
    case 'scale': {
      const dep = await readDeployment(client, object);
      return actionFor(undo, `${dep.spec?.replicas ?? 1} replicas`, `${change.previous.replicas} replicas`);
    }
    case 'undo': {
      const dep = await readDeployment(client, object);
      return actionFor(
        undo,
        `revision ${revisionOf(dep) ?? '?'}`,
        `revision ${change.previous.revision ?? '? (not recorded: would fail)'}`,
      );
    }
    case 'argo': {
      // The Rollout's weight is the controller's to report; the journal says where the run left it.
      const newest = undo.entries[0]!.change;
      const left =
        newest.kind === 'traffic'
          ? formatWeights(newest.next)
          : `${newest.kind === 'argo' ? newest.next.weight : change.next.weight}% canary`;
      return actionFor(undo, `${left} (as recorded)`, '0% canary (aborted)');
    }
    case 'migration':
      throw new Error(`journal entry ${undo.target.id} is a migration: the rollback runs it through the migration ledger, not the journal`);
  }
}
