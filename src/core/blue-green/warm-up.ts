/**
 * Warms the idle color before it takes traffic: `requests` GETs to its own address, a few at a
 * time, each bounded by `timeoutMs`. Best effort: the result is counted and reported; the smoke
 * test and the analysis are the gates.
 */
import type { Reporter } from '../reporter.js';

export interface WarmUpOptions {
  url: string;
  requests: number;
  timeoutMs: number;
  reporter: Reporter;
  signal: AbortSignal;
  /** Requests in flight at once. Default 4. */
  concurrency?: number;
}

export interface WarmUpResult {
  sent: number;
  succeeded: number;
  /** The first few failures, for the log. */
  failures: string[];
}

export async function warmUp(options: WarmUpOptions): Promise<WarmUpResult> {
  const result: WarmUpResult = { sent: 0, succeeded: 0, failures: [] };
  let next = 0;
  const worker = async () => {
    while (next < options.requests) {
      options.signal.throwIfAborted();
      next++;
      result.sent++;
      try {
        const response = await fetch(options.url, {
          signal: AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]),
          redirect: 'manual',
        });
        await response.body?.cancel();
        if (response.status < 400) result.succeeded++;
        else note(result, `HTTP ${response.status}`);
      } catch (error) {
        options.signal.throwIfAborted();
        note(
          result,
          (error as Error).name === 'TimeoutError'
            ? `no answer within ${options.timeoutMs} ms`
            : (((error as Error).cause as Error | undefined)?.message ?? (error as Error).message),
        );
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, options.requests) }, worker));
  const line = `Warm-up: ${result.succeeded} of ${result.sent} requests to ${options.url} succeeded${result.failures.length ? ` (failures: ${result.failures.join('; ')})` : ''}`;
  if (result.succeeded < result.sent) options.reporter.warn(line);
  else options.reporter.info(line);
  return result;
}

function note(result: WarmUpResult, failure: string): void {
  if (result.failures.length < 3 && !result.failures.includes(failure)) result.failures.push(failure);
}
