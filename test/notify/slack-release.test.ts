/**
 * One Slack message per release: a job given the `slack-message` of an earlier job (`<channel>/<ts>`)
 * updates that message instead of posting its own, and gives it on (postedSlackMessage); a
 * message that was deleted meanwhile is replaced by a new one, once. Against the Slack stand-in
 * (test/notify/fakes.ts), which speaks chat.postMessage and chat.update.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { notificationsFromInputs, postedSlackMessage, type NotifyInputs } from '../../src/core/notify/from-inputs.js';
import { canaryEvent, makeContext, makeSecrets, startSlack } from './fakes.js';
import type { HttpRecorder } from './http-recorder.js';

let slack: HttpRecorder;
let token: string;

beforeEach(async () => {
  slack = await startSlack('C0DEPLOYS1');
  token = makeSecrets().slackToken;
});
afterEach(async () => {
  await slack.stop();
});

function inputs(overrides: Partial<NotifyInputs> = {}): NotifyInputs {
  return { 'notify-failure-fails': true, 'slack-token': token, 'slack-channel': 'C0DEPLOYS1', environment: 'production', ...overrides };
}

async function job(overrides: Partial<NotifyInputs> = {}) {
  const state = new Map<string, string>();
  const ctx = makeContext(undefined, state);
  const notify = notificationsFromInputs(inputs(overrides), ctx, { slackApiUrl: `${slack.url}/api` });
  const event = canaryEvent();
  await notify.notifyStart(event);
  await notify.notifyEnd({ ...event, phase: 'done', outcome: 'succeeded', result: 'promoted', weight: 100 });
  return { message: postedSlackMessage(ctx.state), ctx };
}

const calls = () => slack.requests.map((r) => `${r.path.replace('/api/', '')}${r.json?.thread_ts ? ' (reply)' : ''}`);

describe('one Slack message across the jobs of a release', () => {
  it('the first job posts, and says which message; the next one given it only updates it and replies in its thread', async () => {
    const first = await job();
    expect(first.message).toBe('C0DEPLOYS1/1700000001.000100');
    const before = slack.requests.length;
    const second = await job({ 'slack-message': first.message });
    expect(second.message).toBe(first.message);
    const later = slack.requests.slice(before);
    expect(later.filter((r) => r.path === '/api/chat.postMessage' && !r.json.thread_ts)).toEqual([]);
    expect(later.filter((r) => r.path === '/api/chat.update').map((r) => [r.json.channel, r.json.ts])).toEqual([
      ['C0DEPLOYS1', '1700000001.000100'],
      ['C0DEPLOYS1', '1700000001.000100'],
    ]);
    for (const reply of later.filter((r) => r.json.thread_ts)) expect(reply.json.thread_ts).toBe('1700000001.000100');
  });

  it('without slack-message every job posts its own (what deploy.yml did before)', async () => {
    await job();
    await job();
    expect(calls().filter((c) => c === 'chat.postMessage')).toHaveLength(2);
  });

  it('a message deleted meanwhile (message_not_found) is replaced by a new one, which is then given on', async () => {
    slack.queue('/api/chat.update', { status: 200, body: { ok: false, error: 'message_not_found' } });
    const next = await job({ 'slack-message': 'C0DEPLOYS1/1690000000.000100' });
    expect(calls()[0]).toBe('chat.update');
    expect(calls()[1]).toBe('chat.postMessage');
    expect(next.message).toBe('C0DEPLOYS1/1700000001.000100');
    expect(next.ctx.reporter.messages('warn')).toEqual([]);
  });

  it('any other Slack error on the update is not hidden', async () => {
    slack.queue('/api/chat.update', { status: 200, body: { ok: false, error: 'not_in_channel' } });
    await expect(job({ 'slack-message': 'C0DEPLOYS1/1690000000.000100' })).rejects.toThrow(/not_in_channel/);
  });

  it('a webhook cannot update: slack-message is not used, and no message is given on', async () => {
    const secrets = makeSecrets();
    const ctx = makeContext();
    const notify = notificationsFromInputs(
      {
        'notify-failure-fails': true,
        'slack-webhook-url': `${slack.url}${secrets.webhookPath}`,
        'slack-message': 'C0DEPLOYS1/1690000000.000100',
      },
      ctx,
    );
    await notify.notifyStart(canaryEvent());
    expect(slack.requests.map((r) => r.path)).toEqual([secrets.webhookPath]);
    expect(postedSlackMessage(ctx.state)).toBeUndefined();
  });
});
