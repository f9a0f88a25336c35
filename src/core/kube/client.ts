/**
 * The one way the core talks to Kubernetes (KubeClient): typed clients from @kubernetes/client-node
 * that share a request counter, a per-request timeout and the core retry. Call through `call` so
 * every failure names its verb and object (a KubeApiError). A 401 to a request made with a
 * renewable credential (exec plugin, token file) renews it and sends the request once more.
 */
import {
  AppsV1Api,
  AuthorizationV1Api,
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
import { InputError } from '../config/input-error.js';
import { CredentialError, type Credentials } from './credentials.js';
import { KubeApiError, toKubeApiError, type Verb } from './errors.js';
import { describeIdentity, kubeCredentials, loadKubeConfig, type KubeconfigSource } from './kubeconfig.js';
import type { ObjectRef } from './object-ref.js';

export interface KubeClientOptions extends KubeconfigSource {
  /** Retry of transient failures (network errors, 429, 5xx) around every call. */
  retry?: Omit<RetryOptions, 'classify'>;
  /** One request's longest wait for an answer. Default 30 s. */
  requestTimeoutMs?: number;
  /** Told of each retry (debug level) so a slow run explains itself. */
  reporter?: Reporter;
}

/** The typed API clients of one kubeconfig, with `call`, `watch` and the request count around them. */
export class KubeClient {
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly coordination: CoordinationV1Api;
  readonly custom: CustomObjectsApi;
  readonly authorization: AuthorizationV1Api;
  /** The shared configuration (request counter, timeout, credentials) for any other client-node API. */
  readonly configuration: ReturnType<typeof createConfiguration>;
  private readonly counter: CountingHttpLibrary;
  private readonly watcher: Watch;
  private watches = 0;

  constructor(
    readonly kubeConfig: KubeConfig,
    private readonly options: Omit<KubeClientOptions, keyof KubeconfigSource> = {},
  ) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('KubeClient: the kubeconfig has no current cluster (use loadKubeConfig)');
    this.counter = new CountingHttpLibrary(options.requestTimeoutMs ?? 30_000, kubeConfig, kubeCredentials(kubeConfig));
    const configuration = (this.configuration = createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kubeConfig },
      httpApi: this.counter,
    }));
    this.core = new CoreV1Api(configuration);
    this.apps = new AppsV1Api(configuration);
    this.coordination = new CoordinationV1Api(configuration);
    this.custom = new CustomObjectsApi(configuration);
    this.authorization = new AuthorizationV1Api(configuration);
    this.watcher = new Watch(kubeConfig);
  }

  /** A client from the kubeconfig input (or the runner's default) and an optional context. Throws InputError. */
  static fromKubeconfig(options: KubeClientOptions = {}): KubeClient {
    const { kubeconfig, context, inClusterRoot, execTimeoutMs, ...rest } = options;
    return new KubeClient(loadKubeConfig({ kubeconfig, context, inClusterRoot, execTimeoutMs }), rest);
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
      // A plugin that failed or printed garbage: its own message names the command and what to fix.
      if (error instanceof InputError || error instanceof CredentialError) throw error;
      const failure = toKubeApiError(verb, ref, error);
      if (failure.status === 401) throw this.refused(failure);
      throw failure;
    }
  }

  /**
   * Drops a renewable credential (exec plugin, token file) so the next request gets a fresh one.
   * False when there is nothing to renew (a static token or certificate).
   */
  renewCredentials(): boolean {
    const user = this.kubeConfig.getCurrentUser();
    const credentials = kubeCredentials(this.kubeConfig);
    if (!credentials?.renewable(user)) return false;
    credentials.renew(user);
    return true;
  }

  /** A 401 (after the one renewal a renewable credential gets): the credential itself was refused; no retry helps. */
  refused(failure: KubeApiError): KubeApiError {
    const renewable = kubeCredentials(this.kubeConfig)?.renewable(this.kubeConfig.getCurrentUser());
    const what = renewable ? 'the credential (renewed once) was refused (401)' : 'the token was refused (401)';
    const fix = renewable
      ? 'check what the exec plugin or token file yields'
      : 'it is expired, revoked or for another cluster; give a fresh kubeconfig';
    return new KubeApiError(failure.verb, failure.ref, 401, 'Unauthorized', `${what} for ${describeIdentity(this.kubeConfig)}: ${fix}`, {
      cause: failure,
    });
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

/**
 * client-node's fetch library, counting each request and giving it a timeout. A 401 to a request
 * made with a renewable credential (exec plugin, token file) renews it and sends the request once
 * more, as client-go does: a 40-minute canary outlives 15-minute EKS tokens.
 */
class CountingHttpLibrary implements HttpLibrary {
  count = 0;
  private readonly inner = new IsomorphicFetchHttpLibrary();
  constructor(
    private readonly timeoutMs: number,
    private readonly kubeConfig: KubeConfig,
    private readonly credentials: Credentials | undefined,
  ) {}
  send(request: RequestContext) {
    this.count++;
    if (!request.getSignal()) request.setSignal(AbortSignal.timeout(this.timeoutMs));
    const first = this.inner.send(request);
    const user = this.kubeConfig.getCurrentUser();
    if (!this.credentials?.renewable(user)) return first;
    return first.pipe(async (response) => {
      if (response.httpStatusCode !== 401) return response;
      this.credentials!.renew(user);
      await this.kubeConfig.applySecurityAuthentication(request);
      this.count++;
      return this.inner.send(request).toPromise();
    });
  }
}
