/**
 * Prometheus HTTP API client: instant queries (/api/v1/query with `time`) and range queries
 * (/api/v1/query_range). Errors that Prometheus explains in its JSON (`errorType`, `error`) are
 * surfaced as such; bad queries (400/422) are not retried, unavailability (5xx, timeouts,
 * refused connections) is.
 */
import { HttpStatusError } from '../../http-error.js';
import type { Connection } from '../resolve.js';
import { request, type RequestOptions } from './http.js';

export interface Series {
  labels: Record<string, string>;
  /** [unix seconds, value]; NaN, +Inf and -Inf are kept as such. */
  points: Array<[number, number]>;
}

export type PromResult =
  | { type: 'scalar'; value: number }
  | { type: 'string'; value: string }
  | { type: 'vector'; series: Series[] }
  | { type: 'matrix'; series: Series[] };

export interface PromAnswer {
  result: PromResult;
  warnings: string[];
}

/** Evaluate `query` at `atMs` (epoch milliseconds). */
export function queryInstant(connection: Connection, query: string, atMs: number, options: RequestOptions = {}): Promise<PromAnswer> {
  return call(connection, '/api/v1/query', { query, time: seconds(atMs) }, options);
}

/** Evaluate `query` at every `stepMs` from `startMs` to `endMs`. */
export function queryRange(
  connection: Connection,
  query: string,
  startMs: number,
  endMs: number,
  stepMs: number,
  options: RequestOptions = {},
): Promise<PromAnswer> {
  return call(connection, '/api/v1/query_range', { query, start: seconds(startMs), end: seconds(endMs), step: seconds(stepMs) }, options);
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

async function call(connection: Connection, path: string, params: Record<string, string>, options: RequestOptions): Promise<PromAnswer> {
  const what = `Prometheus at ${connection.address}`;
  const response = await request(
    {
      url: `${connection.address}${path}`,
      method: 'POST',
      headers: { ...connection.headers, 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams({ ...params, timeout: `${Math.max(1, Math.floor(connection.timeoutMs / 1000))}s` }).toString(),
      timeoutMs: connection.timeoutMs,
      what,
    },
    options,
    // Prometheus explains bad queries (400) and failed evaluations (422) in JSON; read it.
    (status) => status === 400 || status === 422,
  );
  let body: { status?: string; data?: { resultType?: string; result?: unknown }; errorType?: string; error?: string; warnings?: string[] };
  try {
    body = JSON.parse(response.text);
  } catch {
    throw new HttpStatusError(
      `${what} did not answer with JSON (is the address right? it should be the Prometheus server, not a UI)`,
      response.status >= 400 ? response.status : 502,
    );
  }
  if (body.status !== 'success') {
    throw new HttpStatusError(
      `${what} rejected the query (${body.errorType ?? 'error'}): ${body.error ?? 'no reason given'}`,
      Math.max(response.status, 400),
    );
  }
  return { result: toResult(body.data?.resultType, body.data?.result, what), warnings: body.warnings ?? [] };
}

export function sampleValue(text: unknown): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (typeof text !== 'string') return Number.NaN;
  return Number(text);
}

type RawSample = [number, string];

function toResult(type: string | undefined, raw: unknown, what: string): PromResult {
  switch (type) {
    case 'scalar':
      return { type, value: sampleValue((raw as RawSample)[1]) };
    case 'string':
      return { type, value: String((raw as RawSample)[1]) };
    case 'vector':
      return {
        type,
        series: (raw as Array<{ metric: Record<string, string>; value: RawSample }>).map((s) => ({
          labels: s.metric,
          points: [[s.value[0], sampleValue(s.value[1])]],
        })),
      };
    case 'matrix':
      return {
        type,
        series: (raw as Array<{ metric: Record<string, string>; values: RawSample[] }>).map((s) => ({
          labels: s.metric,
          points: s.values.map((v): [number, number] => [v[0], sampleValue(v[1])]),
        })),
      };
    default:
      throw new Error(`${what} answered with an unknown result type ${JSON.stringify(type)}`);
  }
}
