/** The service the deploy.yml release tests ship: checkout in namespace shop, blue live behind a selector Service, both colors on 1.0. */
import { deployment } from '../cluster/helpers.js';

export function checkoutBlueGreen(): object[] {
  return [
    deployment('checkout-blue', 'registry.example.com/checkout:1.0', 1, { labels: { color: 'blue' } }),
    deployment('checkout-green', 'registry.example.com/checkout:1.0', 1, { labels: { color: 'green' } }),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'checkout' },
      spec: { selector: { app: 'checkout', color: 'blue' }, ports: [{ port: 80, targetPort: 8080 }] },
    },
  ].map((o: any) => ({ ...o, metadata: { ...o.metadata, namespace: 'shop' } }));
}
