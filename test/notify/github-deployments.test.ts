import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNotifications } from '../../src/actions/adapters/notify.js';
import type { NotifyInputs } from '../../src/core/notify/from-inputs.js';
import { canaryEvent, makeContext, makeSecrets, recordingRetry, startGitHub } from './fakes.js';
import type { HttpRecorder } from './http-recorder.js';

let github: HttpRecorder;
let secret: ReturnType<typeof makeSecrets>;

beforeEach(async () => {
  github = await startGitHub();
  secret = makeSecrets();
});
afterEach(async () => {
  await github.stop();
});

function inputs(overrides: Partial<NotifyInputs> = {}): NotifyInputs {
  return {
    'notify-failure-fails': true,
    'github-token': secret.githubToken,
    environment: 'production',
    'environment-url': 'https://shop.example.com',
    ...overrides,
  };
}

/** [path, state] of every request: the sequence GitHub saw. */
function sequence(): [string, string | undefined][] {
  return github.requests.map((r) => [r.path, r.json?.state]);
}

const RUN_URL = 'https://github.com/acme/shop/actions/runs/8812';

describe('GitHub deployment statuses', () => {
  it('records a success: deployment created at the sha, in_progress, then success', async () => {
    const notify = createNotifications(inputs(), makeContext(), { githubApiUrl: github.url });
    await notify.notifyStart(canaryEvent({ phase: 'start', timeline: [] }));
    await notify.notifyEnd(canaryEvent({ phase: 'done', outcome: 'succeeded', result: 'promoted', weight: 100 }));

    expect(sequence()).toEqual([
      ['/repos/acme/shop/deployments', undefined],
      ['/repos/acme/shop/deployments/42/statuses', 'in_progress'],
      ['/repos/acme/shop/deployments/42/statuses', 'success'],
    ]);
    expect(github.requests[0]!.json).toEqual({
      ref: 'f00dfeedcafe0123456789abcdef0123456789ab',
      environment: 'production',
      description: 'Deploy checkout 1.25.0 to production',
      payload: {
        service: 'checkout',
        namespace: 'shop',
        version: '1.25.0',
        image: 'registry.example.com/checkout:1.25.0',
        strategy: 'canary',
      },
      task: 'deploy',
      auto_merge: false,
      required_contexts: [],
      transient_environment: false,
    });
    expect(github.requests[1]!.json).toEqual({
      state: 'in_progress',
      description: 'start',
      environment_url: 'https://shop.example.com',
      log_url: RUN_URL,
    });
    expect(github.requests[2]!.json).toEqual({
      state: 'success',
      description: 'Succeeded (promoted)',
      environment_url: 'https://shop.example.com',
      log_url: RUN_URL,
    });
    for (const request of github.requests) {
      expect(request.method).toBe('POST');
      expect(request.headers.authorization).toBe(`token ${secret.githubToken}`);
      expect(request.body).not.toContain(secret.githubToken);
    }
  });

  it('a paused canary is not final: in_progress with where it holds, never success (which would mark the live deployment inactive)', async () => {
    const notify = createNotifications(inputs(), makeContext(), { githubApiUrl: github.url });
    await notify.notifyStart(canaryEvent({ phase: 'start', timeline: [] }));
    await notify.notifyEnd(
      canaryEvent({ phase: 'done', outcome: 'paused', result: 'paused', weight: 20, reason: 'at step 2 of 5, 20% on canary' }),
    );
    expect(sequence()).toEqual([
      ['/repos/acme/shop/deployments', undefined],
      ['/repos/acme/shop/deployments/42/statuses', 'in_progress'],
      ['/repos/acme/shop/deployments/42/statuses', 'in_progress'],
    ]);
    expect(github.requests[2]!.json).toMatchObject({ state: 'in_progress', description: 'Paused: at step 2 of 5, 20% on canary' });
  });

  it('records a failure with its reason, cut to 140 characters', async () => {
    const notify = createNotifications(inputs(), makeContext(), { githubApiUrl: github.url });
    await notify.notifyStart(canaryEvent());
    const reason = `error-rate 4.2% > 1% at step 2 ${'and more detail '.repeat(20)}`;
    await notify.notifyEnd(canaryEvent({ outcome: 'failed', result: 'aborted', reason }));
    expect(sequence().map(([, state]) => state)).toEqual([undefined, 'in_progress', 'failure']);
    const description: string = github.requests[2]!.json.description;
    expect(description.startsWith('Failed (aborted): error-rate 4.2% > 1% at step 2')).toBe(true);
    expect(description).toHaveLength(140);
    expect(description.endsWith('…')).toBe(true);
  });

  it('records a rollback as its own deployment: the failed one stays failure, the rollback goes in_progress then success', async () => {
    const canary = createNotifications(inputs(), makeContext(), { githubApiUrl: github.url });
    await canary.notifyStart(canaryEvent());
    await canary.notifyEnd(canaryEvent({ outcome: 'failed', result: 'aborted', reason: 'p95 above 250ms' }));

    const rollback = createNotifications(inputs(), makeContext(), { githubApiUrl: github.url });
    const event = rollback.newEvent({ service: 'checkout', namespace: 'shop', strategy: 'rollback', version: '1.24.3' });
    await rollback.notifyStart(event);
    await rollback.notifyEnd({ ...event, phase: 'done', outcome: 'succeeded', result: 'rolled-back' });

    expect(sequence()).toEqual([
      ['/repos/acme/shop/deployments', undefined],
      ['/repos/acme/shop/deployments/42/statuses', 'in_progress'],
      ['/repos/acme/shop/deployments/42/statuses', 'failure'],
      ['/repos/acme/shop/deployments', undefined],
      ['/repos/acme/shop/deployments/43/statuses', 'in_progress'],
      ['/repos/acme/shop/deployments/43/statuses', 'success'],
    ]);
    expect(github.requests[3]!.json).toMatchObject({
      environment: 'production',
      description: 'Rollback of checkout 1.24.3 to production',
      payload: { service: 'checkout', version: '1.24.3', strategy: 'rollback' },
    });
    expect(github.requests[5]!.json).toMatchObject({ state: 'success', description: 'Succeeded (rolled-back)' });
  });

  it('gives the post step the main step’s deployment through the saved state', async () => {
    const state = new Map<string, string>();
    const main = createNotifications(inputs(), makeContext(undefined, state), { githubApiUrl: github.url });
    await main.notifyStart(canaryEvent());
    const post = createNotifications(inputs(), makeContext(undefined, state), { githubApiUrl: github.url });
    await post.notifyEnd(canaryEvent({ outcome: 'cancelled', reason: 'the run was cancelled' }));
    expect(sequence()).toEqual([
      ['/repos/acme/shop/deployments', undefined],
      ['/repos/acme/shop/deployments/42/statuses', 'in_progress'],
      ['/repos/acme/shop/deployments/42/statuses', 'error'],
    ]);
  });

  it('retries a 502 and a rate-limited 403, waiting as GitHub asks', async () => {
    github.queue('/repos/acme/shop/deployments', { status: 502, body: { message: 'Bad Gateway' } });
    github.queue('/repos/acme/shop/deployments/42/statuses', {
      status: 403,
      headers: { 'retry-after': '5' },
      body: { message: 'You have exceeded a secondary rate limit' },
    });
    const { delays, retry } = recordingRetry();
    const ctx = makeContext();
    const notify = createNotifications(inputs(), ctx, { githubApiUrl: github.url, retry });
    await notify.notifyStart(canaryEvent());
    expect(sequence().map(([path]) => path)).toEqual([
      '/repos/acme/shop/deployments',
      '/repos/acme/shop/deployments',
      '/repos/acme/shop/deployments/42/statuses',
      '/repos/acme/shop/deployments/42/statuses',
    ]);
    expect(delays[1]).toBe(5000);
    expect(ctx.reporter.messages('info').some((m) => m.startsWith('could not create a deployment: GitHub answered HTTP 502'))).toBe(true);
  });

  it('does not retry a 422 and warns without the token when notify-failure-fails is off', async () => {
    github.queue('/repos/acme/shop/deployments', { status: 422, body: { message: `No ref found for: ${secret.githubToken}` } });
    const ctx = makeContext();
    const notify = createNotifications(inputs({ 'notify-failure-fails': false }), ctx, {
      githubApiUrl: github.url,
      retry: recordingRetry().retry,
    });
    await notify.notifyStart(canaryEvent());
    await notify.notifyEnd(canaryEvent({ outcome: 'succeeded' }));
    expect(github.requests).toHaveLength(1);
    const warnings = ctx.reporter.messages('warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('GitHub deployment: could not create a deployment: GitHub answered HTTP 422');
    expect(ctx.reporter.text()).not.toContain(secret.githubToken);
  });

  it('records nothing on a dry run, or without an environment', async () => {
    const dry = createNotifications(inputs(), makeContext(), { githubApiUrl: github.url });
    const event = dry.newEvent({ service: 'checkout', strategy: 'blue-green', dryRun: true });
    expect(event.outcome).toBe('planned');
    await dry.notifyStart(event);
    await dry.notifyEnd(event);

    const ctx = makeContext();
    const noEnvironment = createNotifications(inputs({ environment: undefined }), ctx, { githubApiUrl: github.url });
    await noEnvironment.notifyStart(canaryEvent({ environment: undefined }));
    expect(github.requests).toEqual([]);
    expect(ctx.reporter.messages('warn')).toEqual([
      'github-token is set without environment: no GitHub deployment is recorded. Set environment (e.g. production).',
    ]);
  });
});
