/**
 * GitHub deployments through the REST API (@actions/github's Octokit): one deployment per
 * action run, created for the environment at the workflow's commit, then its statuses. The
 * API address comes from `baseUrl` (the runner's GITHUB_API_URL, so GHES and tests work).
 * Needs a token with `deployments: write`.
 */
import { getOctokit } from '@actions/github';
import { HttpStatusError } from '../../core/http-error.js';
import type {
  DeploymentRequest,
  DeploymentState,
  DeploymentStatusDetails,
  DeploymentTracker,
} from '../../core/notify/deployment-tracker.js';
import { retry, type RetryOptions } from '../../core/retry.js';

export interface GitHubDeploymentsOptions {
  token: string;
  /** owner/name */
  repository: string;
  /** Default: GITHUB_API_URL, else https://api.github.com. */
  baseUrl?: string;
  /** Continue a deployment created earlier (the main step's, from the post step). */
  id?: number;
  retry?: RetryOptions;
  signal?: AbortSignal;
}

const GITHUB_RETRY: RetryOptions = { attempts: 5, maxElapsedMs: 60_000 };

export class GitHubDeployments implements DeploymentTracker {
  private readonly octokit: ReturnType<typeof getOctokit>;
  private readonly owner: string;
  private readonly repo: string;
  private deploymentId: number | undefined;

  constructor(private readonly options: GitHubDeploymentsOptions) {
    const [owner, repo] = options.repository.split('/');
    if (!owner || !repo) throw new Error(`expected the repository as owner/name, got "${options.repository}"`);
    this.owner = owner;
    this.repo = repo;
    this.deploymentId = options.id;
    this.octokit = getOctokit(options.token, { baseUrl: options.baseUrl ?? process.env.GITHUB_API_URL ?? 'https://api.github.com' });
  }

  get id(): number | undefined {
    return this.deploymentId;
  }

  async start(request: DeploymentRequest): Promise<number> {
    const response = await this.call('create a deployment', () =>
      this.octokit.rest.repos.createDeployment({
        owner: this.owner,
        repo: this.repo,
        ref: request.ref,
        environment: request.environment,
        description: request.description,
        payload: request.payload,
        task: 'deploy',
        auto_merge: false,
        required_contexts: [],
        transient_environment: false,
        request: { signal: this.options.signal },
      }),
    );
    const data = response.data as { id?: number; message?: string };
    if (response.status !== 201 || typeof data.id !== 'number') {
      throw new Error(`GitHub did not create the deployment: ${data.message ?? `HTTP ${response.status}`}`);
    }
    this.deploymentId = data.id;
    return data.id;
  }

  async status(state: DeploymentState, details: DeploymentStatusDetails = {}): Promise<void> {
    const id = this.deploymentId;
    if (id === undefined) throw new Error(`no GitHub deployment to give the status "${state}": start() was not called or failed`);
    await this.call(`set the deployment status to ${state}`, () =>
      this.octokit.rest.repos.createDeploymentStatus({
        owner: this.owner,
        repo: this.repo,
        deployment_id: id,
        state,
        description: details.description,
        environment_url: details.environmentUrl,
        log_url: details.logUrl,
        request: { signal: this.options.signal },
      }),
    );
  }

  /** Retry 429, 5xx and network errors; an exhausted rate limit (403 with Retry-After or no requests left) waits too. */
  private call<T>(what: string, operation: () => Promise<T>): Promise<T> {
    return retry(
      async () => {
        try {
          return await operation();
        } catch (error) {
          throw asHttpStatusError(what, error);
        }
      },
      { ...GITHUB_RETRY, signal: this.options.signal, ...this.options.retry },
    );
  }
}

interface OctokitError {
  status?: unknown;
  message?: string;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

/** Octokit's RequestError as our HttpStatusError, so core retry classifies it; the message never holds the token. */
function asHttpStatusError(what: string, error: unknown): unknown {
  const { status, message, response } = (error ?? {}) as OctokitError;
  if (typeof status !== 'number') return error;
  const headers = response?.headers ?? {};
  const retryAfter = headers['retry-after'] === undefined ? undefined : String(headers['retry-after']);
  const rateLimited = status === 403 && (retryAfter !== undefined || String(headers['x-ratelimit-remaining']) === '0');
  const waitHint = retryAfter ?? (rateLimited ? secondsUntil(headers['x-ratelimit-reset']) : undefined);
  const firstLine = (message ?? '').split('\n')[0]?.replace(/ - https:\/\/docs\.github\.com\S*/, '') ?? '';
  return new HttpStatusError(
    `could not ${what}: GitHub answered HTTP ${status}${firstLine ? ` (${firstLine})` : ''}`,
    rateLimited ? 429 : status,
    waitHint,
    typeof response?.data === 'string' ? response.data : JSON.stringify(response?.data ?? ''),
  );
}

function secondsUntil(resetEpochSeconds: string | number | undefined): string | undefined {
  const reset = Number(resetEpochSeconds);
  return Number.isFinite(reset) && reset > 0 ? String(Math.max(0, Math.ceil(reset - Date.now() / 1000))) : undefined;
}
