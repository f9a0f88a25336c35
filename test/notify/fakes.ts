import type { FlowContext, RunInfo } from '../../src/core/flow.js';
import type { DeploymentEvent } from '../../src/core/notify/event.js';
import { MemoryReporter } from '../../src/core/reporter.js';
import { Secrets } from '../../src/core/secrets.js';
import { startRecorder, type HttpRecorder } from './http-recorder.js';

/** Secrets shaped like the real ones, made fresh for each test. */
export function makeSecrets() {
  const id = Math.random().toString(36).slice(2, 12);
  return {
    webhookPath: `/services/T0${id}/B0${id}/${id}${id}xyzXYZ`,
    slackToken: `xoxb-1234-5678-${id}${id}`,
    githubToken: `ghs_${id}${id}${id}`,
  };
}

/** A Slack stand-in: webhooks answer `ok`, the Web API answers ok with a channel id and increasing ts. */
export async function startSlack(channelId = 'C0DEPLOYS1'): Promise<HttpRecorder> {
  let ts = 1_700_000_000;
  return startRecorder((request) => {
    if (request.path.startsWith('/services/')) return { status: 200, body: 'ok' };
    if (request.path === '/api/chat.postMessage') {
      ts += 1;
      return { status: 200, body: { ok: true, channel: channelId, ts: `${ts}.000100`, message: {} } };
    }
    if (request.path === '/api/chat.update')
      return { status: 200, body: { ok: true, channel: request.json?.channel, ts: request.json?.ts } };
    return { status: 404, body: { ok: false, error: 'unknown_method' } };
  });
}

/** A GitHub REST stand-in for deployments and their statuses. */
export async function startGitHub(): Promise<HttpRecorder> {
  let nextId = 41;
  return startRecorder((request) => {
    if (request.method === 'POST' && /^\/repos\/[^/]+\/[^/]+\/deployments$/.test(request.path)) {
      nextId += 1;
      return { status: 201, body: { id: nextId, environment: request.json?.environment, ref: request.json?.ref } };
    }
    const status = /^\/repos\/[^/]+\/[^/]+\/deployments\/(\d+)\/statuses$/.exec(request.path);
    if (request.method === 'POST' && status) return { status: 201, body: { id: 1000 + Number(status[1]), state: request.json?.state } };
    return { status: 404, body: { message: 'Not Found' } };
  });
}

export function makeContext(
  secrets: Secrets = new Secrets(),
  state = new Map<string, string>(),
): FlowContext & { reporter: MemoryReporter } {
  const run: RunInfo = {
    serverUrl: 'https://github.com',
    repository: 'acme/shop',
    runId: '8812',
    runAttempt: '1',
    actor: 'octocat',
    sha: 'f00dfeedcafe0123456789abcdef0123456789ab',
    ref: 'refs/heads/main',
    runUrl: 'https://github.com/acme/shop/actions/runs/8812',
  };
  return {
    reporter: new MemoryReporter(),
    secrets,
    runId: 'run-8812',
    signal: new AbortController().signal,
    state: { get: (key) => state.get(key) ?? '', set: (key, value) => void state.set(key, value) },
    run,
  };
}

export function canaryEvent(overrides: Partial<DeploymentEvent> = {}): DeploymentEvent {
  return {
    service: 'checkout',
    namespace: 'shop',
    environment: 'production',
    version: '1.25.0',
    image: 'registry.example.com/checkout:1.25.0',
    strategy: 'canary',
    phase: 'step 2/3',
    weight: 25,
    outcome: 'running',
    startedAt: '2026-11-23T10:00:00.000Z',
    durationMs: 185_000,
    actor: 'octocat',
    runUrl: 'https://github.com/acme/shop/actions/runs/8812',
    environmentUrl: 'https://shop.example.com',
    timeline: [
      {
        name: 'canary 10%',
        weight: 10,
        startedAt: '2026-11-23T10:00:05.000Z',
        heldMs: 60_000,
        analysis: { 'error-rate': 0.4, 'p95-ms': 180 },
        verdict: 'passed',
      },
      {
        name: 'canary 25%',
        weight: 25,
        startedAt: '2026-11-23T10:01:05.000Z',
        heldMs: 120_000,
        analysis: { 'error-rate': 0.6, 'p95-ms': 190 },
        verdict: 'passed',
      },
    ],
    ...overrides,
  };
}

/** A retry policy that waits for nothing and records the waits it was asked for. */
export function recordingRetry() {
  const delays: number[] = [];
  return { delays, retry: { random: () => 0, sleep: async (ms: number) => void delays.push(ms) } };
}
