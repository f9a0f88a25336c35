import type { DeploymentEvent } from './event.js';
import { postToWebhook, SlackApiError, type PostedMessage, type SlackHttpOptions, type SlackWebApi } from './slack-client.js';
import { deploymentMessage, phaseReply } from './slack-message.js';

/** Something told about a deployment as it goes: Slack through a webhook or a bot token. */
export interface DeploymentNotifier {
  /** For warnings: "Slack webhook", "Slack bot". */
  readonly name: string;
  start(event: DeploymentEvent): Promise<void>;
  phase(event: DeploymentEvent): Promise<void>;
  end(event: DeploymentEvent): Promise<void>;
}

/**
 * An incoming webhook can only post: one message when the deployment starts and one when it
 * ends (with every step in it). Phases are not posted, so a ten-step canary does not post ten
 * messages to the channel; use a bot token for live progress.
 */
export class SlackWebhookNotifier implements DeploymentNotifier {
  readonly name = 'Slack webhook';

  constructor(
    private readonly webhookUrl: string,
    private readonly options: SlackHttpOptions = {},
  ) {}

  start(event: DeploymentEvent): Promise<void> {
    return postToWebhook(this.webhookUrl, deploymentMessage(event), this.options);
  }
  async phase(): Promise<void> {}
  end(event: DeploymentEvent): Promise<void> {
    return postToWebhook(this.webhookUrl, deploymentMessage(event), this.options);
  }
}

/**
 * A bot token keeps one message per deployment: posted at the start, updated in place at each
 * phase and at the end, with a thread reply per phase. `resume` continues a message posted
 * earlier: by the main step, for the post step; or by an earlier job of the same release (the
 * `slack-message` input), so a release is one message. A message of an earlier job that can no
 * longer be updated (deleted) is replaced by a new one.
 */
export class SlackBotNotifier implements DeploymentNotifier {
  readonly name = 'Slack bot';
  private posted: PostedMessage | undefined;
  private updatedOnce = false;

  constructor(
    private readonly api: SlackWebApi,
    private readonly channel: string,
    resume?: PostedMessage,
  ) {
    this.posted = resume;
  }

  /** The deployment's message, once posted: keep it to resume in a later step. */
  get message(): PostedMessage | undefined {
    return this.posted;
  }

  async start(event: DeploymentEvent): Promise<void> {
    await this.showMain(event);
  }

  async phase(event: DeploymentEvent): Promise<void> {
    const main = await this.showMain(event);
    await this.api.postMessage(main.channel, phaseReply(event), main.ts);
  }

  async end(event: DeploymentEvent): Promise<void> {
    await this.phase(event);
  }

  /** Post the main message, or update it when it is already there. */
  private async showMain(event: DeploymentEvent): Promise<PostedMessage> {
    if (this.posted) {
      try {
        await this.api.update(this.posted, deploymentMessage(event));
        this.updatedOnce = true;
        return this.posted;
      } catch (error) {
        const gone = error instanceof SlackApiError && (error.code === 'message_not_found' || error.code === 'cant_update_message');
        if (!gone || this.updatedOnce) throw error;
        this.posted = undefined;
      }
    }
    this.posted = await this.api.postMessage(this.channel, deploymentMessage(event));
    return this.posted;
  }
}
