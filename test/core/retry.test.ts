import { describe, expect, it } from 'vitest';
import { HttpStatusError } from '../../src/core/http-error.js';
import { classifyError, parseRetryAfter, retry } from '../../src/core/retry.js';

/** A fake clock: sleeping advances it, so tests see every delay without waiting. */
function fakeClock() {
  let now = 0;
  const delays: number[] = [];
  return {
    delays,
    now: () => now,
    sleep: async (ms: number) => {
      delays.push(ms);
      now += ms;
    },
  };
}

const failing = (errors: unknown[]) => {
  let calls = 0;
  return {
    get calls() {
      return calls;
    },
    op: async () => {
      const error = errors[calls++];
      if (error) throw error;
      return 'ok';
    },
  };
};

describe('retry', () => {
  it('retries transient failures with full-jitter exponential delays and returns the result', async () => {
    const clock = fakeClock();
    const op = failing([new HttpStatusError('503', 503), Object.assign(new Error('reset'), { code: 'ECONNRESET' })]);
    const result = await retry(op.op, { ...clock, random: () => 0.5, baseDelayMs: 100 });
    expect(result).toBe('ok');
    expect(op.calls).toBe(3);
    // full jitter: random * min(cap, base * 2^(n-1)) => 0.5*100, 0.5*200
    expect(clock.delays).toEqual([50, 100]);
  });

  it('caps each delay at maxDelayMs', async () => {
    const clock = fakeClock();
    const op = failing(Array.from({ length: 6 }, () => new HttpStatusError('500', 500)));
    await retry(op.op, { ...clock, random: () => 1, baseDelayMs: 1000, maxDelayMs: 3000, attempts: 7 });
    expect(clock.delays).toEqual([1000, 2000, 3000, 3000, 3000, 3000]);
  });

  it('never retries a 4xx that means the request is wrong', async () => {
    for (const status of [400, 401, 403, 404, 409, 422]) {
      const op = failing([new HttpStatusError(String(status), status)]);
      await expect(retry(op.op, fakeClock())).rejects.toMatchObject({ status });
      expect(op.calls).toBe(1);
    }
  });

  it('honours Retry-After on 429 even when it exceeds the jittered delay', async () => {
    const clock = fakeClock();
    const op = failing([new HttpStatusError('429', 429, '3')]);
    await retry(op.op, { ...clock, random: () => 0 });
    expect(clock.delays).toEqual([3000]);
  });

  it('reads Retry-After from a client-node ApiException shape', () => {
    const apiException = Object.assign(new Error('HTTP-Code: 429'), { code: 429, headers: { 'retry-after': '2' } });
    expect(classifyError(apiException)).toEqual({ retry: true, retryAfterMs: 2000 });
  });

  it('follows the cause chain of fetch errors', () => {
    const fetchError = new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) });
    expect(classifyError(fetchError).retry).toBe(true);
    expect(classifyError(new TypeError('bad', { cause: new Error('plain') })).retry).toBe(false);
  });

  it('gives up after the attempt bound and rethrows the last error', async () => {
    const op = failing(Array.from({ length: 10 }, (_, i) => new HttpStatusError(`fail ${i}`, 503)));
    await expect(retry(op.op, { ...fakeClock(), attempts: 3 })).rejects.toThrow('fail 2');
    expect(op.calls).toBe(3);
  });

  it('gives up when the next wait would exceed the total time budget', async () => {
    const clock = fakeClock();
    const op = failing(Array.from({ length: 10 }, () => new HttpStatusError('429', 429, '30')));
    await expect(retry(op.op, { ...clock, attempts: 10, maxElapsedMs: 45_000 })).rejects.toBeInstanceOf(HttpStatusError);
    expect(op.calls).toBe(2);
    expect(clock.delays).toEqual([30_000]);
  });

  it('treats timeouts as transient', async () => {
    const op = failing([new DOMException('The operation timed out', 'TimeoutError')]);
    expect(await retry(op.op, fakeClock())).toBe('ok');
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, and ignores garbage', () => {
    expect(parseRetryAfter('5')).toBe(5000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
