import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { deployment } from '../cluster/helpers.js';
import { rollBack } from '../rollback/harness.js';
import {
  colorDeployments,
  hostOf,
  hostsInputs,
  journal,
  runFlow,
  settled,
  startBlueGreenHarness,
  testContext,
  type BlueGreenHarness,
} from './harness.js';

/**
 * Someone inserts a route in front of ours while a blue-green switch is between two steps (a
 * header-matched debug route, as people do: Istio evaluates HTTP routes in order and the first
 * match wins, istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPRoute). The run
 * must complete on the route it started on, or end with traffic back where it started; and the
 * rollback afterwards must always get that route back to 100/0. The insert happens from a hook on
 * the run's log: right after "Step 1/3" is reported, before the next write.
 */
let h: BlueGreenHarness;
beforeAll(async () => {
  h = await startBlueGreenHarness();
});
afterAll(async () => {
  await h?.close();
});

type Http = { name?: string; match?: unknown; route: { destination: { host: string }; weight?: number }[] };
const vs = (service: string, http: Http[]) => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name: service, namespace: 'shop' },
  spec: { hosts: [`${service}.example.com`], http },
});
const split = (service: string, blue: number, extra: Partial<Http> = {}): Http => ({
  ...extra,
  route: [
    { destination: { host: hostOf(service, 'blue') }, weight: blue },
    { destination: { host: hostOf(service, 'green') }, weight: 100 - blue },
  ],
});
const DEBUG = { match: [{ headers: { 'x-debug': { exact: '1' } } }] };
const liveRoutes = (service: string) =>
  (h.cluster.get('networking.istio.io/v1', 'VirtualService', 'shop', service).spec.http as Http[]).map((r) => ({
    name: r.name,
    weights: r.route.map((d) => d.weight),
  }));

/** The inputs with `route-rule` empty: "the first HTTP route", the case of the issue. */
function rawInputs(service: string, extra: Record<string, string> = {}): Record<string, string> {
  const { 'route-rule': _chosen, ...raw } = hostsInputs(service, { steps: '10,50,100', 'pre-switch-analysis': 'false', ...extra });
  return raw;
}

/**
 * Runs the switch; once step 1 is written, `change` is applied to the VirtualService (synchronously,
 * before step 2), and `fail` (when given) is thrown from there, as an error mid-switch.
 */
async function switchWithChange(
  service: string,
  runId: string,
  change: (service: string) => object,
  options: { fail?: string; extra?: Record<string, string> } = {},
) {
  const context = testContext(runId);
  const info = context.reporter.info.bind(context.reporter);
  context.reporter.info = (message: string) => {
    info(message);
    if (!message.startsWith('Step 1/3:')) return;
    void h.cluster.apply(change(service));
    if (options.fail) throw new Error(options.fail);
  };
  return runFlow(h, rawInputs(service, options.extra), runId, { context }).catch((error: unknown) => ({ error, context }));
}

/** Why a run failed: a FlowFailure's message (the run set result), or an error it threw. */
function failureOf(run: { error?: unknown; failure?: Error }): string {
  return run.failure?.message ?? (run.error instanceof Error ? run.error.message : String(run.error ?? ''));
}

async function setUp(service: string, http: Http[]) {
  await h.cluster.apply([...colorDeployments(service), vs(service, http)]);
  await settled(h, ['shop-blue', service], ['shop-green', service]);
}

describe('a route inserted in front between two steps', () => {
  test('unnamed route, and the inserted one holds the same destinations: the run completes on its own route; rollback gets it back to 100/0', async () => {
    const service = 'ins-a';
    await setUp(service, [split(service, 100)]);
    const run = await switchWithChange(service, 'run-ins-a', (s) => vs(s, [split(s, 30, DEBUG), split(s, 90)]));
    expect('outputs' in run && run.outputs.result).toBe('switched');
    // The job summary opens with its headline, then the switch's details.
    expect(run.context.reporter.summaries[0]).toMatch(/^## ✅ /);
    expect(run.context.reporter.summaries[1]).toMatch(/^### Blue-green switch: switched/);
    // The debug route in front is untouched; ours took every step.
    expect(liveRoutes(service)).toEqual([
      { name: undefined, weights: [30, 70] },
      { name: undefined, weights: [0, 100] },
    ]);
    const recorded = (await journal(h, 'shop', service)).filter((e) => e.change.kind === 'traffic');
    expect(recorded.map((e) => e.change.kind === 'traffic' && e.change.router)).toEqual(
      recorded.map(() => expect.objectContaining({ pin: { destinations: [hostOf(service, 'blue'), hostOf(service, 'green')] } })),
    );

    const back = await rollBack(h.cluster, { namespace: 'shop', service });
    expect(back.failure).toBeUndefined();
    expect(back.outputs.result).toBe('rolled-back');
    expect(liveRoutes(service)).toEqual([
      { name: undefined, weights: [30, 70] },
      { name: undefined, weights: [100, 0] },
    ]);
  });

  test('named route, a one-destination debug route in front: completes on "primary"; rollback gets it back to 100/0', async () => {
    const service = 'ins-b';
    await setUp(service, [split(service, 100, { name: 'primary' })]);
    const debug: Http = { name: 'debug', ...DEBUG, route: [{ destination: { host: hostOf(service, 'green') } }] };
    const run = await switchWithChange(service, 'run-ins-b', (s) => vs(s, [debug, split(s, 90, { name: 'primary' })]));
    expect('outputs' in run && run.outputs.result).toBe('switched');
    expect(liveRoutes(service)).toEqual([
      { name: 'debug', weights: [undefined] },
      { name: 'primary', weights: [0, 100] },
    ]);
    const back = await rollBack(h.cluster, { namespace: 'shop', service });
    expect(back.outputs.result).toBe('rolled-back');
    expect(liveRoutes(service)[1]).toEqual({ name: 'primary', weights: [100, 0] });
  });

  test('the route renamed mid-run: the run fails naming what was recorded and what is there; rollback with route-rule gets to 100/0', async () => {
    const service = 'ins-c';
    await setUp(service, [split(service, 100, { name: 'primary' })]);
    const run = await switchWithChange(service, 'run-ins-c', (s) => vs(s, [split(s, 90, { name: 'main' })]));
    expect(failureOf(run)).toContain('"primary", cannot be found');
    expect('outputs' in run && run.outputs.result).toBe('failed');
    const log = run.context.reporter.entries.map((e) => e.message).join('\n');
    expect(log).toContain(
      `VirtualService shop/${service}: the HTTP route recorded at the start of the run, "primary", cannot be found: no route is named "primary" any more. Its HTTP routes now are "main" (${hostOf(service, 'blue')}, ${hostOf(service, 'green')})`,
    );
    // Nothing wrote to another route: "main" still holds step 1's split.
    expect(liveRoutes(service)).toEqual([{ name: 'main', weights: [90, 10] }]);

    const refused = await rollBack(h.cluster, { namespace: 'shop', service });
    expect(refused.outputs.result).toBe('failed');
    expect(refused.log).toContain('"primary", cannot be found');
    expect(liveRoutes(service)).toEqual([{ name: 'main', weights: [90, 10] }]);

    const back = await rollBack(h.cluster, { namespace: 'shop', service }, { 'route-rule': 'main' });
    expect(back.failure).toBeUndefined();
    expect(back.outputs.result).toBe('rolled-back');
    expect(liveRoutes(service)).toEqual([{ name: 'main', weights: [100, 0] }]);
  });

  test('an error after the insert: the switch-back puts its own route back where it started', async () => {
    const service = 'ins-e';
    await setUp(service, [split(service, 100)]);
    const run = await switchWithChange(service, 'run-ins-e', (s) => vs(s, [split(s, 30, DEBUG), split(s, 90)]), {
      fail: 'the network went away',
    });
    expect(failureOf(run)).toContain('the network went away');
    expect(liveRoutes(service)).toEqual([
      { name: undefined, weights: [30, 70] },
      { name: undefined, weights: [100, 0] },
    ]);
    const back = await rollBack(h.cluster, { namespace: 'shop', service });
    expect(back.outputs.result).toBe('nothing-to-do');
    expect(liveRoutes(service)[1]).toEqual({ name: undefined, weights: [100, 0] });
  });

  test('a re-run of the same run id keeps the route its first attempt recorded', async () => {
    const service = 'ins-d';
    await setUp(service, [split(service, 100)]);
    // The first attempt dies after step 1 and leaves traffic where it is (auto-rollback off).
    // Meanwhile a copy of our route with a header match goes in front; its weights say nothing of ours.
    const first = await switchWithChange(service, 'run-ins-d', (s) => vs(s, [split(s, 50, DEBUG), split(s, 90)]), {
      fail: 'runner lost',
      extra: { 'auto-rollback': 'false' },
    });
    expect(failureOf(first)).toContain('runner lost');
    expect(liveRoutes(service)[1]).toEqual({ name: undefined, weights: [90, 10] });
    const second = await runFlow(h, rawInputs(service), 'run-ins-d');
    expect(second.outputs.result).toBe('switched');
    expect(liveRoutes(service)).toEqual([
      { name: undefined, weights: [50, 50] },
      { name: undefined, weights: [0, 100] },
    ]);
    const back = await rollBack(h.cluster, { namespace: 'shop', service });
    expect(back.outputs.result).toBe('rolled-back');
    expect(liveRoutes(service)).toEqual([
      { name: undefined, weights: [50, 50] },
      { name: undefined, weights: [100, 0] },
    ]);
  });

  test('Gateway API: an unnamed rule, a debug rule with the same backendRefs inserted in front; rollback gets it back to 100/0', async () => {
    const service = 'ins-gw';
    const rules = (...weights: { blue: number; matches?: object[] }[]) => ({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: service, namespace: 'shop' },
      spec: {
        parentRefs: [{ name: 'web' }],
        rules: weights.map((w) => ({
          ...(w.matches ? { matches: w.matches } : {}),
          backendRefs: [
            { name: `${service}-blue`, port: 80, weight: w.blue },
            { name: `${service}-green`, port: 80, weight: 100 - w.blue },
          ],
        })),
      },
    });
    const liveRules = () =>
      (
        h.cluster.get('gateway.networking.k8s.io/v1', 'HTTPRoute', 'shop', service).spec.rules as { backendRefs: { weight: number }[] }[]
      ).map((r) => r.backendRefs.map((b) => b.weight));
    const colors = ['blue', 'green'].map((c) => {
      const d = deployment(`${service}-${c}`, 'app:1', 1);
      d.metadata.namespace = 'shop';
      return d;
    });
    await h.cluster.apply([...colors, rules({ blue: 100 })]);
    await settled(h, ['shop', `${service}-blue`], ['shop', `${service}-green`]);
    const raw = {
      namespace: 'shop',
      service,
      router: 'gateway',
      blue: `${service}-blue`,
      green: `${service}-green`,
      steps: '10,50,100',
      'pre-switch-analysis': 'false',
    };
    const context = testContext('run-ins-gw');
    const info = context.reporter.info.bind(context.reporter);
    const debug = [{ headers: [{ name: 'x-debug', value: '1' }] }];
    context.reporter.info = (message: string) => {
      info(message);
      if (message.startsWith('Step 1/3:')) void h.cluster.apply(rules({ blue: 30, matches: debug }, { blue: 90 }));
    };
    const run = await runFlow(h, raw, 'run-ins-gw', { context });
    expect(run.outputs.result).toBe('switched');
    expect(liveRules()).toEqual([
      [30, 70],
      [0, 100],
    ]);
    const back = await rollBack(h.cluster, { namespace: 'shop', service });
    expect(back.outputs.result).toBe('rolled-back');
    expect(liveRules()).toEqual([
      [30, 70],
      [100, 0],
    ]);
  });
});
