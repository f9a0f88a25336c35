/**
 * The release workflow (.github/workflows/release.yml): GitHub's own parser accepts it, it runs
 * on version tags only, and its changelog step, run here as the runner would run it, takes the
 * notes of exactly the tagged version from CHANGELOG.md and refuses a tag without notes or
 * whose version package.json does not declare.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { githubParserErrors, ROOT } from '../workflows/workflow-files.js';

const path = '.github/workflows/release.yml';
const text = await readFile(join(ROOT, path), 'utf8');
const doc = parseYaml(text);
const steps: { name?: string; run?: string; env?: Record<string, string> }[] = doc.jobs.release.steps;
const notesStep = steps.find((s) => s.name?.startsWith('The tag matches package.json'))!;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pd-release-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs the notes step in a folder holding the given package.json version and changelog. */
async function notesFor(tag: string, version: string, changelog: string): Promise<{ code: number; notes: string; log: string }> {
  await writeFile(join(dir, 'package.json'), JSON.stringify({ version }));
  await writeFile(join(dir, 'CHANGELOG.md'), changelog);
  await rm(join(dir, 'notes.md'), { force: true });
  try {
    const log = execFileSync('bash', ['-e', '-c', notesStep.run!], {
      cwd: dir,
      env: { PATH: process.env.PATH, TAG: tag, RUNNER_TEMP: dir },
      encoding: 'utf8',
    });
    return { code: 0, notes: await readFile(join(dir, 'notes.md'), 'utf8'), log };
  } catch (error) {
    const e = error as { status: number; stdout: string };
    return { code: e.status, notes: '', log: e.stdout };
  }
}

const CHANGELOG = [
  '# Changelog',
  '',
  '## [Unreleased]',
  '- next',
  '',
  '## [1.2.0] - 2026-12-01',
  '',
  '### Fixed',
  '- one',
  '',
  '## [1.1.10] - 2026-11-01',
  '- older',
  '',
].join('\n');

describe('the release workflow', () => {
  test('passes GitHub’s workflow parser', () => {
    expect(githubParserErrors([{ kind: 'workflow', name: path, content: text }])[path]).toEqual([]);
  });

  test('runs on version tags, after CI, and only the release job may write', () => {
    expect(doc.on).toEqual({ push: { tags: ['v[0-9]+.[0-9]+.[0-9]+'] } });
    expect(doc.permissions).toEqual({ contents: 'read' });
    expect(doc.jobs.release.needs).toBe('ci');
    expect(doc.jobs.release.permissions).toEqual({ contents: 'write' });
    expect(doc.jobs.ci.steps.at(-1).run).toContain('scripts/ci.sh');
    expect(steps.map((s) => s.run ?? '').join('\n')).toMatch(
      /npm run build -- --check[\s\S]*gh release create[\s\S]*git push --force origin "refs\/tags\/\$major"/,
    );
  });

  test('takes the notes of the tagged version only', async () => {
    const { code, notes } = await notesFor('v1.2.0', '1.2.0', CHANGELOG);
    expect(code).toBe(0);
    expect(notes.trim()).toBe('### Fixed\n- one');
  });

  test('refuses a version with no section in the changelog', async () => {
    const { code, log } = await notesFor('v1.1.1', '1.1.1', CHANGELOG);
    expect(code).toBe(1);
    expect(log).toContain("CHANGELOG.md has no section '## [1.1.1]'");
  });

  test('refuses a tag that package.json does not declare', async () => {
    const { code, log } = await notesFor('v1.2.0', '1.1.10', CHANGELOG);
    expect(code).toBe(1);
    expect(log).toContain('package.json says version 1.1.10, the tag v1.2.0');
  });

  test('this repository’s changelog has the notes of package.json’s version', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
    const { code, notes } = await notesFor(`v${pkg.version}`, pkg.version, await readFile(join(ROOT, 'CHANGELOG.md'), 'utf8'));
    expect(code).toBe(0);
    expect(notes).toMatch(/\S/);
  });
});
