/**
 * A GitHub deployment for one run of one action, seen through the core: created once for the
 * environment, then given statuses. The implementation lives in
 * src/actions/adapters/github-deployments.ts (it needs @actions/github); the core only speaks
 * this interface.
 *
 * How outcomes map to statuses:
 * - start: in_progress.
 * - paused (a canary holding its weight for a later promote): in_progress, not success.
 * - succeeded: success. GitHub then marks the environment's earlier successful deployments
 *   inactive, so the environment page shows what is live.
 * - failed, and rolled-back (the action undid its own change): failure. A failure does not
 *   make earlier deployments inactive, which is right: the previous version is still live.
 * - cancelled: error (the process stopped, not the version).
 * - A rollback run (the rollback action) records its own deployment of the restored state:
 *   in_progress, then success, which makes the failed version's deployment inactive.
 */
import type { RetryOptions } from '../retry.js';
import type { Outcome } from './event.js';

export type DeploymentState = 'in_progress' | 'success' | 'failure' | 'error' | 'inactive';

export interface DeploymentRequest {
  environment: string;
  /** The commit being deployed (the workflow's sha). */
  ref: string;
  description: string;
  /** Carried with the deployment: service, version, strategy. */
  payload: Record<string, unknown>;
}

export interface DeploymentStatusDetails {
  description?: string;
  environmentUrl?: string;
  logUrl?: string;
}

export interface DeploymentTracker {
  /** The deployment's id once created (or resumed). */
  readonly id: number | undefined;
  start(request: DeploymentRequest): Promise<number>;
  status(state: DeploymentState, details?: DeploymentStatusDetails): Promise<void>;
}

/** Makes the tracker for a repository; the action runtime passes one built on @actions/github. */
export type DeploymentTrackerFactory = (options: {
  token: string;
  /** owner/name */
  repository: string;
  /** Continue this deployment instead of creating one. */
  id?: number;
  retry?: RetryOptions;
  signal?: AbortSignal;
}) => DeploymentTracker;

/** GitHub keeps at most 140 characters of a status description. */
export const STATUS_DESCRIPTION_MAX = 140;

export function deploymentStateFor(outcome: Outcome): DeploymentState {
  switch (outcome) {
    case 'running':
    case 'planned':
    // Not final: most traffic is still on the old version, and an earlier deployment must not be made inactive.
    case 'paused':
      return 'in_progress';
    case 'succeeded':
      return 'success';
    case 'failed':
    case 'rolled-back':
      return 'failure';
    case 'cancelled':
      return 'error';
  }
}
