/**
 * API discovery for the custom resources the routers use: a kind the cluster does not serve (its
 * CRD missing, or only other versions served) is named with the versions served, not reported as
 * the object being "not found". Discovery is asked as kubectl asks it (/apis/<group>/<version>,
 * then /apis), from the test cluster's real discovery documents.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { getCustomObject, KindNotServedError, VIRTUAL_SERVICE } from '../../src/core/kube/custom-resources.js';
import { KubeApiError } from '../../src/core/kube/errors.js';
import { startHarness, type KubeHarness } from '../kube/harness.js';

let h: KubeHarness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

describe('custom resources the cluster does not serve', () => {
  test('a version that is not served: the served versions are named', async () => {
    const error = await failure(getCustomObject(h.client, { ...VIRTUAL_SERVICE, version: 'v1alpha3' }, 'shop', 'checkout'));
    expect(error).toBeInstanceOf(KindNotServedError);
    expect(error.message).toBe(
      "VirtualService shop/checkout: the cluster does not serve networking.istio.io/v1alpha3; it serves networking.istio.io/v1, networking.istio.io/v1beta1, so the VirtualService CRD (virtualservices.networking.istio.io) is older or newer than this action expects; the canary config's routing.istio.apiVersion picks networking.istio.io/v1beta1 for Istio before 1.22",
    );
  });

  test('a group that is not served at all: the CRD is named as missing', async () => {
    const kind = { kind: 'TrafficSplit', group: 'split.smi-spec.io', version: 'v1alpha2', plural: 'trafficsplits' };
    const error = await failure(getCustomObject(h.client, kind, 'shop', 'checkout'));
    expect(error).toBeInstanceOf(KindNotServedError);
    expect(error.message).toBe('TrafficSplit shop/checkout: the cluster does not serve split.smi-spec.io at all: the TrafficSplit CRD (trafficsplits.split.smi-spec.io) is missing');
  });

  test('a served kind whose object is missing is still "not found"', async () => {
    const error = await failure(getCustomObject(h.client, VIRTUAL_SERVICE, 'shop', 'nothing-here'));
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as KubeApiError).status).toBe(404);
    expect(error.message).toMatch(/^get VirtualService shop\/nothing-here: 404 NotFound/);
  });
});
