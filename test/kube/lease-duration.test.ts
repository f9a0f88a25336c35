import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runDeliverySession } from '../../src/core/delivery/session.js';
import { blueGreenSpec } from '../../src/core/specs/blue-green.js';
import { canarySpec } from '../../src/core/specs/canary.js';
import { rollbackSpec } from '../../src/core/specs/rollback.js';
import { parseInputs } from '../../src/core/specs/spec.js';
import { flowContext } from '../rollback/harness.js';
import { startHarness, type KubeHarness } from './harness.js';

/**
 * `lease-duration` sets how long the service's Lease outlives its run's last renewal: how long a
 * run that died blocks the next one. Checked on blue-green, canary and rollback (one shared input).
 */
let h: KubeHarness;
beforeAll(async () => {
  h = await startHarness();
  await h.cluster.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
});
afterAll(async () => {
  await h?.close();
});

const base = { namespace: 'shop', service: 'checkout' };

describe('lease-duration', () => {
  test('defaults to 60s, takes 15s to 10m, and refuses anything else naming the input and the range', () => {
    const actions = [
      { spec: blueGreenSpec, raw: { ...base, router: 'istio' } },
      { spec: canarySpec, raw: { ...base, config: 'canary.yaml' } },
      { spec: rollbackSpec, raw: base },
    ];
    for (const { spec, raw } of actions) {
      expect(parseInputs(spec, raw)['lease-duration']).toBe(60_000);
      expect(parseInputs(spec, { ...raw, 'lease-duration': '2m' })['lease-duration']).toBe(120_000);
      expect(() => parseInputs(spec, { ...raw, 'lease-duration': '5s' })).toThrow(/'lease-duration': expected 15s to 10m/);
      expect(() => parseInputs(spec, { ...raw, 'lease-duration': '1h' })).toThrow(/'lease-duration': expected 15s to 10m/);
      expect(() => parseInputs(spec, { ...raw, 'lease-duration': 'soon' })).toThrow(/'lease-duration': expected a duration/);
    }
  });

  test("a run's Lease carries it, so a dead run blocks the next one that long", async () => {
    const inputs = { ...parseInputs(rollbackSpec, { ...base, 'lease-duration': '20s' }), kubeconfig: undefined };
    let during: { holderIdentity?: string; leaseDurationSeconds?: number } | undefined;
    await runDeliverySession({ inputs, strategy: 'rollback', context: flowContext('run-lease-1'), client: h.client }, async () => {
      during = h.cluster.get('coordination.k8s.io/v1', 'Lease', 'shop', 'pd-lock-checkout')?.spec;
      return { outcome: 'succeeded', result: 'done', outputs: {} };
    });
    expect(during).toMatchObject({ holderIdentity: 'run-lease-1', leaseDurationSeconds: 20 });
  });
});
