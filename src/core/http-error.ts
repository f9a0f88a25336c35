/** An HTTP response that was not a success, from any of our HTTP clients (Prometheus, Slack, GitHub, web metrics). */
export class HttpStatusError extends Error {
  override readonly name = 'HttpStatusError';
  constructor(
    message: string,
    readonly status: number,
    /** The Retry-After header as sent, if any. */
    readonly retryAfter?: string | null,
    readonly body?: string,
  ) {
    super(message);
  }
}
