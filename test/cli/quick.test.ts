import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { quickCli } from '../../src/cli/quick.js';
import { actions } from '../../src/core/specs/index.js';

/**
 * The command line's quick input checks (src/cli/quick.ts) against its full parse (runCli with the
 * specs and zod): a bad input they report must be reported exactly as runCli reports it, with the
 * same exit code; what they cannot judge goes on to runCli.
 */
let workspace: string;
let stderr: string;
beforeEach(() => {
  // No delivery file here, so the quick checks can judge.
  workspace = mkdtempSync(join(tmpdir(), 'pd-cli-quick-'));
  vi.stubEnv('GITHUB_WORKSPACE', workspace);
  stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

async function both(
  argv: string[],
): Promise<{ quick: { code: number | undefined; stderr: string }; full: { code: number; stderr: string } }> {
  stderr = '';
  const quickCode = await quickCli(argv);
  const quick = { code: quickCode, stderr };
  stderr = '';
  const fullCode = await runCli(actions, argv);
  return { quick, full: { code: fullCode, stderr } };
}

describe('the command line quick input checks', () => {
  const cases: Record<string, string[]> = {
    'missing required inputs': ['canary'],
    'a bad namespace and a bad enum value': [
      'blue-green',
      '--namespace',
      'Bad_NS',
      '--service',
      'cart',
      '--image',
      'registry.example.com/cart:2',
      '--wait-for-ready',
      'maybe',
    ],
    'an unknown option': ['rollback', '--nope', 'x'],
    'an option without a value': ['validate', '--namespace'],
  };
  for (const [what, argv] of Object.entries(cases)) {
    test(`${what}: the same message and exit code as the full parse`, async () => {
      const { quick, full } = await both(argv);
      expect(full.code).toBe(2);
      expect(quick.code).toBe(2);
      expect(quick.stderr).toMatch(/^error/);
      expect(quick.stderr).toBe(full.stderr);
    });
  }

  test('a secret given too short is reported without its value', async () => {
    const { quick, full } = await both(['canary', '--kubeconfig', 'sekrit-value-1']);
    expect(quick.code).toBe(2);
    expect(quick.stderr).toBe(full.stderr);
    expect(quick.stderr).toContain("'kubeconfig'");
    expect(quick.stderr).not.toContain('sekrit-value-1');
  });

  test('writes the summary file on a bad input, as runCli does', async () => {
    const summary = join(workspace, 'summary.md');
    expect(await quickCli(['canary', '--summary-file', summary])).toBe(2);
    expect(readFileSync(summary, 'utf8')).toBe('');
  });

  test('leaves help, unknown actions and inputs it cannot fault to runCli', async () => {
    expect(await quickCli(['canary', '--help'])).toBeUndefined();
    expect(await quickCli(['no-such-action'])).toBeUndefined();
    expect(await quickCli([])).toBeUndefined();
    expect(await quickCli(['rollback', '--namespace', 'shop', '--service', 'cart'])).toBeUndefined();
    expect(stderr).toBe('');
  });
});
