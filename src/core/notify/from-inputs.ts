/**
 * From the shared notify inputs (src/core/specs/common.ts) and a flow's context: the Slack
 * notifier (bot token, else webhook), the GitHub deployment (github-token and environment,
 * through the tracker factory the caller supplies) and the job summary. What was posted is
 * kept in the step state, so the post step (cancel, cleanup) updates the same Slack message
 * and the same GitHub deployment.
 */
import { InputError } from '../config/input-error.js';
import type { FlowContext } from '../flow.js';
import type { RetryOptions } from '../retry.js';
import type { DeploymentTracker, DeploymentTrackerFactory } from './deployment-tracker.js';
import type { DeploymentEvent, Strategy } from './event.js';
import { JobSummary } from './job-summary.js';
import { Notifications } from './notifications.js';
import { NOTIFY_STATE_KEY, parseSlackMessage, readNotifyState, type SavedNotifyState } from './posted-message.js';
import { SlackWebApi } from './slack-client.js';
import { SlackBotNotifier, SlackWebhookNotifier, type DeploymentNotifier } from './slack-notifier.js';

export interface NotifyInputs {
  'slack-webhook-url'?: string;
  'slack-token'?: string;
  'slack-channel'?: string;
  'notify-failure-fails': boolean;
  'github-token'?: string;
  environment?: string;
  'environment-url'?: string;
  /** A message an earlier job of the release posted, `<channel>/<ts>`: updated instead of posting a new one. */
  'slack-message'?: string;
}

export interface NotifySetup {
  /** Records GitHub deployments; without it a github-token is ignored with a warning. */
  deploymentTracker?: DeploymentTrackerFactory;
  /**
   * Slack Web API base. Default: the SLACK_API_URL environment variable (e.g.
   * https://slack-gov.com/api for GovSlack), else https://slack.com/api.
   */
  slackApiUrl?: string;
  retry?: RetryOptions;
}

/** What an action knows at its start; the run's facts (actor, links, environment) are added. */
export interface EventStart {
  service: string;
  strategy: Strategy;
  namespace?: string;
  version?: string;
  image?: string;
  weight?: number;
  color?: string;
  dryRun?: boolean;
}

export interface DeploymentNotifications {
  /** The first event of a deployment: phase `start`, running (planned on a dry run), now, with the run's actor and links. */
  newEvent(start: EventStart): DeploymentEvent;
  notifyStart(event: DeploymentEvent): Promise<void>;
  notifyPhase(event: DeploymentEvent): Promise<void>;
  /** Final Slack update, final GitHub status, and the job summary. */
  notifyEnd(event: DeploymentEvent): Promise<void>;
  /** For an action's own summary sections: shares the 1 MiB budget. */
  summary: JobSummary;
}

/**
 * Notifications are not bound to the run's cancel signal: a cancelled run must still tell Slack
 * and GitHub that it was cancelled. Each request has its own timeout and the retries are bounded.
 */
export function notificationsFromInputs(inputs: NotifyInputs, ctx: FlowContext, setup: NotifySetup = {}): DeploymentNotifications {
  for (const secret of [inputs['slack-webhook-url'], inputs['slack-token'], inputs['github-token']]) ctx.secrets.add(secret);
  const saved = readState(ctx);
  const retry = withRetryLog(setup.retry, ctx);

  const notifiers: DeploymentNotifier[] = [];
  let bot: SlackBotNotifier | undefined;
  if (inputs['slack-token']) {
    const channel = inputs['slack-channel'];
    if (!channel)
      throw new InputError("Invalid inputs: 'slack-channel' is required with 'slack-token' (the channel id to post to, e.g. C0123456789).");
    const api = new SlackWebApi(inputs['slack-token'], { retry, baseUrl: setup.slackApiUrl ?? slackApiUrlFromEnv() });
    bot = new SlackBotNotifier(api, channel, saved.slack ?? parseSlackMessage(inputs['slack-message']));
    notifiers.push(bot);
    if (inputs['slack-webhook-url']) ctx.reporter.info('Both slack-token and slack-webhook-url are set: posting with the bot token only.');
  } else if (inputs['slack-webhook-url']) {
    notifiers.push(new SlackWebhookNotifier(inputs['slack-webhook-url'], { retry }));
  }

  let tracker: DeploymentTracker | undefined;
  if (inputs['github-token']) {
    if (!inputs.environment) {
      ctx.reporter.warn('github-token is set without environment: no GitHub deployment is recorded. Set environment (e.g. production).');
    } else if (!setup.deploymentTracker) {
      ctx.reporter.warn('GitHub deployments are recorded only when run as a GitHub Action: github-token is not used here.');
    } else {
      tracker = setup.deploymentTracker({ token: inputs['github-token'], repository: ctx.run.repository, id: saved.deploymentId, retry });
    }
  }

  const summary = new JobSummary(ctx.reporter).holdUntilHeadline();
  const notifications = new Notifications({
    reporter: ctx.reporter,
    secrets: ctx.secrets,
    notifiers,
    tracker,
    summary,
    failOnError: inputs['notify-failure-fails'],
    ref: ctx.run.sha,
  });
  const remember = () => saveState(ctx, { slack: bot?.message, deploymentId: tracker?.id });

  return {
    summary,
    newEvent: (start) => ({
      ...start,
      environment: inputs.environment,
      environmentUrl: inputs['environment-url'],
      actor: ctx.run.actor,
      runUrl: ctx.run.runUrl || undefined,
      phase: 'start',
      outcome: start.dryRun ? 'planned' : 'running',
      startedAt: new Date().toISOString(),
      timeline: [],
    }),
    notifyStart: (event) => notifications.start(event).finally(remember),
    notifyPhase: (event) => notifications.phase(event).finally(remember),
    notifyEnd: (event) => notifications.end(event).finally(remember),
  };
}

/** The Slack message this step posted or updated, `<channel>/<ts>` (see posted-message.ts). */
export { postedSlackMessage } from './posted-message.js';

/** SLACK_API_URL when it is an http(s) URL (GovSlack, or a stand-in); anything else is ignored. */
function slackApiUrlFromEnv(): string | undefined {
  const value = process.env.SLACK_API_URL?.trim();
  return value && /^https?:\/\/[^\s]+$/.test(value) ? value : undefined;
}

function readState(ctx: Pick<FlowContext, 'state'>): SavedNotifyState {
  return readNotifyState(ctx.state);
}

function saveState(ctx: FlowContext, state: SavedNotifyState): void {
  if (state.slack || state.deploymentId !== undefined) ctx.state.set(NOTIFY_STATE_KEY, JSON.stringify(state));
}

/** Each retry is told in the log, redacted: "Slack chat.update answered HTTP 429: …; trying again in 3.0s". */
function withRetryLog(options: RetryOptions | undefined, ctx: FlowContext): RetryOptions {
  return {
    ...options,
    onRetry: (info) => {
      const reason = info.error instanceof Error ? info.error.message : String(info.error);
      ctx.reporter.info(`${ctx.secrets.redact(reason)}; trying again in ${(info.delayMs / 1000).toFixed(1)}s`);
      options?.onRetry?.(info);
    },
  };
}
