import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { InputError } from '../../src/core/config/input-error.js';
import { canaryConfigJsonSchemaText, parseCanaryConfig } from '../../src/core/canary/index.js';
import { CANARY_IMAGE, TEMPLATES, config, meshObjects, runCanaryFlow, startHarness, type Harness } from './harness.js';

const parse = (doc: unknown) => () => parseCanaryConfig(doc, 'deploy/canary.yaml');

describe('canary config', () => {
  test('the committed JSON schema is the one generated from the zod schema (regenerate: npm run build)', async () => {
    const committed = await readFile(new URL('../../actions/canary/config.schema.json', import.meta.url), 'utf8');
    expect(committed).toBe(canaryConfigJsonSchemaText());
    const schema = JSON.parse(committed);
    expect(Object.keys(schema.properties)).toEqual(['routing', 'workloads', 'templates', 'steps', 'analysis']);
    expect(schema.required).toEqual(['routing', 'steps']);
  });

  test('the seeds shape parses: steps in Argo vocabulary, templates merged per analysis, a background analysis', () => {
    const parsed = parseCanaryConfig(
      config('checkout', {
        analysis: { templates: [{ templateName: 'error-trigger' }], args: [{ name: 'service', value: 'checkout' }], startingStep: 2 },
      }),
      'deploy/canary.yaml',
    );
    expect(parsed.steps.map((s) => s.kind)).toEqual([
      'setWeight',
      'pause',
      'analysis',
      'setWeight',
      'pause',
      'analysis',
      'setWeight',
      'pause',
      'setWeight',
    ]);
    expect(parsed.steps[1]).toEqual({ kind: 'pause', durationMs: 120_000 });
    expect(parsed.background).toMatchObject({ name: 'error-trigger', startingStep: 2, args: { service: 'checkout' } });
    expect(
      parseCanaryConfig(
        'routing: { replicaRatio: {} }\nworkloads: { stable: a, canary: b }\nsteps: [{ setWeight: "25%" }, { pause: { duration: 30 } }]',
        'x',
      ).steps,
    ).toEqual([
      { kind: 'setWeight', weight: 25 },
      { kind: 'pause', durationMs: 30_000 },
    ]);
  });

  test.each([
    ['a weight above 100', { steps: [{ setWeight: 150 }] }, "'steps.0.setWeight': expected a whole percentage from 0 to 100; given: 150"],
    [
      'a step with two kinds',
      { steps: [{ setWeight: 10, pause: {} }] },
      "'steps.0': a step is exactly one of setWeight, pause or analysis, not setWeight and pause",
    ],
    ['an unknown step key', { steps: [{ setWieght: 10 }] }, "'steps.0': unknown key 'setWieght' (check the spelling)"],
    [
      'a bad pause duration',
      { steps: [{ pause: { duration: '10 minutes' } }] },
      "'steps.0.pause.duration': expected a duration such as 30s, 10m or 1h",
    ],
    [
      'an unknown template',
      { steps: [{ analysis: { templates: [{ templateName: 'latency' }] } }] },
      "'steps.0.analysis.templates.0.templateName': no template 'latency' under templates (defined: error-rate, error-trigger)",
    ],
    [
      'two routers',
      { routing: { istio: { virtualService: 'a' }, argo: { rollout: 'b' } } },
      "'routing': expected exactly one router (istio, gateway, replicaRatio or argo), found istio, argo",
    ],
    ['no workloads for a mesh router', { workloads: undefined }, "'workloads': is required"],
    [
      'workloads with argo',
      { routing: { argo: { rollout: 'checkout' } } },
      "'workloads': remove workloads: with routing.argo the Rollout is the workload",
    ],
    [
      'falling weights with argo',
      { routing: { argo: { rollout: 'c' } }, workloads: undefined, steps: [{ setWeight: 50 }, { setWeight: 25 }] },
      "'steps.1.setWeight': with routing.argo the weights must rise",
    ],
    [
      'startingStep past the steps',
      { steps: [{ setWeight: 10 }], analysis: { templates: [{ templateName: 'error-trigger' }], startingStep: 3 } },
      "'analysis.startingStep': expected a step index below 1 (there are 1 steps)",
    ],
  ])('%s is an InputError naming its path', (_, overrides, message) => {
    const doc = { ...config('checkout'), ...overrides };
    expect(parse(doc)).toThrow(InputError);
    expect(parse(doc)).toThrow(message);
    expect(parse(doc)).toThrow(/config deploy\/canary.yaml/);
  });

  test('a broken metric template names the template and the path inside it', () => {
    const templates = {
      ...TEMPLATES,
      latency: { metrics: [{ name: 'p95', successCondition: 'result[0] <', provider: { prometheus: { query: 'up' } } }] },
    };
    expect(parse({ ...config('checkout'), templates })).toThrow(
      /Invalid config deploy\/canary.yaml, templates.latency:\n {2}- 'metrics.0.successCondition': does not parse: unexpected end of condition/,
    );
  });

  test('a step analysis whose metric measures forever needs a duration', () => {
    const steps = [{ analysis: { templates: [{ templateName: 'error-trigger' }], args: [{ name: 'service', value: 'x' }] } }];
    expect(parse({ ...config('checkout'), steps })).toThrow(
      "config deploy/canary.yaml, steps.0.analysis: metric 'error-rate-2m' has an interval but no count, so the step would never end: give the metric a count, or the step a duration",
    );
  });
});

describe('a config error changes nothing on the cluster', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    await h.cluster.apply(meshObjects('bad'));
  });
  afterAll(async () => {
    await h?.stop();
  });

  test('bad config, missing analysis args and a missing image are refused before any request', async () => {
    h.cluster.resetRequests();
    const bad = { ...config('checkout'), steps: [{ setWeight: 10 }, { setWeight: 101 }] };
    await expect(
      runCanaryFlow(h, { namespace: 'bad', service: 'checkout', image: CANARY_IMAGE, config: bad }, { runId: 'bad-1' }),
    ).rejects.toThrow(/^Invalid config input:\n {2}- 'steps.1.setWeight': expected a whole percentage from 0 to 100; given: 101$/);
    const noArgs = { ...config('checkout'), steps: [{ setWeight: 10 }, { analysis: { templates: [{ templateName: 'error-rate' }] } }] };
    await expect(
      runCanaryFlow(h, { namespace: 'bad', service: 'checkout', image: CANARY_IMAGE, config: noArgs }, { runId: 'bad-2' }),
    ).rejects.toThrow("config input, steps.1.analysis (error-rate): args: the template needs a value for 'service'");
    await expect(
      runCanaryFlow(h, { namespace: 'bad', service: 'checkout', config: config('checkout') }, { runId: 'bad-3' }),
    ).rejects.toThrow("'image': is required with action: start");
    expect(h.cluster.requests).toEqual([]);
  });
});
