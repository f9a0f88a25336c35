/**
 * Exponential backoff with full jitter (delay = random(0, min(cap, base * 2^n))), bounded in
 * attempts and in total time, honouring Retry-After, and retrying only what is transient:
 * connection resets, timeouts, 429 and 5xx. A 4xx that means the request itself is wrong is
 * never retried.
 */
import { HttpStatusError } from './http-error.js';

export interface RetryOptions {
  /** Attempts in all, the first included. Default 5. */
  attempts?: number;
  /** Base of the exponential backoff. Default 250 ms. */
  baseDelayMs?: number;
  /** Cap on one delay (Retry-After may ask for more, up to maxElapsedMs). Default 10 s. */
  maxDelayMs?: number;
  /** No new attempt starts after this much time since the first. Default 60 s. */
  maxElapsedMs?: number;
  /** Decides whether an error is worth another attempt. Default: isTransient. */
  classify?: (error: unknown) => RetryDecision;
  /** Told before each wait, e.g. to log "503 from ..., retrying in 1.2s". */
  onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
  signal?: AbortSignal;
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
}

export interface RetryDecision {
  retry: boolean;
  /** The server asked us to wait this long (Retry-After). */
  retryAfterMs?: number;
}

export const DEFAULT_RETRY = { attempts: 5, baseDelayMs: 250, maxDelayMs: 10_000, maxElapsedMs: 60_000 } as const;

export async function retry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? DEFAULT_RETRY.attempts;
  const base = options.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs;
  const cap = options.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs;
  const budget = options.maxElapsedMs ?? DEFAULT_RETRY.maxElapsedMs;
  const classify = options.classify ?? classifyError;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? sleepMs;
  const now = options.now ?? Date.now;
  const started = now();

  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      const decision = classify(error);
      if (!decision.retry || attempt >= attempts || options.signal?.aborted) throw error;
      const jitter = random() * Math.min(cap, base * 2 ** (attempt - 1));
      const delayMs = Math.max(jitter, decision.retryAfterMs ?? 0);
      if (now() - started + delayMs > budget) throw error;
      options.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs, options.signal);
    }
  }
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** Transient: network failures, timeouts, 408, 429 and 5xx (501 excepted). Follows `cause` chains. */
export function classifyError(error: unknown): RetryDecision {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const status = httpStatusOf(e);
    if (status !== undefined) {
      const retry = status === 408 || status === 429 || (status >= 500 && status !== 501);
      return { retry, retryAfterMs: retry ? parseRetryAfter(retryAfterOf(e)) : undefined };
    }
    const { code, name } = e as { code?: unknown; name?: unknown };
    if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return { retry: true };
    if (name === 'TimeoutError') return { retry: true };
  }
  return { retry: false };
}

/** The HTTP status an error carries: ours (HttpStatusError) or @kubernetes/client-node's ApiException (`code`). */
export function httpStatusOf(error: unknown): number | undefined {
  if (error instanceof HttpStatusError) return error.status;
  const { code, statusCode, name } = (error ?? {}) as { code?: unknown; statusCode?: unknown; name?: unknown };
  if (typeof statusCode === 'number') return statusCode;
  if (typeof code === 'number' && code >= 100 && code < 600 && name !== 'InputError') return code;
  return undefined;
}

function retryAfterOf(error: object): string | undefined {
  if (error instanceof HttpStatusError) return error.retryAfter ?? undefined;
  const headers = (error as { headers?: Record<string, string | string[] | undefined> }).headers;
  const value = headers?.['retry-after'] ?? headers?.['Retry-After'];
  return Array.isArray(value) ? value[0] : value;
}

/** Retry-After is seconds or an HTTP date. Returns milliseconds, or undefined when absent or malformed. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value == null || value.trim() === '') return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function sleepMs(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
