import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  CANARY_IMAGE,
  T0,
  TEMPLATES,
  config,
  istioWeights,
  meshObjects,
  runCanaryFlow,
  scaledClock,
  startHarness,
  type Harness,
} from './harness.js';

/**
 * A background analysis that is still measuring when the canary finishes (the pattern behind
 * Argo Rollouts #4479): it is stopped as at its duration, and reported as what it was — in the
 * `analysis` output, the summary and the log (once) — with the measurements it took against
 * those it planned, and a phase that claims nothing for measurements that did not happen.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

let n = 0;
async function namespace(): Promise<string> {
  const ns = `bg-stop-${++n}`;
  await h.cluster.apply(meshObjects(ns));
  return ns;
}

const ERROR_RATIO = TEMPLATES['error-trigger'].metrics[0]!.provider.prometheus.query;

/** A background template on `service`: `count` measurements a minute apart, failing above `limit`, after `initialDelay`. */
function background(service: string, options: { count: number; limit: number; failureLimit: number; initialDelay?: string }) {
  return {
    templates: {
      ...TEMPLATES,
      slow: {
        args: [{ name: 'service' }],
        metrics: [
          {
            name: 'error-rate',
            interval: '1m',
            count: options.count,
            failureLimit: options.failureLimit,
            ...(options.initialDelay ? { initialDelay: options.initialDelay } : {}),
            successCondition: `result[0] <= ${options.limit}`,
            provider: { prometheus: { query: ERROR_RATIO } },
          },
        ],
      },
    },
    steps: [{ setWeight: 10 }, { pause: { duration: '3m' } }, { setWeight: 50 }],
    analysis: { templates: [{ templateName: 'slow' }], args: [{ name: 'service', value: service }], startingStep: 0 },
  };
}

type Output = {
  step: number | string;
  phase: string;
  stopped?: string;
  metrics: { planned?: number; count: number; message: string; measurements: { phase: string }[] }[];
};

describe('a background analysis stopped by the end of the walk', () => {
  test('is in the analysis output and the summary with measured against planned, and logged once', async () => {
    const ns = await namespace();
    const cfg = config('checkout', background('checkout', { count: 30, limit: 0.02, failureLimit: 0 }));
    const run = await runCanaryFlow(h, { namespace: ns, service: 'checkout', image: CANARY_IMAGE, config: cfg }, { runId: 'bg-stop-1' });
    expect(run.error).toBeUndefined();
    expect(run.outputs.result).toBe('promoted');
    expect(istioWeights(h.cluster, ns)).toEqual([100, 0]);
    const bg = (run.outputs.analysis as Output[]).find((a) => a.step === 'background')!;
    expect(bg).toBeDefined();
    expect(bg.stopped).toBe('the analysis was stopped (the canary walk ended)');
    expect(bg.phase).toBe('Successful');
    const metric = bg.metrics[0]!;
    expect(metric.planned).toBe(30);
    expect(metric.count).toBeGreaterThan(0);
    expect(metric.count).toBeLessThan(30);
    expect(metric.message).toMatch(
      new RegExp(`^${metric.count} of 30 planned measurements taken \\(${metric.count} Successful\\), within limits`),
    );
    const logs = run.reporter.messages('info').filter((m) => m.startsWith('Background analysis slow stopped'));
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(
      new RegExp(`error-rate took ${metric.count} of 30 planned measurements \\(${metric.count} Successful\\): Successful`),
    );
    expect(run.reporter.text()).not.toContain('without a failure');
    const summary = run.reporter.summaries.join('\n');
    expect(summary).toContain(`background analysis slow (stopped: ${metric.count}/30 measurements)`);
  });

  test('shows failed measurements that stayed within failureLimit, not "without a failure"', async () => {
    // payments' errors rise to 8% at T0 + 6 min: starting at T0 + 5 min, the 3-minute pause sees
    // them, and the walk is over long before failureLimit 20 is exceeded.
    const ns = await namespace();
    const cfg = config('checkout', background('payments', { count: 30, limit: 0.02, failureLimit: 20 }));
    const run = await runCanaryFlow(
      h,
      { namespace: ns, service: 'checkout', image: CANARY_IMAGE, config: cfg },
      { runId: 'bg-stop-2', clock: scaledClock(T0 + 5 * 60) },
    );
    expect(run.outputs.result).toBe('promoted');
    const bg = (run.outputs.analysis as Output[]).find((a) => a.step === 'background')!;
    const phases = bg.metrics[0]!.measurements.map((m) => m.phase);
    expect(bg.phase).toBe('Successful');
    const logs = run.reporter.messages('info').filter((m) => m.startsWith('Background analysis slow stopped'));
    expect(logs).toHaveLength(1);
    const failed = phases.filter((p) => p === 'Failed').length;
    expect(failed).toBeGreaterThan(0);
    expect(logs[0]).toContain(`${failed} Failed`);
    expect(bg.metrics[0]!.message).toContain(`${failed} Failed (failureLimit 20)`);
    expect(run.reporter.text()).not.toContain('without a failure');
  });

  test('says so when it took no measurement, and does not call that Successful', async () => {
    const ns = await namespace();
    const cfg = config('checkout', background('checkout', { count: 5, limit: 0.02, failureLimit: 0, initialDelay: '1h' }));
    const run = await runCanaryFlow(h, { namespace: ns, service: 'checkout', image: CANARY_IMAGE, config: cfg }, { runId: 'bg-stop-3' });
    expect(run.outputs.result).toBe('promoted');
    const bg = (run.outputs.analysis as Output[]).find((a) => a.step === 'background')!;
    expect(bg.phase).toBe('Inconclusive');
    expect(bg.metrics[0]).toMatchObject({
      count: 0,
      planned: 5,
      message: 'not measured: the analysis was stopped (the canary walk ended)',
    });
    expect(run.reporter.messages('info').filter((m) => m.startsWith('Background analysis slow stopped'))).toEqual([
      expect.stringMatching(/\(Inconclusive\): error-rate took no measurement\.$/),
    ]);
  });
});
