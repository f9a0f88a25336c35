import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { parse as parseYaml } from 'yaml';

/** The repository's workflows and actions, read as files and as GitHub's parser sees them. */
export const ROOT = new URL('../../', import.meta.url).pathname;
export const WORKFLOWS_DIR = join(ROOT, '.github/workflows');

export interface WorkflowFile {
  /** Path from the repository root. */
  path: string;
  content: string;
  doc: any;
}

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => join(dir, name));
}

/** Every workflow this repository ships: the reusable ones and the examples (not ci.yml or release.yml, the repository's own). */
export function ourWorkflows(): WorkflowFile[] {
  return [...yamlFiles(WORKFLOWS_DIR), ...yamlFiles(join(WORKFLOWS_DIR, 'examples'))]
    .filter((file) => !/\/(ci|release)\.yml$/.test(file))
    .map((file) => {
      const content = readFileSync(file, 'utf8');
      return { path: file.slice(ROOT.length), content, doc: parseYaml(content) };
    });
}

export function actionNames(): string[] {
  return readdirSync(join(ROOT, 'actions'))
    .filter((name) => existsSync(join(ROOT, 'actions', name, 'action.yml')))
    .sort();
}

export interface ActionInputs {
  declared: Set<string>;
  required: Set<string>;
}

/** An action's inputs as its action.yml declares them (required = required without a default). */
export function actionInputs(name: string): ActionInputs {
  const doc = parseYaml(readFileSync(join(ROOT, 'actions', name, 'action.yml'), 'utf8')) as {
    inputs?: Record<string, { required?: boolean; default?: unknown }>;
  };
  const inputs = doc.inputs ?? {};
  return {
    declared: new Set(Object.keys(inputs)),
    required: new Set(
      Object.entries(inputs)
        .filter(([, def]) => def.required && def.default === undefined)
        .map(([id]) => id),
    ),
  };
}

export interface ParseItem {
  kind: 'workflow' | 'action';
  /** Path from the repository root (or any name, for content given inline). */
  name: string;
  content: string;
}

/**
 * GitHub's own parsers (schema and expression checks) over every item, in one child process
 * (see github-parser-cli.ts): the errors each one gets, by name.
 */
export function githubParserErrors(items: ParseItem[]): Record<string, string[]> {
  const out = execFileSync(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'test/workflows/github-parser-cli.ts'), '--stdin'], {
    cwd: ROOT,
    input: JSON.stringify(items),
    encoding: 'utf8',
  });
  return JSON.parse(out) as Record<string, string[]>;
}

export function actionFile(name: string): ParseItem {
  const path = `actions/${name}/action.yml`;
  return { kind: 'action', name: path, content: readFileSync(join(ROOT, path), 'utf8') };
}

export interface StepRef {
  workflow: string;
  job: string;
  step: any;
}

export function steps(file: WorkflowFile): StepRef[] {
  return Object.entries<any>(file.doc.jobs ?? {}).flatMap(([job, def]) =>
    (def.steps ?? []).map((step: any) => ({ workflow: file.path, job, step })),
  );
}

/** `$/actions/canary` or `./actions/canary` → `canary`; anything else → undefined. */
export function ownActionName(uses: string): string | undefined {
  return /^(?:\$\/|\.\/)actions\/([a-z0-9-]+)\/?$/.exec(uses)?.[1];
}
