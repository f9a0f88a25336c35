/**
 * API discovery for the custom resources the routers use: a kind the cluster does not serve (its
 * CRD missing, or only other versions served) is named with the versions served, not reported as
 * the object being "not found". Discovery is asked as kubectl asks it (/apis/<group>/<version>,
 * then /apis), from the test cluster's real discovery documents.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DESTINATION_RULE, getCustomObject, KindNotServedError, VIRTUAL_SERVICE } from '../../src/core/kube/custom-resources.js';
import { KubeClient } from '../../src/core/kube/client.js';
import { HttpRouteRouter } from '../../src/core/kube/routers/gateway-httproute.js';
import { IstioVirtualServiceRouter } from '../../src/core/kube/routers/istio-virtual-service.js';
import { startTestCluster } from '../cluster/server.js';
import { KubeApiError } from '../../src/core/kube/errors.js';
import { startHarness, type KubeHarness } from '../kube/harness.js';
import { failure } from './support.js';

let h: KubeHarness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

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
    expect(error.message).toBe(
      'TrafficSplit shop/checkout: the cluster does not serve split.smi-spec.io at all: the TrafficSplit CRD (trafficsplits.split.smi-spec.io) is missing',
    );
  });

  test('a served kind whose object is missing is still "not found"', async () => {
    const error = await failure(getCustomObject(h.client, VIRTUAL_SERVICE, 'shop', 'nothing-here'));
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as KubeApiError).status).toBe(404);
    expect(error.message).toMatch(/^get VirtualService shop\/nothing-here: 404 NotFound/);
  });
});

describe('clusters without the CRDs, or with older versions only (omitApis)', () => {
  test('Istio serving only networking.istio.io/v1beta1: the router names the versions served; at v1beta1 it works', async () => {
    const cluster = await startTestCluster({ omitApis: ['networking.istio.io/v1'] });
    try {
      await cluster.apply({
        apiVersion: 'networking.istio.io/v1beta1',
        kind: 'VirtualService',
        metadata: { name: 'web', namespace: 'shop' },
        spec: {
          hosts: ['web'],
          http: [
            {
              route: [
                { destination: { host: 'web-blue' }, weight: 100 },
                { destination: { host: 'web-green' }, weight: 0 },
              ],
            },
          ],
        },
      });
      const client = KubeClient.fromKubeconfig({ kubeconfig: cluster.kubeconfig });
      const v1 = new IstioVirtualServiceRouter(client, { namespace: 'shop', name: 'web', destinations: ['web-blue', 'web-green'] });
      const error = await failure(v1.read());
      expect(error).toBeInstanceOf(KindNotServedError);
      expect(error.message).toBe(
        "VirtualService shop/web: the cluster does not serve networking.istio.io/v1; it serves networking.istio.io/v1beta1, so the VirtualService CRD (virtualservices.networking.istio.io) is older or newer than this action expects; the canary config's routing.istio.apiVersion picks networking.istio.io/v1beta1 for Istio before 1.22",
      );
      // The DestinationRule, which the router reads for subsets, gets the same answer instead of "not found".
      expect((await failure(getCustomObject(client, DESTINATION_RULE, 'shop', 'web'))).message).toMatch(
        /^DestinationRule shop\/web: the cluster does not serve networking.istio.io\/v1; it serves networking.istio.io\/v1beta1/,
      );
      const v1beta1 = new IstioVirtualServiceRouter(client, {
        namespace: 'shop',
        name: 'web',
        destinations: ['web-blue', 'web-green'],
        apiVersion: 'networking.istio.io/v1beta1',
      });
      expect(await v1beta1.read()).toEqual({ 'web-blue': 100, 'web-green': 0 });
    } finally {
      await cluster.stop();
    }
  });

  test('no Gateway API at all, or only gateway.networking.k8s.io/v1beta1: the HTTPRoute CRD is named', async () => {
    for (const [omit, message] of [
      [
        'gateway.networking.k8s.io',
        'HTTPRoute shop/web: the cluster does not serve gateway.networking.k8s.io at all: the HTTPRoute CRD (httproutes.gateway.networking.k8s.io) is missing (are the Gateway API CRDs installed?)',
      ],
      [
        'gateway.networking.k8s.io/v1',
        'HTTPRoute shop/web: the cluster does not serve gateway.networking.k8s.io/v1; it serves gateway.networking.k8s.io/v1beta1, so the HTTPRoute CRD (httproutes.gateway.networking.k8s.io) is older or newer than this action expects; HTTPRoute v1 comes with Gateway API 1.0: upgrade the CRDs',
      ],
    ]) {
      const cluster = await startTestCluster({ omitApis: [omit!] });
      try {
        const client = KubeClient.fromKubeconfig({ kubeconfig: cluster.kubeconfig });
        const error = await failure(new HttpRouteRouter(client, { namespace: 'shop', name: 'web', destinations: ['a', 'b'] }).read());
        expect(error).toBeInstanceOf(KindNotServedError);
        expect(error.message).toBe(message);
      } finally {
        await cluster.stop();
      }
    }
  });
});
