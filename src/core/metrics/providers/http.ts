/**
 * The HTTP requests providers make: retried with the core's backoff, each attempt bounded by a
 * timeout.
 */
import { HttpStatusError } from '../../http-error.js';
import { retry, type RetryOptions } from '../../retry.js';

/** How a provider makes its requests: retried with the core's backoff, each attempt bounded by a timeout. */
export interface RequestOptions {
  signal?: AbortSignal;
  retry?: Omit<RetryOptions, 'signal'>;
}

export interface HttpRequest {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  /** Names the server in messages, e.g. "Prometheus at http://prom:9090". */
  what: string;
}

export interface HttpResponse {
  status: number;
  text: string;
}

const MAX_BODY = 20 * 1024 * 1024;

/**
 * One HTTP request with retries. Throws HttpStatusError for a non-2xx status (so that retry
 * classifies it: 408, 429 and 5xx are retried, other 4xx are not), unless `accept` lets the
 * status through (Prometheus answers 400/422 with a JSON error worth reading).
 */
export async function request(
  req: HttpRequest,
  options: RequestOptions = {},
  accept: (status: number) => boolean = () => false,
): Promise<HttpResponse> {
  return retry(
    async () => {
      const timeout = AbortSignal.timeout(req.timeoutMs);
      const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
      let response: Response;
      try {
        response = await fetch(req.url, { method: req.method ?? 'GET', headers: req.headers, body: req.body, signal, redirect: 'error' });
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason;
        if (timeout.aborted)
          throw Object.assign(new Error(`${req.what} did not answer within ${req.timeoutMs} ms`), { name: 'TimeoutError' });
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        throw Object.assign(new Error(`cannot reach ${req.what}: ${cause?.code ?? cause?.message ?? (error as Error).message}`), {
          code: cause?.code,
          cause,
        });
      }
      const text = await readText(response, req.what);
      if (response.ok || accept(response.status)) return { status: response.status, text };
      throw new HttpStatusError(
        `${req.what} answered ${response.status} ${response.statusText}${snippet(text)}`,
        response.status,
        response.headers.get('retry-after'),
        text,
      );
    },
    { ...options.retry, signal: options.signal },
  );
}

async function readText(response: Response, what: string): Promise<string> {
  const length = Number(response.headers.get('content-length') ?? 0);
  if (length > MAX_BODY) throw new Error(`${what} sent ${length} bytes, more than the ${MAX_BODY} allowed`);
  return response.text();
}

function snippet(text: string): string {
  const trimmed = text.trim().replace(/\s+/g, ' ');
  if (!trimmed) return '';
  return `: ${trimmed.length > 200 ? `${trimmed.slice(0, 200)}…` : trimmed}`;
}
