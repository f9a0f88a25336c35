/** A complete kubeconfig (cluster, token user, context "test") for kubectl and client-node. */
import { stringify } from 'yaml';

export function buildKubeconfig(server: string, token: string, caPem: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: 'test', user: { token } }],
    contexts: [{ name: 'test', context: { cluster: 'test', user: 'test', namespace: 'default' } }],
    'current-context': 'test',
    preferences: {},
  });
}
