import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  IsomorphicFetchHttpLibrary,
  ServerConfiguration,
  Watch,
  createConfiguration,
  type KubeConfig,
  type RequestContext,
} from '@kubernetes/client-node';
import type { HttpLibrary } from '@kubernetes/client-node';
import { retry, type RetryOptions } from '../retry.js';
import type { Reporter } from '../reporter.js';
import { toKubeApiError, type Verb } from './errors.js';
import { loadKubeConfig, type KubeconfigSource } from './kubeconfig.js';
import type { ObjectRef } from './object-ref.js';

export interface KubeClientOptions extends KubeconfigSource {
  /** Retry of transient failures (network errors, 429, 5xx) around every call. */
  retry?: Omit<RetryOptions, 'classify'>;
  /** One request's longest wait for an answer. Default 30 s. */
  requestTimeoutMs?: number;
  /** Told of each retry (debug level) so a slow run explains itself. */
  reporter?: Reporter;
}

/**
 * The one way the core talks to Kubernetes: typed clients from @kubernetes/client-node that
 * share a request counter, a per-request timeout and the core retry. Call through `call` so
 * every failure names its verb and object.
 */
export class KubeClient {
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly coordination: CoordinationV1Api;
  readonly custom: CustomObjectsApi;
  private readonly counter: CountingHttpLibrary;
  private readonly watcher: Watch;
  private watches = 0;

  constructor(
    readonly kubeConfig: KubeConfig,
    private readonly options: Omit<KubeClientOptions, keyof KubeconfigSource> = {},
  ) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('KubeClient: the kubeconfig has no current cluster (use loadKubeConfig)');
    this.counter = new CountingHttpLibrary(options.requestTimeoutMs ?? 30_000);
    const configuration = createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kubeConfig },
      httpApi: this.counter,
    });
    this.core = new CoreV1Api(configuration);
    this.apps = new AppsV1Api(configuration);
    this.coordination = new CoordinationV1Api(configuration);
    this.custom = new CustomObjectsApi(configuration);
    this.watcher = new Watch(kubeConfig);
  }

  /** A client from the kubeconfig input (or the runner's default) and an optional context. Throws InputError. */
  static fromKubeconfig(options: KubeClientOptions = {}): KubeClient {
    const { kubeconfig, context, ...rest } = options;
    return new KubeClient(loadKubeConfig({ kubeconfig, context }), rest);
  }

  /** API requests sent so far (retries and watch connections included). */
  get requestCount(): number {
    return this.counter.count + this.watches;
  }

  /** Warns the run's reporter, if the client has one (field-owners.ts: another manager owns what we write). */
  warn(message: string): void {
    this.options.reporter?.warn(message);
  }

  /** The namespace of the kubeconfig's current context, if it names one. */
  get defaultNamespace(): string | undefined {
    return this.kubeConfig.getContextObject(this.kubeConfig.getCurrentContext())?.namespace;
  }

  /**
   * Runs one API call with the core retry (transient failures only) and turns its failure into a
   * KubeApiError: `patch VirtualService shop/checkout: 409 Conflict: ...`.
   */
  async call<T>(verb: Verb, ref: ObjectRef, operation: () => Promise<T>): Promise<T> {
    try {
      return await retry(() => operation(), {
        ...this.options.retry,
        onRetry: (info) => {
          this.options.reporter?.debug(
            `${toKubeApiError(verb, ref, info.error).message}; retrying in ${Math.round(info.delayMs)} ms (attempt ${info.attempt + 1})`,
          );
          this.options.retry?.onRetry?.(info);
        },
      });
    } catch (error) {
      throw toKubeApiError(verb, ref, error);
    }
  }

  /**
   * Opens one watch connection (client-node Watch) and resolves with a handle once it is open.
   * `onDone` is called once when the connection closes or fails.
   */
  async watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (type: string, object: unknown) => void,
    onDone: (error: unknown) => void,
  ): Promise<AbortController> {
    this.watches++;
    return this.watcher.watch(path, query, (type, object) => onEvent(type, object), onDone);
  }
}

/** client-node's fetch library, counting each request and giving it a timeout. */
class CountingHttpLibrary implements HttpLibrary {
  count = 0;
  private readonly inner = new IsomorphicFetchHttpLibrary();
  constructor(private readonly timeoutMs: number) {}
  send(request: RequestContext) {
    this.count++;
    if (!request.getSignal()) request.setSignal(AbortSignal.timeout(this.timeoutMs));
    return this.inner.send(request);
  }
}
