/**
 * Tells everyone about a deployment: each notifier (Slack), the GitHub deployment, and at the
 * end the job summary. Secrets are redacted from the event before anything is built from it.
 * A notification that cannot be delivered is a warning, and the deployment goes on, unless
 * `failOnError` (the `notify-failure-fails` input): then it throws once everything was tried.
 */
import type { Reporter } from '../reporter.js';
import type { Secrets } from '../secrets.js';
import { deploymentSummary, type SummaryOptions } from './deployment-summary.js';
import { deploymentStateFor, STATUS_DESCRIPTION_MAX, type DeploymentTracker } from './deployment-tracker.js';
import { describeResult, eventTitle, type DeploymentEvent } from './event.js';
import type { JobSummary } from './job-summary.js';
import type { DeploymentNotifier } from './slack-notifier.js';
import { truncate } from './text.js';

export interface NotificationsOptions {
  reporter: Reporter;
  secrets: Secrets;
  notifiers: DeploymentNotifier[];
  /** Records a GitHub deployment; absent without a github-token or an environment. */
  tracker?: DeploymentTracker;
  summary: JobSummary;
  failOnError: boolean;
  /** The commit a GitHub deployment is created for. */
  ref: string;
  summaryOptions?: SummaryOptions;
  now?: () => number;
}

export class NotificationError extends Error {
  override readonly name = 'NotificationError';
}

export class Notifications {
  private readonly now: () => number;

  constructor(private readonly options: NotificationsOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The deployment starts: Slack message posted, GitHub deployment created as in_progress. */
  async start(event: DeploymentEvent): Promise<void> {
    const safe = this.prepare(event);
    await this.deliverAll([
      ...this.options.notifiers.map((n) => ({ name: n.name, send: () => n.start(safe) })),
      ...this.trackerStart(safe),
    ]);
  }

  /** A phase was reached (a canary step, the switch, a migration phase). */
  async phase(event: DeploymentEvent): Promise<void> {
    const safe = this.prepare(event);
    await this.deliverAll(this.options.notifiers.map((n) => ({ name: n.name, send: () => n.phase(safe) })));
  }

  /** The deployment ended: final Slack update, final GitHub status, the job summary. */
  async end(event: DeploymentEvent): Promise<void> {
    const safe = this.prepare(event);
    // The headline: the summary opens with it, then whatever the flow wrote before it.
    this.options.summary.write(deploymentSummary(safe, this.options.summaryOptions));
    this.options.summary.flush();
    await this.deliverAll([...this.options.notifiers.map((n) => ({ name: n.name, send: () => n.end(safe) })), ...this.trackerEnd(safe)]);
  }

  private trackerStart(event: DeploymentEvent): Delivery[] {
    const tracker = this.options.tracker;
    if (!tracker || event.dryRun || !event.environment) return [];
    const environment = event.environment;
    return [
      {
        name: 'GitHub deployment',
        send: async () => {
          if (tracker.id === undefined) {
            await tracker.start({
              environment,
              ref: this.options.ref,
              description: truncate(eventTitle(event), STATUS_DESCRIPTION_MAX),
              payload: {
                service: event.service,
                namespace: event.namespace,
                version: event.version,
                image: event.image,
                strategy: event.strategy,
              },
            });
          }
          await tracker.status('in_progress', this.statusDetails(event, `${event.phase}`));
        },
      },
    ];
  }

  private trackerEnd(event: DeploymentEvent): Delivery[] {
    const tracker = this.options.tracker;
    if (!tracker || event.dryRun || tracker.id === undefined) return [];
    const description = event.reason ? `${describeResult(event)}: ${event.reason}` : describeResult(event);
    return [
      { name: 'GitHub deployment', send: () => tracker.status(deploymentStateFor(event.outcome), this.statusDetails(event, description)) },
    ];
  }

  private statusDetails(event: DeploymentEvent, description: string) {
    return { description: truncate(description, STATUS_DESCRIPTION_MAX), environmentUrl: event.environmentUrl, logUrl: event.runUrl };
  }

  /** Redact every string of the event and fill in the time taken. */
  private prepare(event: DeploymentEvent): DeploymentEvent {
    const redacted = redactDeep(event, (text) => this.options.secrets.redact(text));
    const started = Date.parse(event.startedAt);
    if (redacted.durationMs === undefined && Number.isFinite(started)) redacted.durationMs = Math.max(0, this.now() - started);
    return redacted;
  }

  private async deliverAll(deliveries: Delivery[]): Promise<void> {
    const failures: string[] = [];
    for (const delivery of deliveries) {
      try {
        await delivery.send();
      } catch (error) {
        const message = this.options.secrets.redact(error instanceof Error ? error.message : String(error));
        failures.push(`${delivery.name}: ${message}`);
      }
    }
    if (failures.length === 0) return;
    if (this.options.failOnError) throw new NotificationError(`Notification failed (notify-failure-fails is set): ${failures.join('; ')}`);
    for (const failure of failures) this.options.reporter.warn(`Notification not delivered, going on: ${failure}`);
  }
}

interface Delivery {
  name: string;
  send: () => Promise<void>;
}

function redactDeep<T>(value: T, redact: (text: string) => string): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, redact)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, redactDeep(child, redact)])) as T;
  }
  return value;
}
