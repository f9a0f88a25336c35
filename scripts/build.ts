/**
 * `npm run build`: writes actions/<name>/action.yml from the action's spec and bundles
 * src/actions/<name>.ts with @vercel/ncc into dist/<name>/index.js, and the command line
 * src/cli.ts into dist/cli/index.js.
 * `npm run build -- --check`: builds into a temporary folder and fails when the committed
 * action.yml or dist/ differ from what the sources produce.
 */
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ncc from '@vercel/ncc';
import { stringify } from 'yaml';
import { actionSpecs } from '../src/core/specs/index.js';
import type { ActionSpec } from '../src/core/specs/spec.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');

export function actionYaml(spec: ActionSpec): string {
  const entry = `../../dist/${spec.name}/index.js`;
  const doc = {
    name: spec.title,
    description: spec.description,
    author: 'progressive-delivery-actions',
    branding: spec.branding,
    inputs: Object.fromEntries(
      Object.entries(spec.inputs).map(([name, def]) => [
        name,
        { description: def.description, required: def.required ?? false, ...(def.default !== undefined ? { default: def.default } : {}) },
      ]),
    ),
    outputs: spec.outputs,
    runs: { using: 'node24', main: entry, ...(spec.post ? { post: entry, 'post-if': 'always()' } : {}) },
  };
  const header = `# Generated from src/core/specs/${spec.name}.ts by \`npm run build\`: edit that file, not this one.\n`;
  return header + stringify(doc, { lineWidth: 0 });
}

async function bundle(entry: string): Promise<Record<string, string | Buffer>> {
  const { code, assets } = await ncc(join(root, entry), {
    minify: false,
    sourceMap: false,
    quiet: true,
    target: 'es2022',
  }).catch((error: Error) => {
    // ncc's own stack is megabytes of minified webpack: keep the compiler's message only.
    throw new Error(`bundling ${entry} failed:\n${error.message.slice(0, 4000)}`);
  });
  const files: Record<string, string | Buffer> = { 'index.js': code };
  for (const [file, asset] of Object.entries(assets ?? {})) files[file] = asset.source;
  return files;
}

async function build(outRoot: string): Promise<void> {
  for (const spec of Object.values(actionSpecs)) {
    const actionDir = join(outRoot, 'actions', spec.name);
    await mkdir(actionDir, { recursive: true });
    await writeFile(join(actionDir, 'action.yml'), actionYaml(spec));
    const distDir = join(outRoot, 'dist', spec.name);
    await writeBundle(`src/actions/${spec.name}.ts`, distDir);
  }
  await writeBundle('src/cli.ts', join(outRoot, 'dist', 'cli'));
}

async function writeBundle(entry: string, distDir: string): Promise<void> {
  await rm(distDir, { recursive: true, force: true });
  for (const [file, content] of Object.entries(await bundle(entry))) {
    await mkdir(dirname(join(distDir, file)), { recursive: true });
    await writeFile(join(distDir, file), content);
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort();
}

async function compare(builtRoot: string): Promise<string[]> {
  const problems: string[] = [];
  for (const top of ['actions', 'dist']) {
    const built = await listFiles(join(builtRoot, top));
    const committed = await listFiles(join(root, top));
    for (const file of new Set([...built, ...committed])) {
      const a = await readFile(join(builtRoot, top, file)).catch(() => undefined);
      const b = await readFile(join(root, top, file)).catch(() => undefined);
      if (!a) problems.push(`${top}/${file} is committed but not built from the sources`);
      else if (!b) problems.push(`${top}/${file} is missing`);
      else if (!a.equals(b)) problems.push(`${top}/${file} differs from what the sources build`);
    }
  }
  return problems;
}

if (check) {
  const tmp = await mkdtemp(join(tmpdir(), 'pd-build-'));
  try {
    await build(tmp);
    const problems = await compare(tmp);
    if (problems.length > 0) {
      console.error(`dist/ or action.yml is stale; run \`npm run build\` and commit:\n  ${problems.join('\n  ')}`);
      process.exit(1);
    }
    console.log('dist/ and action.yml match the sources');
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
} else {
  await build(root);
  console.log(`built ${Object.keys(actionSpecs).length} actions`);
}
