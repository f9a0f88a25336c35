import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sleep } from '../cluster/helpers.js';
import {
  CANARY_IMAGE,
  STABLE_IMAGE,
  T0,
  canaryRecord,
  gate,
  scaledClock,
  config,
  deploymentOf,
  istioWeights,
  journal,
  meshObjects,
  runCanaryFlow,
  startHarness,
  type Harness,
} from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

let n = 0;
async function namespace(): Promise<string> {
  const ns = `istio-${++n}`;
  await h.cluster.apply(meshObjects(ns));
  return ns;
}

/** Waits until the controllers are done with the fresh objects (their status stops changing). */
async function settled(ns: string): Promise<void> {
  for (let i = 0; i < 200 && deploymentOf(h.cluster, ns, 'checkout').ready < 4; i++) await sleep(10);
  await sleep(100);
}

describe('canary with Istio subsets', () => {
  test('a clean promotion walks every step, then the stable runs the new image with all traffic and the canary is at 0', async () => {
    const ns = await namespace();
    const run = await runCanaryFlow(
      h,
      { namespace: ns, service: 'checkout', image: CANARY_IMAGE, config: config('checkout') },
      { runId: 'clean-1' },
    );
    expect(run.error).toBeUndefined();
    expect(run.outputs).toMatchObject({ result: 'promoted', weight: 0, step: 9 });
    expect(istioWeights(h.cluster, ns)).toEqual([100, 0]);
    expect(deploymentOf(h.cluster, ns, 'checkout')).toMatchObject({ image: CANARY_IMAGE, replicas: 4, ready: 4 });
    expect(deploymentOf(h.cluster, ns, 'checkout-canary')).toMatchObject({ image: CANARY_IMAGE, replicas: 0 });
    const analyses = run.outputs.analysis as { step: number; phase: string; metrics: { measurements: { value: string }[] }[] }[];
    expect(analyses.map((a) => [a.step, a.phase])).toEqual([
      [2, 'Successful'],
      [5, 'Successful'],
    ]);
    expect(analyses[0]!.metrics[0]!.measurements[0]!.value).toBe('[0.001]');
    const steps = journal(h.cluster, ns).map((e) => `${e.step.split('#')[0]} ${e.status}`);
    expect(steps).toEqual([
      'canary-image applied',
      'canary-scale-up applied',
      'step-0-weight-10 applied',
      'step-3-weight-25 applied',
      'step-6-weight-50 applied',
      'step-8-weight-75 applied',
      'promote-stable-image applied',
      'promote-traffic applied',
      'promote-canary-scale-down applied',
    ]);
    expect(canaryRecord(h.cluster, ns)).toMatchObject({ state: 'promoted', image: CANARY_IMAGE, stableImage: STABLE_IMAGE });
    const summary = run.reporter.summaries.join('\n');
    expect(summary).toContain('| 1 | deploy canary');
    expect(summary).toMatch(/\| 2 \| setWeight 10 \| 10% \|/);
    expect(summary).toMatch(/\| analysis error-rate \| 10% \| [^|]+ \| [^|]+ \| 0\.001 \| passed \|/);
    expect(summary).toContain('xychart-beta');
    expect(summary).toContain('bar [0, 10, 10, 10, 25, 25, 25, 50, 50, 75, 100]');
    expect(summary).toContain('title "error-rate per step"');
  });

  test('an analysis failure at 25% aborts with the metric named: weights back to stable 100, canary scaled to 0', async () => {
    const ns = await namespace();
    // The gate at 10% measures healthy checkout; the gate at 25% measures payments after its errors rose to 8%.
    const run = await runCanaryFlow(
      h,
      { namespace: ns, service: 'checkout', image: CANARY_IMAGE, config: config('checkout', {}, 'payments') },
      { runId: 'fail-25', clock: scaledClock(T0 + 10 * 60) },
    );
    expect(run.error?.message).toMatch(
      /^Canary aborted: analysis error-rate at step 6 \(25%\) Failed: metric error-rate Failed with values \[0\.08\] \(successCondition result\[0\] < 0\.01\)/,
    );
    expect(run.outputs).toMatchObject({ result: 'aborted', weight: 0, step: 6 });
    expect(istioWeights(h.cluster, ns)).toEqual([100, 0]);
    expect(deploymentOf(h.cluster, ns, 'checkout-canary').replicas).toBe(0);
    expect(deploymentOf(h.cluster, ns, 'checkout').image).toBe(STABLE_IMAGE);
    expect(canaryRecord(h.cluster, ns)).toMatchObject({ state: 'aborted', stepIndex: 5 });
    const steps = journal(h.cluster, ns).map((e) => e.step.split('#')[0]);
    expect(steps).toContain('abort-traffic');
    expect(steps).not.toContain('step-6-weight-50');
    expect(run.reporter.summaries.join('\n')).toMatch(/\| analysis error-rate \| 25% \| [^|]+ \| [^|]+ \| 0\.08 \| failed \|/);
  });

  test('the background trigger aborts in the middle of a pause', async () => {
    const ns = await namespace();
    const cfg = config('search', {
      steps: [{ setWeight: 10 }, { pause: { duration: '2m' } }, { setWeight: 25 }, { pause: { duration: '30m' } }, { setWeight: 50 }],
      analysis: { templates: [{ templateName: 'error-trigger' }], args: [{ name: 'service', value: 'search' }], startingStep: 1 },
    });
    const run = await runCanaryFlow(h, { namespace: ns, service: 'checkout', image: CANARY_IMAGE, config: cfg }, { runId: 'bg-1' });
    expect(run.error?.message).toMatch(
      /^Canary aborted: background analysis error-trigger Failed: metric error-rate-2m: 1 failed measurement > failureLimit 0; last: successCondition is false: result\[0\] <= 0\.02$/,
    );
    expect(run.outputs).toMatchObject({ result: 'aborted', weight: 0 });
    // One of the two pauses: the scaled clock advances with API latency, so on a loaded machine the
    // breach is already visible during the first pause rather than the second.
    expect([2, 4]).toContain(run.outputs.step);
    expect(istioWeights(h.cluster, ns)).toEqual([100, 0]);
    expect(deploymentOf(h.cluster, ns, 'checkout-canary').replicas).toBe(0);
    const steps = journal(h.cluster, ns).map((e) => e.step.split('#')[0]);
    expect(steps).not.toContain('step-4-weight-50');
    const background = (
      run.outputs.analysis as { step: string; phase: string; metrics: { measurements: { value: string; phase: string }[] }[] }[]
    ).find((a) => a.step === 'background')!;
    expect(background.phase).toBe('Failed');
    const measurements = background.metrics[0]!.measurements;
    expect(measurements.at(-1)!.phase).toBe('Failed');
    expect(Number(/[\d.]+/.exec(measurements.at(-1)!.value)![0])).toBeGreaterThan(0.02);
    // Held far less than the pause: the trigger cut it short.
    const summary = run.reporter.summaries.join('\n');
    if (run.outputs.step === 4) {
      expect(measurements.filter((m) => m.phase === 'Successful').length).toBeGreaterThan(3);
      expect(summary).toMatch(/\| pause 30m \| 25% \| [^|]+ \| (\d+s|[1-9]m \d\ds) \|/);
    } else {
      expect(summary).toMatch(/\| pause 2m \| 10% \| [^|]+ \| (\d+s|1m \d\ds) \|/);
    }
  });

  test('an indefinite pause ends the run paused; a second run with action promote continues from there', async () => {
    const ns = await namespace();
    const cfg = config('checkout', { steps: [{ setWeight: 10 }, { pause: {} }, { setWeight: 50 }, { pause: { duration: '1m' } }] });
    const first = await runCanaryFlow(h, { namespace: ns, service: 'checkout', image: CANARY_IMAGE, config: cfg }, { runId: 'pause-1' });
    expect(first.error).toBeUndefined();
    expect(first.outputs).toMatchObject({ result: 'paused', weight: 10, step: 2 });
    expect(istioWeights(h.cluster, ns)).toEqual([90, 10]);
    expect(canaryRecord(h.cluster, ns)).toMatchObject({ state: 'paused', stepIndex: 1, weight: 10, runId: 'pause-1' });

    // A second start from another run is refused while this one is paused, and changes nothing.
    const other = await runCanaryFlow(
      h,
      { namespace: ns, service: 'checkout', image: 'registry.example.com/checkout:2.0.0', config: cfg },
      { runId: 'other-1' },
    );
    // The refused run still sets result (issue 15: every run writes result).
    expect(other.outputs.result).toBe('failed');
    expect(other.error!.message).toMatch(
      /A canary of registry.example.com\/checkout:1.1.0 \(release pause-1, started by run pause-1\) is paused at step 2 with 10% of traffic: promote it/,
    );
    expect(istioWeights(h.cluster, ns)).toEqual([90, 10]);

    const second = await runCanaryFlow(h, { namespace: ns, service: 'checkout', action: 'promote', config: cfg }, { runId: 'promote-1' });
    expect(second.error).toBeUndefined();
    expect(second.outputs).toMatchObject({ result: 'promoted', weight: 0, step: 4 });
    expect(second.reporter.messages('info').join('\n')).toContain(
      'Continuing the canary of registry.example.com/checkout:1.1.0 from step 3 (it was paused at step 2)',
    );
    expect(istioWeights(h.cluster, ns)).toEqual([100, 0]);
    expect(deploymentOf(h.cluster, ns, 'checkout').image).toBe(CANARY_IMAGE);
    const entries = journal(h.cluster, ns).map((e) => `${e.runId} ${e.step.split('#')[0]}`);
    expect(entries).toEqual([
      'pause-1 canary-image',
      'pause-1 canary-scale-up',
      'pause-1 step-0-weight-10',
      'promote-1 step-2-weight-50',
      'promote-1 promote-stable-image',
      'promote-1 promote-traffic',
      'promote-1 promote-canary-scale-down',
    ]);
    // Nothing left to promote.
    const again = await runCanaryFlow(h, { namespace: ns, service: 'checkout', action: 'promote', config: cfg }, { runId: 'promote-2' });
    expect(again.outputs.result).toBe('failed');
    expect(again.error!.message).toMatch(
      /Nothing to promote: the last canary \(registry.example.com\/checkout:1.1.0\) was promoted by run promote-1/,
    );
  });

  test('an Inconclusive analysis pauses the canary at its weight (as Argo does): the step fails, and every report says paused, inconclusive, where', async () => {
    const ns = await namespace();
    // No series for service "ghost": the gate measures no data, which is Inconclusive.
    const cfg = config('checkout', { steps: [{ setWeight: 10 }, gate('ghost'), { setWeight: 50 }] });
    const run = await runCanaryFlow(
      h,
      { namespace: ns, service: 'checkout', image: CANARY_IMAGE, config: cfg },
      { runId: 'inconclusive-1' },
    );
    expect(run.outputs).toMatchObject({ result: 'paused', weight: 10, step: 2 });
    expect(run.error!.message).toMatch(
      /^inconclusive at step 2 of 3, 10% on canary: analysis error-rate at step 2 \(10%\) Inconclusive: .*Next: action: promote, or action: abort\.$/,
    );
    const summary = run.reporter.summaries.join('\n');
    expect(summary).toContain('| Result | Paused |');
    expect(summary).toContain('inconclusive at step 2 of 3, 10% on canary');
    expect(istioWeights(h.cluster, ns)).toEqual([90, 10]);
    expect(canaryRecord(h.cluster, ns)).toMatchObject({ state: 'paused', stepIndex: 1 });
  });

  test('an abort by hand sends traffic back to stable and scales the canary to 0; status reports without writing', async () => {
    const ns = await namespace();
    const cfg = config('checkout', { steps: [{ setWeight: 25 }, { pause: {} }, { setWeight: 50 }] });
    await runCanaryFlow(h, { namespace: ns, service: 'checkout', image: CANARY_IMAGE, config: cfg }, { runId: 'abort-start' });
    expect(istioWeights(h.cluster, ns)).toEqual([75, 25]);

    const writesBefore = h.cluster.requests.filter((r) => r.method !== 'GET').length;
    const status = await runCanaryFlow(h, { namespace: ns, service: 'checkout', action: 'status', config: cfg }, { runId: 'status-1' });
    expect(status.outputs).toMatchObject({ result: 'paused', weight: 25, step: 2 });
    expect(status.reporter.summaries.join('\n')).toContain('Canary status of checkout: paused');
    expect(h.cluster.requests.filter((r) => r.method !== 'GET').length).toBe(writesBefore);

    const abort = await runCanaryFlow(h, { namespace: ns, service: 'checkout', action: 'abort', config: cfg }, { runId: 'abort-1' });
    expect(abort.error).toBeUndefined();
    expect(abort.outputs).toMatchObject({ result: 'aborted', weight: 0 });
    expect(istioWeights(h.cluster, ns)).toEqual([100, 0]);
    expect(deploymentOf(h.cluster, ns, 'checkout-canary').replicas).toBe(0);
    expect(deploymentOf(h.cluster, ns, 'checkout').image).toBe(STABLE_IMAGE);
    expect(canaryRecord(h.cluster, ns)).toMatchObject({ state: 'aborted', runId: 'abort-1' });
    // An aborted canary can be started again.
    const restart = await runCanaryFlow(
      h,
      { namespace: ns, service: 'checkout', image: CANARY_IMAGE, config: cfg },
      { runId: 'abort-start' },
    );
    expect(restart.outputs).toMatchObject({ result: 'paused', weight: 25 });
  });

  test('a canary that never becomes ready is aborted before any traffic moves', async () => {
    const ns = await namespace();
    const vsBefore = h.cluster.get('networking.istio.io/v1', 'VirtualService', ns, 'checkout').metadata.resourceVersion;
    const run = await runCanaryFlow(
      h,
      {
        namespace: ns,
        service: 'checkout',
        image: 'registry.example.com/checkout:fail-rollout',
        config: config('checkout'),
        'rollout-timeout': '20s',
      },
      { runId: 'never-ready' },
    );
    expect(run.error?.message).toMatch(
      /^Canary aborted: while deploying the canary: Deployment istio-\d+\/checkout-canary: rollout failed: ProgressDeadlineExceeded/,
    );
    expect(run.outputs).toMatchObject({ result: 'aborted', weight: 0, step: 0 });
    expect(h.cluster.get('networking.istio.io/v1', 'VirtualService', ns, 'checkout').metadata.resourceVersion).toBe(vsBefore);
    expect(istioWeights(h.cluster, ns)).toEqual([100, 0]);
    expect(deploymentOf(h.cluster, ns, 'checkout-canary').replicas).toBe(0);
    expect(journal(h.cluster, ns).some((e) => e.change.kind === 'traffic')).toBe(false);
  });

  test('a dry run reads and plans, and changes no object', async () => {
    const ns = await namespace();
    const versions = () =>
      [
        h.cluster.get('networking.istio.io/v1', 'VirtualService', ns, 'checkout'),
        h.cluster.get('apps/v1', 'Deployment', ns, 'checkout'),
        h.cluster.get('apps/v1', 'Deployment', ns, 'checkout-canary'),
      ].map((o) => o.metadata.resourceVersion);
    await settled(ns);
    const before = versions();
    const run = await runCanaryFlow(
      h,
      { namespace: ns, service: 'checkout', image: CANARY_IMAGE, config: config('checkout'), 'dry-run': 'true' },
      { runId: 'dry-1' },
    );
    expect(run.error).toBeUndefined();
    expect(run.outputs).toMatchObject({ result: 'planned' });
    expect(versions()).toEqual(before);
    for (const name of ['pd-state-checkout', 'pd-canary-checkout', 'pd-lock-checkout']) {
      expect(h.cluster.get('v1', 'ConfigMap', ns, name)).toBeUndefined();
    }
    expect(h.cluster.get('coordination.k8s.io/v1', 'Lease', ns, 'pd-lock-checkout')).toBeUndefined();
    const plan = run.reporter.messages('info').filter((m) => m.startsWith('[dry run]'));
    expect(plan).toContainEqual(
      expect.stringMatching(
        /would step-3-weight-25#\w+: VirtualService istio-\d+\/checkout weights \{"stable":100,"canary":0\} -> \{"stable":75,"canary":25\}/,
      ),
    );
    expect(plan).toContainEqual(expect.stringMatching(/would run analysis error-rate/));
  });
});
