import { InputError } from '../core/config/input-error.js';
import type { DeploymentTracker } from '../core/notify/deployment-tracker.js';
import type { DeploymentEvent, Strategy } from '../core/notify/event.js';
import { JobSummary } from '../core/notify/job-summary.js';
import { Notifications } from '../core/notify/notifications.js';
import { SlackWebApi, type PostedMessage } from '../core/notify/slack-client.js';
import { SlackBotNotifier, SlackWebhookNotifier, type DeploymentNotifier } from '../core/notify/slack-notifier.js';
import type { RetryOptions } from '../core/retry.js';
import { GitHubDeployments } from './github-deployments.js';
import type { ActionContext } from './runtime.js';

/**
 * The glue every action entry calls: from the shared notify inputs (src/core/specs/common.ts)
 * and the ActionContext it builds the Slack notifier (bot token, else webhook), the GitHub
 * deployment (github-token and environment), and the job summary, and hands them to core
 * `Notifications`. What was posted is kept in the step state, so the post step (cancel,
 * cleanup) updates the same Slack message and GitHub deployment.
 */
export interface NotifyInputs {
  'slack-webhook-url'?: string;
  'slack-token'?: string;
  'slack-channel'?: string;
  'notify-failure-fails': boolean;
  'github-token'?: string;
  environment?: string;
  'environment-url'?: string;
}

export interface NotifyOptions {
  /** Slack Web API base. Default https://slack.com/api. */
  slackApiUrl?: string;
  /** GitHub REST API base. Default: GITHUB_API_URL. */
  githubApiUrl?: string;
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
  colour?: string;
  dryRun?: boolean;
}

export interface ActionNotifications {
  /** The first event of a deployment: phase `start`, running, now, with the run's actor and links. */
  newEvent(start: EventStart): DeploymentEvent;
  notifyStart(event: DeploymentEvent): Promise<void>;
  notifyPhase(event: DeploymentEvent): Promise<void>;
  /** Final Slack update, final GitHub status, and the job summary. */
  notifyEnd(event: DeploymentEvent): Promise<void>;
  /** For an action's own extra summary sections: shares the 1 MiB budget. */
  summary: JobSummary;
}

const STATE_KEY = 'notify';

interface SavedState {
  slack?: PostedMessage;
  deploymentId?: number;
}

export function createNotifications(inputs: NotifyInputs, ctx: ActionContext, options: NotifyOptions = {}): ActionNotifications {
  for (const secret of [inputs['slack-webhook-url'], inputs['slack-token'], inputs['github-token']]) ctx.secrets.add(secret);
  const saved = readState(ctx);
  const http = { retry: withRetryLog(options.retry, ctx), signal: ctx.signal };

  const notifiers: DeploymentNotifier[] = [];
  let bot: SlackBotNotifier | undefined;
  if (inputs['slack-token']) {
    const channel = inputs['slack-channel'];
    if (!channel) throw new InputError("Invalid inputs: 'slack-channel' is required with 'slack-token' (the channel id to post to, e.g. C0123456789).");
    bot = new SlackBotNotifier(new SlackWebApi(inputs['slack-token'], { ...http, baseUrl: options.slackApiUrl }), channel, saved.slack);
    notifiers.push(bot);
    if (inputs['slack-webhook-url']) ctx.reporter.info('Both slack-token and slack-webhook-url are set: posting with the bot token only.');
  } else if (inputs['slack-webhook-url']) {
    notifiers.push(new SlackWebhookNotifier(inputs['slack-webhook-url'], http));
  }

  let tracker: DeploymentTracker | undefined;
  if (inputs['github-token'] && inputs.environment) {
    tracker = new GitHubDeployments({
      token: inputs['github-token'],
      repository: ctx.github.repository,
      baseUrl: options.githubApiUrl,
      id: saved.deploymentId,
      retry: http.retry,
      signal: ctx.signal,
    });
  } else if (inputs['github-token']) {
    ctx.reporter.warn('github-token is set without environment: no GitHub deployment is recorded. Set environment (e.g. production).');
  }

  const summary = new JobSummary(ctx.reporter);
  const notifications = new Notifications({
    reporter: ctx.reporter,
    secrets: ctx.secrets,
    notifiers,
    tracker,
    summary,
    failOnError: inputs['notify-failure-fails'],
    ref: ctx.github.sha,
  });
  const remember = () => saveState(ctx, { slack: bot?.message, deploymentId: tracker?.id });

  return {
    summary,
    newEvent: (start) => ({
      ...start,
      environment: inputs.environment,
      environmentUrl: inputs['environment-url'],
      actor: ctx.github.actor,
      runUrl: ctx.github.runUrl,
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

function readState(ctx: ActionContext): SavedState {
  const text = ctx.state.get(STATE_KEY);
  if (!text) return {};
  try {
    return JSON.parse(text) as SavedState;
  } catch {
    return {};
  }
}

function saveState(ctx: ActionContext, state: SavedState): void {
  if (state.slack || state.deploymentId !== undefined) ctx.state.set(STATE_KEY, JSON.stringify(state));
}

function withRetryLog(options: RetryOptions | undefined, ctx: ActionContext): RetryOptions {
  return {
    ...options,
    onRetry: (info) => {
      const reason = info.error instanceof Error ? info.error.message : String(info.error);
      ctx.reporter.info(`${ctx.secrets.redact(reason)}; trying again in ${(info.delayMs / 1000).toFixed(1)}s`);
      options?.onRetry?.(info);
    },
  };
}
