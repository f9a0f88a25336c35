import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { notificationsFromInputs, type NotifyInputs } from '../../src/core/notify/from-inputs.js';
import { postToWebhook, SlackApiError, SlackWebApi } from '../../src/core/notify/slack-client.js';
import { deploymentMessage, phaseReply } from '../../src/core/notify/slack-message.js';
import { Secrets } from '../../src/core/secrets.js';
import { canaryEvent, makeContext, makeSecrets, recordingRetry, startSlack } from './fakes.js';
import type { HttpRecorder } from './http-recorder.js';

let slack: HttpRecorder;
let secret: ReturnType<typeof makeSecrets>;

beforeEach(async () => {
  slack = await startSlack();
  secret = makeSecrets();
});
afterEach(async () => {
  await slack.stop();
});

function inputs(overrides: Partial<NotifyInputs>): NotifyInputs {
  return { 'notify-failure-fails': false, environment: 'production', 'environment-url': 'https://shop.example.com', ...overrides };
}

/** Every byte Slack received, to check that no secret reached it. */
function everythingSent(): string {
  return slack.requests.map((r) => `${r.path}\n${r.body}`).join('\n');
}

describe('incoming webhook', () => {
  it('posts the deployment message as JSON at the start and at the end, not at each phase', async () => {
    const ctx = makeContext();
    const notify = notificationsFromInputs(inputs({ 'slack-webhook-url': `${slack.url}${secret.webhookPath}` }), ctx);
    const event = canaryEvent();
    await notify.notifyStart(event);
    await notify.notifyPhase(event);
    const end = { ...event, phase: 'done', outcome: 'succeeded' as const, result: 'promoted', weight: 100 };
    await notify.notifyEnd(end);

    expect(slack.requests.map((r) => [r.method, r.path])).toEqual([
      ['POST', secret.webhookPath],
      ['POST', secret.webhookPath],
    ]);
    expect(slack.requests[0]!.headers['content-type']).toBe('application/json');
    expect(slack.requests[0]!.json).toEqual(deploymentMessage(event));
    expect(slack.requests[1]!.json).toEqual(deploymentMessage(end));
    expect(slack.requests[1]!.json.text).toBe('Deploy checkout 1.25.0 to production: Succeeded (promoted)');
    expect(ctx.reporter.messages('warn')).toEqual([]);
  });

  it('waits as long as a 429 Retry-After asks, then delivers', async () => {
    slack.queue(secret.webhookPath, { status: 429, headers: { 'retry-after': '7' }, body: 'rate_limited' });
    const { delays, retry } = recordingRetry();
    await postToWebhook(`${slack.url}${secret.webhookPath}`, deploymentMessage(canaryEvent()), { retry });
    expect(delays).toEqual([7000]);
    expect(slack.requests).toHaveLength(2);
    expect(slack.requests[1]!.json).toEqual(slack.requests[0]!.json);
  });

  it('retries a 500 and gives up on a 404 at once', async () => {
    slack.queue(secret.webhookPath, { status: 500, body: 'internal' }, { status: 503, body: 'unavailable' });
    const { delays, retry } = recordingRetry();
    await postToWebhook(`${slack.url}${secret.webhookPath}`, deploymentMessage(canaryEvent()), { retry });
    expect(slack.requests).toHaveLength(3);
    expect(delays).toHaveLength(2);

    slack.queue('/services/gone', { status: 404, body: 'no_service' });
    await expect(postToWebhook(`${slack.url}/services/gone`, deploymentMessage(canaryEvent()), { retry })).rejects.toThrow(
      'Slack webhook answered HTTP 404: no_service',
    );
    expect(slack.requests).toHaveLength(4);
  });

  it('warns without the webhook URL when Slack cannot be reached, and the deployment goes on', async () => {
    const ctx = makeContext(new Secrets());
    const url = `${slack.url}${secret.webhookPath}`;
    await slack.stop();
    const notify = notificationsFromInputs(inputs({ 'slack-webhook-url': url }), ctx, {
      retry: { attempts: 2, ...recordingRetry().retry },
    });
    await notify.notifyStart(canaryEvent());
    const warnings = ctx.reporter.messages('warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^Notification not delivered, going on: Slack webhook: could not reach Slack \(webhook\): ECONNREFUSED/);
    expect(ctx.reporter.text()).not.toContain(secret.webhookPath);
    slack = await startSlack(); // afterEach stops it
  });

  it('throws when notify-failure-fails is set, still without the secret', async () => {
    slack.queue(secret.webhookPath, { status: 403, body: `action_prohibited for ${secret.webhookPath}` });
    const ctx = makeContext();
    const notify = notificationsFromInputs(
      inputs({ 'slack-webhook-url': `${slack.url}${secret.webhookPath}`, 'notify-failure-fails': true }),
      ctx,
    );
    const error = await notify.notifyStart(canaryEvent()).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.name).toBe('NotificationError');
    expect(error?.message).toContain('Slack webhook answered HTTP 403: action_prohibited for ***');
    expect(error?.message).not.toContain(secret.webhookPath);
  });
});

describe('bot token', () => {
  it('posts one message, updates it in place and replies in its thread for each phase', async () => {
    const ctx = makeContext();
    const notify = notificationsFromInputs(inputs({ 'slack-token': secret.slackToken, 'slack-channel': '#deploys' }), ctx, {
      slackApiUrl: `${slack.url}/api`,
    });
    const start = canaryEvent({ phase: 'start', weight: 0, timeline: [] });
    await notify.notifyStart(start);
    const step = canaryEvent();
    await notify.notifyPhase(step);
    const end = canaryEvent({ phase: 'done', outcome: 'succeeded', result: 'promoted', weight: 100 });
    await notify.notifyEnd(end);

    expect(slack.requests.map((r) => r.path)).toEqual([
      '/api/chat.postMessage',
      '/api/chat.update',
      '/api/chat.postMessage',
      '/api/chat.update',
      '/api/chat.postMessage',
    ]);
    for (const request of slack.requests) {
      expect(request.headers.authorization).toBe(`Bearer ${secret.slackToken}`);
      expect(request.headers['content-type']).toBe('application/json; charset=utf-8');
    }
    const [post, update1, reply1, update2, reply2] = slack.requests.map((r) => r.json);
    expect(post).toEqual({ channel: '#deploys', ...deploymentMessage(start) });
    // chat.update needs the channel id Slack answered with, not the #name.
    expect(update1).toEqual({ channel: 'C0DEPLOYS1', ts: '1700000001.000100', ...deploymentMessage(step) });
    expect(reply1).toEqual({ channel: 'C0DEPLOYS1', thread_ts: '1700000001.000100', ...phaseReply(step) });
    expect(update2).toEqual({ channel: 'C0DEPLOYS1', ts: '1700000001.000100', ...deploymentMessage(end) });
    expect(reply2).toEqual({ channel: 'C0DEPLOYS1', thread_ts: '1700000001.000100', ...phaseReply(end) });
    expect(everythingSent()).not.toContain(secret.slackToken);
  });

  it('continues the same message from the post step through the saved state', async () => {
    const state = new Map<string, string>();
    const settings = inputs({ 'slack-token': secret.slackToken, 'slack-channel': 'C0DEPLOYS1' });
    const main = notificationsFromInputs(settings, makeContext(new Secrets(), state), { slackApiUrl: `${slack.url}/api` });
    await main.notifyStart(canaryEvent());
    const post = notificationsFromInputs(settings, makeContext(new Secrets(), state), { slackApiUrl: `${slack.url}/api` });
    await post.notifyEnd(canaryEvent({ outcome: 'cancelled', phase: 'cancelled', reason: 'the run was cancelled' }));
    expect(slack.requests.map((r) => r.path)).toEqual(['/api/chat.postMessage', '/api/chat.update', '/api/chat.postMessage']);
    expect(slack.requests[1]!.json.ts).toBe('1700000001.000100');
    expect(slack.requests[2]!.json.thread_ts).toBe('1700000001.000100');
  });

  it('treats an HTTP 200 with ok:false as a failure, retrying only the transient ones', async () => {
    const { delays, retry } = recordingRetry();
    const api = new SlackWebApi(secret.slackToken, { baseUrl: `${slack.url}/api`, retry });
    slack.queue('/api/chat.postMessage', { status: 200, body: { ok: false, error: 'internal_error' } });
    await expect(api.postMessage('C0DEPLOYS1', deploymentMessage(canaryEvent()))).resolves.toEqual({
      channel: 'C0DEPLOYS1',
      ts: '1700000001.000100',
    });
    expect(delays).toHaveLength(1);

    slack.queue('/api/chat.postMessage', { status: 200, body: { ok: false, error: 'not_in_channel' } });
    const error = await api.postMessage('C0DEPLOYS1', deploymentMessage(canaryEvent())).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SlackApiError);
    expect((error as SlackApiError).message).toBe('Slack chat.postMessage failed: not_in_channel');
    expect(slack.requests).toHaveLength(3);
  });

  it('honours a 429 Retry-After from the Web API', async () => {
    const { delays, retry } = recordingRetry();
    const api = new SlackWebApi(secret.slackToken, { baseUrl: `${slack.url}/api`, retry });
    slack.queue('/api/chat.update', { status: 429, headers: { 'retry-after': '3' }, body: { ok: false, error: 'ratelimited' } });
    await api.update({ channel: 'C0DEPLOYS1', ts: '1.2' }, deploymentMessage(canaryEvent()));
    expect(delays).toEqual([3000]);
    expect(slack.requests.map((r) => r.path)).toEqual(['/api/chat.update', '/api/chat.update']);
  });

  it('warns on invalid_auth with the token redacted, and never sends it in a payload', async () => {
    const ctx = makeContext();
    slack.queue('/api/chat.postMessage', { status: 200, body: { ok: false, error: 'invalid_auth' } });
    const notify = notificationsFromInputs(inputs({ 'slack-token': secret.slackToken, 'slack-channel': 'C0DEPLOYS1' }), ctx, {
      slackApiUrl: `${slack.url}/api`,
    });
    // A reason that quotes a secret (say, from a failed command's output) is redacted before it is sent.
    await notify.notifyStart(canaryEvent({ reason: `curl -H "Authorization: Bearer ${secret.slackToken}" failed` }));
    expect(ctx.reporter.messages('warn')).toEqual([
      'Notification not delivered, going on: Slack bot: Slack chat.postMessage failed: invalid_auth',
    ]);
    expect(slack.requests).toHaveLength(1);
    expect(slack.requests[0]!.body).not.toContain(secret.slackToken);
    expect(slack.requests[0]!.json.blocks[2].text.text).toContain('Bearer ***');
  });

  it('asks for slack-channel when only the token is given', () => {
    expect(() => notificationsFromInputs(inputs({ 'slack-token': secret.slackToken }), makeContext())).toThrow(
      /'slack-channel' is required with 'slack-token'/,
    );
  });
});
