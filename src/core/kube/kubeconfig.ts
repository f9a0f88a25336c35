import { KubeConfig } from '@kubernetes/client-node';
import { InputError } from '../config/input-error.js';

export interface KubeconfigSource {
  /** Kubeconfig content (the `kubeconfig` input). Empty: the runner's default (`KUBECONFIG`, ~/.kube/config, in-cluster). */
  kubeconfig?: string;
  /** Context to use (the `context` input). Empty: the kubeconfig's current-context. */
  context?: string;
}

/**
 * Loads a kubeconfig and checks it can be used: a context, its cluster and its user.
 * Every problem is an InputError naming the `kubeconfig` (or `context`) input; no message
 * carries any of the kubeconfig's content.
 */
export function loadKubeConfig(source: KubeconfigSource = {}): KubeConfig {
  const kc = new KubeConfig();
  const given = source.kubeconfig?.trim();
  const origin = given ? 'the kubeconfig input' : "the runner's default kubeconfig (KUBECONFIG or ~/.kube/config)";
  try {
    if (given) kc.loadFromString(given);
    else kc.loadFromDefault();
  } catch (error) {
    // The parser's message can quote the offending line, which may hold a token: keep only its position.
    const line = (error as { mark?: { line?: number } }).mark?.line;
    throw new InputError(
      `kubeconfig: ${origin} could not be read as a kubeconfig${line !== undefined ? ` (YAML error on line ${line + 1})` : ''}; expected kubeconfig YAML with clusters, users, contexts and current-context`,
    );
  }
  if (source.context) {
    if (!kc.getContextObject(source.context)) {
      const names = kc.getContexts().map((c) => c.name);
      throw new InputError(
        `context: "${source.context}" is not a context of ${origin}; it has ${names.length ? names.join(', ') : 'no contexts'}`,
      );
    }
    kc.setCurrentContext(source.context);
  }
  const contextName = kc.getCurrentContext();
  const context = contextName ? kc.getContextObject(contextName) : null;
  if (!context) {
    throw new InputError(`kubeconfig: ${origin} has no current context; set current-context or give the context input`);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster || !cluster.server) {
    throw new InputError(`kubeconfig: context "${context.name}" of ${origin} names no cluster with a server address`);
  }
  if (!kc.getCurrentUser()) {
    throw new InputError(`kubeconfig: context "${context.name}" of ${origin} names no user`);
  }
  if (cluster.server.startsWith('http:') && !cluster.skipTLSVerify) {
    throw new InputError(
      `kubeconfig: cluster "${cluster.name}" is served over plain http; @kubernetes/client-node refuses that unless the cluster sets insecure-skip-tls-verify: true`,
    );
  }
  return kc;
}
