/**
 * The demo's `shop` namespace, as a newcomer would find it on a cluster with Istio:
 *
 *  - checkout (blue-green): Deployments checkout-blue and checkout-green, a Service per color,
 *    and a VirtualService `checkout` whose route `primary` splits traffic between the two hosts
 *    (blue takes 100% at the start; both colors run 1.24.0).
 *  - cart (canary): Deployments cart (stable, 3 replicas, 2.3.0) and cart-canary (0 replicas),
 *    a Service `cart`, a VirtualService `cart` routing between the DestinationRule's subsets
 *    `stable` and `canary` (stable takes 100%).
 */
export const NAMESPACE = 'shop';
export const REGISTRY = 'registry.example.com';

export const CHECKOUT_OLD = `${REGISTRY}/checkout:1.24.0`;
export const CART_OLD = `${REGISTRY}/cart:2.3.0`;

export const hostOf = (color: 'blue' | 'green') => `checkout-${color}.${NAMESPACE}.svc.cluster.local`;

function deployment(name: string, labels: Record<string, string>, image: string, replicas: number): object {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NAMESPACE, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'app', image, ports: [{ name: 'http', containerPort: 8080 }] }] },
      },
    },
  };
}

function service(name: string, selector: Record<string, string>): object {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NAMESPACE },
    spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  };
}

export function shopManifests(): object[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } },
    // checkout: blue-green across two hosts
    deployment('checkout-blue', { app: 'checkout', color: 'blue' }, CHECKOUT_OLD, 3),
    deployment('checkout-green', { app: 'checkout', color: 'green' }, CHECKOUT_OLD, 3),
    service('checkout-blue', { app: 'checkout', color: 'blue' }),
    service('checkout-green', { app: 'checkout', color: 'green' }),
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'checkout', namespace: NAMESPACE },
      spec: {
        hosts: ['checkout.shop.example.com'],
        gateways: ['public'],
        http: [
          {
            name: 'primary',
            route: [
              { destination: { host: hostOf('blue'), port: { number: 80 } }, weight: 100 },
              { destination: { host: hostOf('green'), port: { number: 80 } }, weight: 0 },
            ],
            timeout: '30s',
            retries: { attempts: 3, perTryTimeout: '10s', retryOn: '5xx,reset' },
          },
        ],
      },
    },
    // cart: canary between DestinationRule subsets
    deployment('cart', { app: 'cart', track: 'stable' }, CART_OLD, 3),
    deployment('cart-canary', { app: 'cart', track: 'canary' }, CART_OLD, 0),
    service('cart', { app: 'cart' }),
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: { name: 'cart', namespace: NAMESPACE },
      spec: {
        host: `cart.${NAMESPACE}.svc.cluster.local`,
        subsets: [
          { name: 'stable', labels: { track: 'stable' } },
          { name: 'canary', labels: { track: 'canary' } },
        ],
      },
    },
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'cart', namespace: NAMESPACE },
      spec: {
        hosts: [`cart.${NAMESPACE}.svc.cluster.local`],
        http: [
          {
            name: 'primary',
            route: [
              { destination: { host: `cart.${NAMESPACE}.svc.cluster.local`, subset: 'stable' }, weight: 100 },
              { destination: { host: `cart.${NAMESPACE}.svc.cluster.local`, subset: 'canary' }, weight: 0 },
            ],
          },
        ],
      },
    },
  ];
}
