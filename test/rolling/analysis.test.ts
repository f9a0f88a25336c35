import { afterAll, beforeAll, expect, test } from 'vitest';
import { FIXED_DAY, httpTraffic, startPrometheus, toOpenMetrics, type PrometheusServer } from '../support/prometheus.js';
import {
  BROKEN,
  deployed,
  fakeClock,
  imageOf,
  journal,
  NEW,
  OLD,
  podImages,
  roll,
  settled,
  startHarness,
  type Harness,
} from './harness.js';

/**
 * The analysis runs from the moment the image is set until the rollout is done and every metric
 * has its count, against a real Prometheus (deterministic data around FIXED_DAY; the analysis runs
 * on a fake clock, so its minutes take milliseconds). A failure after the rollout is done, or while
 * it is still going (it is stopped at once), puts the previous image back. The cluster's progress
 * deadline is a minute here: no rollout ends by it in these tests.
 */

const T0 = FIXED_DAY + 30 * 60;
let h: Harness;
let prom: PrometheusServer;

beforeAll(async () => {
  const span = { from: FIXED_DAY, to: FIXED_DAY + 60 * 60, stepSeconds: 15, rps: 20 };
  [h, prom] = await Promise.all([
    startHarness({ progressDeadlineMs: 60_000 }),
    startPrometheus({
      openMetrics: toOpenMetrics(
        httpTraffic({ ...span, service: 'checkout', version: '2.0.0', errorRatio: () => 0.001 }),
        // Healthy for two minutes, then 20% errors: the third measurement fails, after the rollout is done.
        httpTraffic({ ...span, service: 'payments', version: '2.0.0', errorRatio: (t) => (t > T0 + 150 ? 0.2 : 0.001) }),
        httpTraffic({ ...span, service: 'search', version: '2.0.0-fail-rollout', errorRatio: () => 0.2 }),
      ),
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([h?.close(), prom?.stop()]);
});

const ERROR_RATE = `
metrics:
  - name: error-rate
    interval: 1m
    count: 4
    successCondition: result[0] < 0.05
    provider:
      prometheus:
        query: sum(rate(http_requests_total{service="{{args.service}}",version="{{args.version}}",code="500"}[2m])) / sum(rate(http_requests_total{service="{{args.service}}",version="{{args.version}}"}[2m]))
`;

const analysed = (service: string, image: string) => ({
  namespace: 'shop',
  service,
  image,
  analysis: ERROR_RATE,
  'prometheus-address': prom.url,
});

test('an analysis that passes: rolled-out, its measurements in the log, the summary and the timeline', async () => {
  await deployed(h, 'shop', 'checkout');
  const run = await roll(h, analysed('checkout', NEW), 'run-ok', { clock: fakeClock(T0 * 1000) });
  expect(run.failure?.message).toBeUndefined();
  expect(run.outputs).toMatchObject({ result: 'rolled-out', 'previous-image': OLD, image: NEW });
  expect(run.context.reporter.messages('info').filter((m) => /^error-rate #\d: \[?0\.001/.test(m))).toHaveLength(4);
  const summary = run.context.reporter.summaries.join('\n');
  expect(summary).toContain('Analysis of 2.0.0 during and after the rollout');
  expect(summary).toMatch(/\| 1 \| rollout 2\.0\.0 \|.*\| passed \|/);
  expect(podImages(h, 'shop', 'checkout')).toEqual([NEW, NEW, NEW]);
});

test('an analysis that fails after the rollout is done: the previous image is put back, rolled-back', async () => {
  await deployed(h, 'shop', 'payments');
  // The clock lets the analysis measure past T0 + 150 s (where the errors start) only once every pod runs 2.0.0.
  const base = fakeClock(T0 * 1000);
  let measuredAfterRollout = false;
  const clock = {
    now: base.now,
    sleep: async (ms: number, signal?: AbortSignal) => {
      if (base.now() + ms > (T0 + 150) * 1000 && !measuredAfterRollout) {
        await settled(h, 'shop', 'payments');
        measuredAfterRollout = podImages(h, 'shop', 'payments').every((image) => image === NEW);
      }
      await base.sleep(ms, signal);
    },
  };
  const run = await roll(h, analysed('payments', NEW), 'run-fail', { clock });
  expect(measuredAfterRollout).toBe(true);
  expect(run.outputs).toEqual({ result: 'rolled-back', 'previous-image': OLD, image: OLD, revision: '3' });
  expect(run.failure?.message).toMatch(
    /^Analysis of registry\.example\.com\/checkout:2\.0\.0 Failed: metric error-rate Failed with values \[0\.001\], \[0\.001\], \[0\.001\], \[0\.05\d*\] \(successCondition result\[0\] < 0\.05\): 1 failed measurement > failureLimit 0.*; Deployment shop\/payments is back on registry\.example\.com\/checkout:1\.0\.0 \(revision 3\), rolled out and read back$/,
  );
  await settled(h, 'shop', 'payments');
  expect(imageOf(h, 'shop', 'payments')).toBe(OLD);
  expect(podImages(h, 'shop', 'payments')).toEqual([OLD, OLD, OLD]);
  expect((await journal(h, 'shop', 'payments')).map((e) => [e.id, e.status])).toEqual([['run-fail/image', 'compensated']]);
  const summary = run.context.reporter.summaries.join('\n');
  expect(summary).toContain('### Rolling update: rolled-back');
  expect(summary).toMatch(/\| 1 \| rollout 2\.0\.0 \|.*\| failed \|/);
});

test('an analysis that fails while the rollout is still going stops it at once, without waiting for its deadline', async () => {
  await deployed(h, 'shop', 'search');
  const started = Date.now();
  const run = await roll(h, analysed('search', BROKEN), 'run-during', { clock: fakeClock(T0 * 1000) });
  expect(Date.now() - started).toBeLessThan(20_000); // the progress deadline is a minute, the rollout-timeout 10
  expect(run.outputs).toMatchObject({ result: 'rolled-back', 'previous-image': OLD, image: OLD });
  expect(run.failure?.message).toMatch(
    /^Analysis of registry\.example\.com\/checkout:2\.0\.0-fail-rollout Failed: metric error-rate Failed/,
  );
  expect(run.text).not.toContain('ProgressDeadlineExceeded');
  await settled(h, 'shop', 'search');
  expect(podImages(h, 'shop', 'search')).toEqual([OLD, OLD, OLD]);
});
