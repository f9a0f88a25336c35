/** A complete kubeconfig (cluster, one user, context "test") for kubectl and client-node. */
import { stringify } from 'yaml';

/**
 * The credentials of a kubeconfig user (clientcmd/api/v1 AuthInfo): a bearer token, a token file,
 * a client certificate and key (PEM), or an exec credential plugin (passed through as written).
 */
export type KubeconfigUser =
  | { token: string }
  | { tokenFile: string }
  | { clientCertificate: string; clientKey: string }
  | { exec: Record<string, unknown> };

function userEntry(user: KubeconfigUser): Record<string, unknown> {
  if ('token' in user) return { token: user.token };
  if ('tokenFile' in user) return { tokenFile: user.tokenFile };
  if ('clientCertificate' in user) {
    return {
      'client-certificate-data': Buffer.from(user.clientCertificate).toString('base64'),
      'client-key-data': Buffer.from(user.clientKey).toString('base64'),
    };
  }
  if ('exec' in user) return { exec: user.exec };
  throw new Error('kubeconfigFor: give { token }, { tokenFile }, { clientCertificate, clientKey } or { exec }');
}

export function buildKubeconfigFor(server: string, caPem: string, user: KubeconfigUser, namespace = 'default'): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: 'test', user: userEntry(user) }],
    contexts: [{ name: 'test', context: { cluster: 'test', user: 'test', namespace } }],
    'current-context': 'test',
    preferences: {},
  });
}

export function buildKubeconfig(server: string, token: string, caPem: string): string {
  return buildKubeconfigFor(server, caPem, { token });
}
