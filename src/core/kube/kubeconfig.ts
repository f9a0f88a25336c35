/**
 * Loads the kubeconfig a run uses and checks it can be used: a context, its cluster and its user.
 * Where it comes from, in order: the `kubeconfig` input; `KUBECONFIG`; `~/.kube/config`; the
 * in-cluster ServiceAccount (`KUBERNETES_SERVICE_HOST`/`PORT`, its token and CA under
 * /var/run/secrets/kubernetes.io/serviceaccount) for runners inside Kubernetes.
 * Exec credential plugins and token files are served by `Credentials` (credentials.ts).
 * `proxy-url` of a cluster is honoured by client-node (http, https, socks5); without it,
 * `HTTPS_PROXY` (and `NO_PROXY`) apply as they do for kubectl.
 */
import { existsSync, readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { InputError } from '../config/input-error.js';
import { Secrets } from '../secrets.js';
import { Credentials } from './credentials.js';

export interface KubeconfigSource {
  /** Kubeconfig content (the `kubeconfig` input). Empty: the runner's default (`KUBECONFIG`, ~/.kube/config, in-cluster). */
  kubeconfig?: string;
  /** Context to use (the `context` input). Empty: the kubeconfig's current-context. */
  context?: string;
  /** For tests: where the in-cluster ServiceAccount files are (client-node's loadFromCluster path prefix). */
  inClusterRoot?: string;
  /** For tests: the longest an exec credential plugin may run. Default 60 s. */
  execTimeoutMs?: number;
}

const credentialsOf = new WeakMap<KubeConfig, Credentials>();

/** The Credentials serving a kubeconfig loaded by loadKubeConfig (exec plugins, token files). */
export function kubeCredentials(kc: KubeConfig): Credentials | undefined {
  return credentialsOf.get(kc);
}

/** The user and context a message names: `user "u" (context "c")`. */
export function describeIdentity(kc: KubeConfig): string {
  return `user "${kc.getCurrentUser()?.name ?? '?'}" (context "${kc.getCurrentContext()}")`;
}

/**
 * Every problem is an InputError naming the `kubeconfig` (or `context`) input; no message
 * carries any of the kubeconfig's content.
 */
export function loadKubeConfig(source: KubeconfigSource = {}): KubeConfig {
  const kc = new KubeConfig();
  const given = source.kubeconfig?.trim();
  const { origin, texts } = load(kc, given, source.inClusterRoot);
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
  if (!cluster?.server) {
    throw new InputError(`kubeconfig: context "${context.name}" of ${origin} names no cluster with a server address`);
  }
  const user = kc.getCurrentUser();
  if (!user) {
    throw new InputError(`kubeconfig: context "${context.name}" of ${origin} names no user`);
  }
  if (cluster.server.startsWith('http:') && !cluster.skipTLSVerify) {
    throw new InputError(
      `kubeconfig: cluster "${cluster.name}" is served over plain http; @kubernetes/client-node refuses that unless the cluster sets insecure-skip-tls-verify: true`,
    );
  }
  checkProxy(kc, origin);

  const secrets = new Secrets();
  for (const { text } of texts) secrets.add(text);
  const tokenFiles = new Map<string, string>();
  for (const { text, dir } of texts)
    for (const [name, file] of tokenFilesOf(text, dir)) if (!tokenFiles.has(name)) tokenFiles.set(name, file);
  // client-go: "the TokenFile will be periodically read and the last successfully read value takes precedence over Token".
  if (tokenFiles.has(user.name)) (user as { token?: string }).token = undefined;
  const credentials = new Credentials({
    execTimeoutMs: source.execTimeoutMs,
    secrets,
    tokenFiles,
    origin,
    cluster: {
      server: cluster.server,
      caData: cluster.caData,
      skipTLSVerify: cluster.skipTLSVerify,
      tlsServerName: cluster.tlsServerName,
      proxyUrl: cluster.proxyUrl,
    },
  });
  installCredentials(kc, credentials);
  return kc;
}

interface LoadedText {
  text: string;
  /** Relative paths in a file are relative to its directory (client-go); in the input, to the working directory. */
  dir: string | undefined;
}

function load(kc: KubeConfig, given: string | undefined, inClusterRoot: string | undefined): { origin: string; texts: LoadedText[] } {
  if (given) {
    parseInto('the kubeconfig input', () => kc.loadFromString(given));
    return { origin: 'the kubeconfig input', texts: [{ text: given, dir: undefined }] };
  }
  const files = (process.env.KUBECONFIG ?? '').split(delimiter).filter((f) => f && existsSync(f));
  if (files.length) {
    const origin = `the runner's KUBECONFIG (${files.join(delimiter)})`;
    parseInto(origin, () => (files.length === 1 ? kc.loadFromFile(files[0]!) : kc.loadFromDefault()));
    return { origin, texts: files.map((f) => ({ text: readFileSync(f, 'utf8'), dir: dirname(f) })) };
  }
  const home = join(homedir(), '.kube', 'config');
  if (existsSync(home)) {
    const origin = `the runner's ~/.kube/config`;
    parseInto(origin, () => kc.loadFromFile(home));
    return { origin, texts: [{ text: readFileSync(home, 'utf8'), dir: dirname(home) }] };
  }
  const root = inClusterRoot ?? '';
  const tokenPath = `${root}/var/run/secrets/kubernetes.io/serviceaccount/token`;
  if (process.env.KUBERNETES_SERVICE_HOST && process.env.KUBERNETES_SERVICE_PORT && existsSync(tokenPath)) {
    kc.loadFromCluster(root);
    return { origin: "the runner's in-cluster ServiceAccount", texts: [] };
  }
  throw new InputError(
    'kubeconfig: no kubeconfig input was given, KUBECONFIG names no file, ~/.kube/config does not exist, and the runner is not inside a cluster ' +
      '(no KUBERNETES_SERVICE_HOST and ServiceAccount token); give the kubeconfig input or run `aws eks update-kubeconfig`, `gcloud container clusters get-credentials` or `az aks get-credentials` first',
  );
}

function parseInto(origin: string, parse: () => void): void {
  try {
    parse();
  } catch (error) {
    // The parser's message can quote the offending line, which may hold a token: keep only its position.
    const line = (error as { mark?: { line?: number } }).mark?.line;
    throw new InputError(
      `kubeconfig: ${origin} could not be read as a kubeconfig${line !== undefined ? ` (YAML error on line ${line + 1})` : ''}; expected kubeconfig YAML with clusters, users, contexts and current-context`,
    );
  }
}

/** users[].user.tokenFile (client-go's key, which client-node does not read) and `token-file`, by user name. */
function tokenFilesOf(text: string, dir: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  let doc: { users?: { name?: unknown; user?: Record<string, unknown> }[] };
  try {
    doc = parseYaml(text) ?? {};
  } catch {
    return out;
  }
  for (const entry of Array.isArray(doc.users) ? doc.users : []) {
    const file = entry?.user?.tokenFile ?? entry?.user?.['token-file'];
    if (typeof entry?.name === 'string' && typeof file === 'string' && file) {
      out.set(entry.name, dir && !isAbsolute(file) ? join(dir, file) : file);
    }
  }
  return out;
}

/**
 * Our Credentials in front of client-node's own authenticators (they are asked in order and the
 * first that claims the user serves it; `addAuthenticator` would put ours after its ExecAuth).
 */
function installCredentials(kc: KubeConfig, credentials: Credentials): void {
  const list = (kc as unknown as { authenticators?: unknown[] }).authenticators;
  if (!Array.isArray(list)) throw new Error('@kubernetes/client-node changed: KubeConfig.authenticators is gone');
  list.unshift(credentials);
  credentialsOf.set(kc, credentials);
}

/**
 * `proxy-url` as client-node supports it (http, https, socks5); otherwise HTTPS_PROXY unless
 * NO_PROXY covers the server (host, domain suffix, `*`, IP or CIDR), as Go's ProxyFromEnvironment does.
 */
function checkProxy(kc: KubeConfig, origin: string): void {
  const cluster = kc.getCurrentCluster()!;
  if (cluster.proxyUrl) {
    if (!/^(https?|socks5h?|socks4a?|socks):\/\//.test(cluster.proxyUrl)) {
      throw new InputError(`kubeconfig: cluster "${cluster.name}" of ${origin} has a proxy-url that is not http://, https:// or socks5://`);
    }
    return;
  }
  const proxy = process.env.HTTPS_PROXY || process.env.https_proxy;
  if (!proxy || !cluster.server.startsWith('https:')) return;
  const host = new URL(cluster.server).hostname.replace(/^\[|\]$/g, '');
  if (noProxy(host, process.env.NO_PROXY ?? process.env.no_proxy ?? '')) return;
  if (!/^https?:\/\//.test(proxy))
    throw new InputError(`HTTPS_PROXY: "${proxy.replace(/\/\/[^@/]*@/, '//***@')}" is not an http:// or https:// URL`);
  (cluster as { proxyUrl?: string }).proxyUrl = proxy;
}

export function noProxy(host: string, list: string): boolean {
  for (const raw of list
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter(Boolean)) {
    if (raw === '*') return true;
    const entry = raw.replace(/:\d+$/, '');
    if (entry.includes('/') && isIP(host)) {
      const [net, bits] = entry.split('/');
      const family = isIP(net!) === 6 ? 'ipv6' : 'ipv4';
      if (isIP(net!) && isIP(host) === (family === 'ipv6' ? 6 : 4)) {
        const block = new BlockList();
        block.addSubnet(net!, Number(bits), family);
        if (block.check(host, family)) return true;
      }
      continue;
    }
    const bare = entry.replace(/^\*?\./, '');
    if (host.toLowerCase() === bare || host.toLowerCase().endsWith(`.${bare}`)) return true;
  }
  return false;
}
