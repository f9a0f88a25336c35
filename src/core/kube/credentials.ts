/**
 * The credentials that change while a run goes on: exec credential plugins (what
 * `aws eks update-kubeconfig`, `gke-gcloud-auth-plugin` and `kubelogin` write) and token files
 * (`tokenFile`, and the in-cluster ServiceAccount token the kubelet rotates).
 *
 * client-node's own ExecAuth has no timeout, re-runs a plugin on every request when it gives no
 * expirationTimestamp, and rejects with the plugin's raw stderr; its `tokenFile` is read once
 * (`token-file`) or every 60 s (in-cluster). This authenticator, placed in front of client-node's
 * own ones, does what client-go does (k8s.io/client-go/plugin/pkg/client/auth/exec/exec.go,
 * transport/token_source.go) and a little more:
 * - an exec credential is cached until shortly before its `expirationTimestamp` (or, without one,
 *   until the API server refuses it); one plugin run is shared by concurrent requests;
 * - `renew()` drops the cached credential, so a 401 is retried once with a fresh one;
 * - a plugin that is missing, exits non-zero, prints no ExecCredential or runs longer than the
 *   timeout gets an error naming its command and its (redacted) stderr;
 * - a token file is re-read when its modification time changes (kubelet rotation), and on renew().
 */
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import type { User } from '@kubernetes/client-node';
import { InputError } from '../config/input-error.js';
import type { Secrets } from '../secrets.js';

export const EXEC_API_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'] as const;

/** Renew an exec credential this long before it expires, so no request goes out with a token about to lapse. */
export const RENEW_BEFORE_MS = 30_000;

/** A plugin ran and failed (exit code, timeout): not the input's fault, but the run cannot go on. */
export class CredentialError extends Error {
  override readonly name = 'CredentialError';
}

export interface CredentialsOptions {
  /** The longest a plugin may run. Default 60 s (a browser login is not possible on a runner anyway). */
  execTimeoutMs?: number;
  /** Secret pieces of the kubeconfig, redacted from the plugin's stderr before it is shown. */
  secrets?: Secrets;
  /** Users' `tokenFile` paths, read from the kubeconfig YAML (client-node does not parse that key). */
  tokenFiles?: ReadonlyMap<string, string>;
  /** What the messages call the kubeconfig ("the kubeconfig input", ...). */
  origin?: string;
  /** The cluster given to plugins that set provideClusterInfo. */
  cluster?: { server: string; caData?: string; skipTLSVerify?: boolean; tlsServerName?: string; proxyUrl?: string };
}

interface ExecConfig {
  command?: string;
  args?: string[];
  env?: { name: string; value: string }[] | null;
  apiVersion?: string;
  installHint?: string;
  provideClusterInfo?: boolean;
}

interface ExecCredential {
  token?: string;
  clientCertificateData?: string;
  clientKeyData?: string;
  /** ms since the epoch; undefined: valid until refused. */
  expiresAt?: number;
}

interface FileToken {
  token: string;
  mtimeMs: number;
}

/** client-node's Authenticator interface (dist/auth.d.ts), which it does not export. */
interface RequestOptionsLike {
  headers?: Record<string, unknown>;
  cert?: unknown;
  key?: unknown;
}

export class Credentials {
  /** Plugin runs so far (tests and the bench count them). */
  execRuns = 0;
  private readonly cached = new Map<string, ExecCredential>();
  private readonly running = new Map<string, Promise<ExecCredential>>();
  private readonly fileTokens = new Map<string, FileToken>();

  constructor(private readonly options: CredentialsOptions = {}) {}

  isAuthProvider(user: User): boolean {
    return Boolean(execOf(user) || this.tokenFileOf(user));
  }

  /** Whether the user's credential can be renewed (so a 401 is worth one retry). */
  renewable(user: User | null | undefined): boolean {
    return Boolean(user && this.isAuthProvider(user));
  }

  /** Forget the user's credential: the next request runs the plugin or reads the file again. */
  renew(user: User | null | undefined): void {
    if (!user) return;
    this.cached.delete(user.name);
    const file = this.tokenFileOf(user);
    if (file) this.fileTokens.delete(file);
  }

  async applyAuthentication(user: User, opts: RequestOptionsLike): Promise<void> {
    opts.headers ??= {};
    const exec = execOf(user);
    if (exec) {
      const credential = await this.execCredential(user, exec);
      if (credential.clientCertificateData) opts.cert = credential.clientCertificateData;
      if (credential.clientKeyData) opts.key = credential.clientKeyData;
      if (credential.token) opts.headers.Authorization = `Bearer ${credential.token}`;
      return;
    }
    const file = this.tokenFileOf(user);
    if (file) opts.headers.Authorization = `Bearer ${this.readTokenFile(user, file)}`;
  }

  private tokenFileOf(user: User): string | undefined {
    const fromYaml = this.options.tokenFiles?.get(user.name);
    if (fromYaml) return fromYaml;
    const config = (user.authProvider as { config?: { tokenFile?: unknown } } | undefined)?.config;
    return typeof config?.tokenFile === 'string' ? config.tokenFile : undefined;
  }

  private readTokenFile(user: User, file: string): string {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(file).mtimeMs;
      const known = this.fileTokens.get(file);
      if (known && known.mtimeMs === mtimeMs) return known.token;
      const token = readFileSync(file, 'utf8').trim();
      if (!token) throw new Error('the file is empty');
      this.fileTokens.set(file, { token, mtimeMs });
      return token;
    } catch (error) {
      // The last token read stays good until the server refuses it (client-go keeps it too).
      const known = this.fileTokens.get(file);
      if (known) return known.token;
      const why = (error as { code?: string }).code ?? (error as Error).message;
      throw new InputError(
        `kubeconfig: the token file ${file} of user "${user.name}" cannot be read (${why}); mount the ServiceAccount token there or fix tokenFile`,
      );
    }
  }

  private async execCredential(user: User, exec: ExecConfig): Promise<ExecCredential> {
    const cached = this.cached.get(user.name);
    if (cached && (cached.expiresAt === undefined || cached.expiresAt - Date.now() > RENEW_BEFORE_MS)) return cached;
    let run = this.running.get(user.name);
    if (!run) {
      run = this.runPlugin(user, exec).finally(() => this.running.delete(user.name));
      this.running.set(user.name, run);
    }
    const credential = await run;
    this.cached.set(user.name, credential);
    return credential;
  }

  private runPlugin(user: User, exec: ExecConfig): Promise<ExecCredential> {
    const origin = this.options.origin ?? 'the kubeconfig';
    const where = `the exec credential plugin of user "${user.name}" in ${origin}`;
    if (!exec.command) throw new InputError(`kubeconfig: ${where} names no command; set users[].user.exec.command`);
    const apiVersion = exec.apiVersion;
    if (!apiVersion || !(EXEC_API_VERSIONS as readonly string[]).includes(apiVersion)) {
      throw new InputError(
        `kubeconfig: ${where} has apiVersion ${apiVersion ? `"${apiVersion}"` : '(none)'}; use ${EXEC_API_VERSIONS.join(' or ')}`,
      );
    }
    const command = [exec.command, ...(exec.args ?? [])].join(' ');
    const timeoutMs = this.options.execTimeoutMs ?? 60_000;
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const variable of exec.env ?? []) env[variable.name] = variable.value;
    env.KUBERNETES_EXEC_INFO = JSON.stringify(this.execInfo(apiVersion, exec));
    this.execRuns++;
    return new Promise<ExecCredential>((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      let settled = false;
      const settle = (action: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        action();
      };
      const child = spawn(exec.command!, exec.args ?? [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        settle(() =>
          reject(new CredentialError(`${where} (${command}) did not answer within ${timeoutMs / 1000} s${this.stderrPart(stderr)}`)),
        );
      }, timeoutMs);
      timer.unref();
      child.stdout.setEncoding('utf8').on('data', (data: string) => (stdout += data));
      child.stderr.setEncoding('utf8').on('data', (data: string) => (stderr += data));
      child.on('error', (error: NodeJS.ErrnoException) => {
        settle(() => {
          if (error.code === 'ENOENT') {
            const hint = exec.installHint ? `; ${exec.installHint.trim()}` : '; install it on the runner or put its directory on PATH';
            reject(new InputError(`kubeconfig: ${where} runs "${exec.command}", which is not installed (not found on PATH)${hint}`));
          } else reject(new CredentialError(`${where} (${command}) could not be started: ${error.code ?? error.message}`));
        });
      });
      child.on('close', (code, signal) => {
        settle(() => {
          if (code !== 0) {
            reject(
              new CredentialError(
                `${where} (${command}) failed (${signal ? `killed by ${signal}` : `exit code ${code}`})${this.stderrPart(stderr)}`,
              ),
            );
            return;
          }
          try {
            resolve(parseExecCredential(stdout, apiVersion, where, command));
          } catch (error) {
            reject(error);
          }
        });
      });
    });
  }

  /** KUBERNETES_EXEC_INFO, as client-go sets it: never interactive on a runner. */
  private execInfo(apiVersion: string, exec: ExecConfig): object {
    const spec: Record<string, unknown> = { interactive: false };
    const cluster = this.options.cluster;
    if (exec.provideClusterInfo && cluster) {
      spec.cluster = {
        server: cluster.server,
        'certificate-authority-data': cluster.caData,
        'insecure-skip-tls-verify': cluster.skipTLSVerify || undefined,
        'tls-server-name': cluster.tlsServerName,
        'proxy-url': cluster.proxyUrl,
      };
    }
    return { apiVersion, kind: 'ExecCredential', spec };
  }

  private stderrPart(stderr: string): string {
    const text = redactCredentials(stderr.trim(), this.options.secrets);
    if (!text) return '';
    const tail = text.length > 600 ? `…${text.slice(-600)}` : text;
    return `; it printed on stderr: ${tail}`;
  }
}

function execOf(user: User): ExecConfig | undefined {
  if (user.exec) return user.exec as ExecConfig;
  const config = (user.authProvider as { config?: { exec?: ExecConfig } } | undefined)?.config;
  return config?.exec;
}

/**
 * The plugin's stdout as an ExecCredential of the configured apiVersion (client-go refuses any
 * other). Never quotes the output: it may hold a token.
 */
export function parseExecCredential(stdout: string, apiVersion: string, where: string, command: string): ExecCredential {
  const fix = `it must print {"apiVersion":"${apiVersion}","kind":"ExecCredential","status":{"token":"..."}} on stdout`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new InputError(
      `kubeconfig: ${where} (${command}) printed ${stdout.trim() ? `${stdout.length} bytes that are not JSON` : 'nothing'}; ${fix}`,
    );
  }
  const object = (parsed && typeof parsed === 'object' ? parsed : {}) as {
    apiVersion?: unknown;
    kind?: unknown;
    status?: Record<string, unknown>;
  };
  if (object.kind !== 'ExecCredential')
    throw new InputError(`kubeconfig: ${where} (${command}) printed JSON that is not an ExecCredential; ${fix}`);
  if (object.apiVersion !== apiVersion) {
    throw new InputError(
      `kubeconfig: ${where} (${command}) printed an ExecCredential of apiVersion ${JSON.stringify(object.apiVersion)} but is configured for ${apiVersion}; set exec.apiVersion to what the plugin prints`,
    );
  }
  const status = object.status ?? {};
  const text = (key: string) => (typeof status[key] === 'string' && status[key] ? (status[key] as string) : undefined);
  const token = text('token');
  const clientCertificateData = text('clientCertificateData');
  const clientKeyData = text('clientKeyData');
  if (!token && !(clientCertificateData && clientKeyData)) {
    throw new InputError(
      `kubeconfig: ${where} (${command}) printed an ExecCredential without status.token or status.clientCertificateData and clientKeyData; ${fix}`,
    );
  }
  let expiresAt: number | undefined;
  const expiration = status.expirationTimestamp;
  if (expiration !== undefined && expiration !== null) {
    expiresAt = typeof expiration === 'string' ? Date.parse(expiration) : Number.NaN;
    if (Number.isNaN(expiresAt)) {
      throw new InputError(`kubeconfig: ${where} (${command}) printed an expirationTimestamp that is not an RFC 3339 time; ${fix}`);
    }
  }
  return { token, clientCertificateData, clientKeyData, expiresAt };
}

/** The kubeconfig's secrets, then anything shaped like a token (JWTs, EKS tokens, long base64 runs). */
export function redactCredentials(text: string, secrets?: Secrets): string {
  const out = secrets ? secrets.redact(text) : text;
  return out
    .replace(/\beyJ[\w-]+\.[\w-]+\.[\w-]*/g, '***')
    .replace(/\bk8s-aws-v1\.[\w-]+/g, '***')
    .replace(/(bearer\s+)\S+/gi, '$1***')
    .replace(/[A-Za-z0-9+/_-]{40,}={0,2}/g, '***');
}
