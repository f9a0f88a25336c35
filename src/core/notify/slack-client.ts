/**
 * The two ways to reach Slack, over global fetch, each request retried through core `retry`
 * (429 with its Retry-After, 5xx, network errors). No error message ever carries the webhook
 * URL or the token: they name the method and what Slack answered, nothing more.
 */
import { HttpStatusError } from '../http-error.js';
import { classifyError, retry, type RetryDecision, type RetryOptions } from '../retry.js';
import type { PostedMessage } from './posted-message.js';
import type { SlackMessage } from './slack-message.js';

export interface SlackHttpOptions {
  /** Retry policy; default: 5 attempts within 30 s. */
  retry?: RetryOptions;
  /** Longest one request may take. Default 10 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export const DEFAULT_SLACK_API_URL = 'https://slack.com/api';
const DEFAULT_TIMEOUT_MS = 10_000;
const SLACK_RETRY: RetryOptions = { attempts: 5, maxElapsedMs: 30_000 };

/** Slack answered `{ ok: false, error }`. */
export class SlackApiError extends Error {
  override readonly name = 'SlackApiError';
  constructor(
    readonly method: string,
    readonly code: string,
  ) {
    super(`Slack ${method} failed: ${code}`);
  }
  /** Errors Slack documents as "try again". */
  get transient(): boolean {
    return TRANSIENT_API_ERRORS.has(this.code);
  }
}

const TRANSIENT_API_ERRORS = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'ratelimited']);

/** SlackApiError by its code; everything else as core `classifyError` (429, 5xx, network). */
export function classifySlackError(error: unknown): RetryDecision {
  if (error instanceof SlackApiError) return { retry: error.transient };
  return classifyError(error);
}

/** POST the message to an incoming webhook. Slack answers 200 `ok`, or an error status with a code in the body. */
export async function postToWebhook(webhookUrl: string, message: SlackMessage, options: SlackHttpOptions = {}): Promise<void> {
  await withRetry(options, async () => {
    const response = await send(
      webhookUrl,
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(message) },
      options,
      'webhook',
    );
    const body = await response.text();
    if (!response.ok) {
      throw new HttpStatusError(
        `Slack webhook answered HTTP ${response.status}: ${snippet(body)}`,
        response.status,
        response.headers.get('retry-after'),
        body,
      );
    }
  });
}

export type { PostedMessage } from './posted-message.js';

/** The Web API with a bot token: chat.postMessage (optionally in a thread) and chat.update. */
export class SlackWebApi {
  private readonly baseUrl: string;

  constructor(
    private readonly token: string,
    private readonly options: SlackHttpOptions & { baseUrl?: string } = {},
  ) {
    this.baseUrl = (options.baseUrl ?? DEFAULT_SLACK_API_URL).replace(/\/+$/, '');
  }

  async postMessage(channel: string, message: SlackMessage, threadTs?: string): Promise<PostedMessage> {
    const answer = await this.call('chat.postMessage', { channel, ...message, ...(threadTs ? { thread_ts: threadTs } : {}) });
    if (typeof answer.channel !== 'string' || typeof answer.ts !== 'string') {
      throw new Error('Slack chat.postMessage answered ok without a channel and ts');
    }
    return { channel: answer.channel, ts: answer.ts };
  }

  async update(posted: PostedMessage, message: SlackMessage): Promise<void> {
    await this.call('chat.update', { channel: posted.channel, ts: posted.ts, ...message });
  }

  private call(method: string, payload: object): Promise<Record<string, unknown>> {
    return withRetry(this.options, async () => {
      const response = await send(
        `${this.baseUrl}/${method}`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${this.token}` },
          body: JSON.stringify(payload),
        },
        this.options,
        method,
      );
      const body = await response.text();
      if (!response.ok) {
        throw new HttpStatusError(
          `Slack ${method} answered HTTP ${response.status}: ${snippet(body)}`,
          response.status,
          response.headers.get('retry-after'),
          body,
        );
      }
      let answer: Record<string, unknown>;
      try {
        answer = JSON.parse(body) as Record<string, unknown>;
      } catch {
        throw new Error(`Slack ${method} answered something that is not JSON: ${snippet(body)}`);
      }
      if (answer.ok !== true) throw new SlackApiError(method, typeof answer.error === 'string' ? answer.error : 'unknown_error');
      return answer;
    });
  }
}

function withRetry<T>(options: SlackHttpOptions, operation: () => Promise<T>): Promise<T> {
  return retry(operation, { ...SLACK_RETRY, classify: classifySlackError, signal: options.signal, ...options.retry });
}

/** fetch with a per-request timeout; a network failure names the method, never the URL. */
async function send(url: string, init: RequestInit, options: SlackHttpOptions, what: string): Promise<Response> {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  try {
    return await fetch(url, { ...init, signal });
  } catch (error) {
    const cause = error as { name?: string; cause?: { code?: string } };
    const detail = cause.name === 'TimeoutError' ? 'timed out' : (cause.cause?.code ?? cause.name ?? 'network error');
    throw new SlackNetworkError(`could not reach Slack (${what}): ${detail}`, error);
  }
}

class SlackNetworkError extends Error {
  override readonly name = 'SlackNetworkError';
  constructor(message: string, cause: unknown) {
    super(message, { cause });
  }
}

function snippet(body: string): string {
  const flat = body.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat || '(empty body)';
}
