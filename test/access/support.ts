/** What the cluster-access tests share: waiting for a failure, and the one read they make as an identity. */
import type { KubeClient } from '../../src/core/kube/client.js';

/** The error `promise` fails with; a promise that succeeds fails the test. */
export async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a failure');
}

/** Reads ConfigMap shop/settings, which each suite creates, through `client`. */
export const readSettings = (client: KubeClient) =>
  client.call('get', { kind: 'ConfigMap', namespace: 'shop', name: 'settings' }, () =>
    client.core.readNamespacedConfigMap({ name: 'settings', namespace: 'shop' }),
  );
