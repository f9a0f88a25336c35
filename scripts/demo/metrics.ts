import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpTraffic, PROMETHEUS_BIN, PROMTOOL_BIN, startPrometheus, toOpenMetrics } from '../../test/support/prometheus.js';

/**
 * The demo's metrics: per service and version, a constant error ratio and a typical latency, from
 * 15 minutes before the demo starts to 30 minutes after it, so that the flows (on the real clock)
 * always query inside the data. The same table feeds a real Prometheus (when it is installed) and
 * the simulated source, so both give the same verdicts.
 */
export interface TrafficProfile {
  service: string;
  version: string;
  errorRatio: number;
  latencyMs: number;
}

export const PROFILES: readonly TrafficProfile[] = [
  { service: 'checkout', version: '1.24.0', errorRatio: 0.002, latencyMs: 110 },
  { service: 'checkout', version: '1.25.0', errorRatio: 0.003, latencyMs: 120 },
  { service: 'cart', version: '2.3.0', errorRatio: 0.002, latencyMs: 90 },
  { service: 'cart', version: '2.4.0', errorRatio: 0.002, latencyMs: 85 },
  // The release that breaches its error budget: 7% of requests fail.
  { service: 'cart', version: '2.5.0', errorRatio: 0.07, latencyMs: 95 },
];

/** The demo's queries, in the validate action's template form (arguments escaped by the engine). */
export const ERROR_RATIO_QUERY =
  'sum(rate(http_requests_total{service="{{args.service}}",version="{{args.version}}",code="500"}[1m]))' +
  ' / sum(rate(http_requests_total{service="{{args.service}}",version="{{args.version}}"}[1m]))';
export const P95_MS_QUERY =
  'histogram_quantile(0.95, sum(rate(http_request_duration_seconds_bucket{service="{{args.service}}",version="{{args.version}}"}[1m])) by (le)) * 1000';

export interface MetricSource {
  kind: 'prometheus' | 'simulated';
  url: string;
  /** One line for the console: which source and why. */
  description: string;
  stop(): Promise<void>;
}

export async function prometheusInstalled(): Promise<boolean> {
  try {
    await access(PROMETHEUS_BIN, constants.X_OK);
    await access(PROMTOOL_BIN, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A real Prometheus when installed (and not refused with `simulated`), else the simulated source. */
export async function startMetricSource(prefer: 'auto' | 'prometheus' | 'simulated', nowMs = Date.now()): Promise<MetricSource> {
  if (prefer !== 'simulated') {
    if (await prometheusInstalled()) {
      const prom = await startPrometheus({ openMetrics: demoOpenMetrics(nowMs) });
      return {
        kind: 'prometheus',
        url: prom.url,
        description: `Prometheus (${PROMETHEUS_BIN}) at ${prom.url}, holding deterministic data written by promtool`,
        stop: () => prom.stop(),
      };
    }
    if (prefer === 'prometheus')
      throw new Error(`--metrics prometheus: ${PROMETHEUS_BIN} or ${PROMTOOL_BIN} is not installed (or not executable)`);
  }
  const sim = await startSimulatedPrometheus();
  const why = prefer === 'simulated' ? 'as asked with --metrics simulated' : `Prometheus is not installed at ${PROMETHEUS_BIN}`;
  return {
    kind: 'simulated',
    url: sim.url,
    description: `SIMULATED metric source at ${sim.url} (${why}): answers /api/v1/query for the demo's queries only`,
    stop: sim.stop,
  };
}

export function demoOpenMetrics(nowMs: number): string {
  const now = Math.floor(nowMs / 1000);
  const span = { from: now - 15 * 60, to: now + 30 * 60, stepSeconds: 5, rps: 40 };
  return toOpenMetrics(
    ...PROFILES.map((p) =>
      httpTraffic({ ...span, service: p.service, version: p.version, errorRatio: () => p.errorRatio, latencyMs: () => p.latencyMs }),
    ),
  );
}

/** What the simulated source answers for one query: the profile's error ratio or p95, else no data. */
export function simulatedValue(query: string): number | undefined {
  const service = /service="([^"]*)"/.exec(query)?.[1];
  const version = /version="([^"]*)"/.exec(query)?.[1];
  const profile = PROFILES.find((p) => p.service === service && p.version === version);
  if (!profile) return undefined;
  if (query.includes('histogram_quantile(0.95')) return profile.latencyMs * 1.45; // true p95 of the uniform spread 0.5x..1.5x
  if (/code="500"|code=~"5\.\."/.test(query)) return profile.errorRatio;
  return undefined;
}

/**
 * A tiny stand-in for Prometheus' HTTP API: `/api/v1/query` (GET or form POST) answers a vector
 * with the simulated value, or an empty vector when the query is not one of the demo's; anything
 * else is 404. `/-/ready` answers 200.
 */
export async function startSimulatedPrometheus(): Promise<{ url: string; queries: string[]; stop(): Promise<void> }> {
  const queries: string[] = [];
  const server = createServer((req, res) => {
    void handle(req, res, queries).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    queries,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, queries: string[]): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/-/ready') {
    res.writeHead(200).end('Simulated Prometheus is Ready.\n');
    return;
  }
  if (url.pathname !== '/api/v1/query') {
    json(res, 404, {
      status: 'error',
      errorType: 'not_found',
      error: `the simulated metric source only answers /api/v1/query, not ${url.pathname}`,
    });
    return;
  }
  const params = new URLSearchParams(url.search);
  if (req.method === 'POST') {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    for (const [k, v] of new URLSearchParams(body)) params.set(k, v);
  }
  const query = params.get('query') ?? '';
  const time = Number(params.get('time') ?? Date.now() / 1000);
  queries.push(query);
  const value = simulatedValue(query);
  json(res, 200, {
    status: 'success',
    data: { resultType: 'vector', result: value === undefined ? [] : [{ metric: {}, value: [time, String(value)] }] },
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
