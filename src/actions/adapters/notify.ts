/**
 * The glue an action calls: core notifications from the notify inputs, with GitHub
 * deployments recorded through @actions/github at the runner's GITHUB_API_URL.
 *
 *   const notify = createNotifications(inputs, context);
 *   let event = notify.newEvent({ service: inputs.service, namespace: inputs.namespace, strategy: 'canary', image: inputs.image });
 *   await notify.notifyStart(event);
 *   event = { ...event, phase: 'step 1/3', weight: 10, timeline: [...] };
 *   await notify.notifyPhase(event);
 *   await notify.notifyEnd({ ...event, phase: 'done', outcome: 'succeeded', result: 'promoted' });
 */
import type { DeploymentTrackerFactory } from '../../core/notify/deployment-tracker.js';
import {
  notificationsFromInputs,
  type DeploymentNotifications,
  type NotifyInputs,
  type NotifySetup,
} from '../../core/notify/from-inputs.js';
import type { FlowContext } from '../../core/flow.js';
import { GitHubDeployments } from './github-deployments.js';

export type { DeploymentNotifications, NotifyInputs } from '../../core/notify/from-inputs.js';

export function createNotifications(
  inputs: NotifyInputs,
  context: FlowContext,
  setup: Omit<NotifySetup, 'deploymentTracker'> & { githubApiUrl?: string } = {},
): DeploymentNotifications {
  return notificationsFromInputs(inputs, context, { ...setup, deploymentTracker: githubDeploymentTracker(setup.githubApiUrl) });
}

/** The tracker factory for the runtime: GitHub deployments at `baseUrl` (default GITHUB_API_URL). */
export function githubDeploymentTracker(baseUrl?: string): DeploymentTrackerFactory {
  return (options) => new GitHubDeployments({ ...options, baseUrl });
}
