/**
 * The harness itself: simulate.ts reproduces documented GitHub behaviour, so that the release
 * scenarios mean something. Each case cites where GitHub says so.
 */
import { describe, expect, it } from 'vitest';
import { modelsOf, ranJobs, simulate } from './simulate.js';

const W = (jobs: string, on = 'workflow_call:\n    inputs:\n      flag: { type: boolean, default: true }\n') =>
  `on:\n  ${on}jobs:\n${jobs}`;
const models = modelsOf([
  {
    // actions/runner#2205: success() looks at every ancestor, so C is skipped although B succeeded.
    name: 'transitive.yml',
    content: W(
      `  a:\n    if: false\n    runs-on: x\n    steps: [{ run: 'true' }]\n  b:\n    needs: a\n    if: always()\n    runs-on: x\n    steps: [{ run: 'true' }]\n  c:\n    needs: b\n    runs-on: x\n    steps: [{ run: 'true' }]\n`,
    ),
  },
  {
    // "If you have a chain of dependent jobs, failure() returns true if any ancestor job fails."
    // https://docs.github.com/actions/learn-github-actions/expressions#failure
    name: 'failure.yml',
    content: W(
      `  a:\n    runs-on: x\n    steps: [{ run: 'exit 1' }]\n  b:\n    needs: a\n    if: always()\n    runs-on: x\n    steps: [{ run: 'true' }]\n  c:\n    needs: b\n    if: failure()\n    runs-on: x\n    steps: [{ run: 'true' }]\n  d:\n    needs: b\n    if: inputs.flag\n    runs-on: x\n    steps: [{ run: 'true' }]\n`,
    ),
  },
  {
    // A multi-line ${{ }} in a folded scalar is a string with text around the expression: always true.
    name: 'folded.yml',
    content: W(
      `  a:\n    if: >-\n      \${{ false\n      && false }}\n    runs-on: x\n    steps: [{ run: 'true' }]\n  b:\n    if: >-\n      false\n      && false\n    runs-on: x\n    steps: [{ run: 'true' }]\n`,
    ),
  },
  {
    name: 'steps.yml',
    content: W(
      `  a:\n    runs-on: x\n    outputs:\n      out: \${{ steps.one.outputs.value }}\n      flag: \${{ inputs.flag != false }}\n    steps:\n      - id: one\n        run: echo "value=hello" >> "$GITHUB_OUTPUT"\n      - id: two\n        run: exit 3\n      - id: three\n        run: 'true'\n      - id: four\n        if: failure()\n        run: 'true'\n`,
      'workflow_call:\n    inputs:\n      flag: { type: boolean, default: true }\n  workflow_dispatch:\n',
    ),
  },
]);

describe('simulate.ts follows GitHub', () => {
  it('success() covers every ancestor: a job after an always() job whose need was skipped is skipped (actions/runner#2205)', async () => {
    expect(ranJobs(await simulate(models['transitive.yml']!, { trigger: 'call', inputs: {} }))).toEqual(['b']);
  });

  it('failure() sees any ancestor; a condition without a status function gets success() && (…)', async () => {
    const run = await simulate(models['failure.yml']!, { trigger: 'call', inputs: {} });
    expect(ranJobs(run)).toEqual(['a', 'b', 'c']);
    expect(run.jobs.a!.result).toBe('failure');
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression ${{ }}, not a template
  it('a folded multi-line ${{ }} condition is always true; the same without ${{ }} is evaluated', async () => {
    expect(ranJobs(await simulate(models['folded.yml']!, { trigger: 'call', inputs: {} }))).toEqual(['a']);
  });

  it('run steps write outputs; a failed step skips the next ones except failure(); `inputs.x != false` is false when x is null (dispatch)', async () => {
    const call = await simulate(models['steps.yml']!, { trigger: 'call', inputs: {} });
    const a = call.jobs.a!;
    expect(Object.values(a.steps).map((s) => `${s.id}:${s.outcome}`)).toEqual([
      'one:success',
      'two:failure',
      'three:skipped',
      'four:success',
    ]);
    expect(a.result).toBe('failure');
    expect(a.outputs).toEqual({ out: 'hello', flag: 'true' });
    const dispatch = await simulate(models['steps.yml']!, { trigger: 'dispatch', inputs: {} });
    expect(dispatch.jobs.a!.outputs.flag).toBe('false');
  });

  it('refuses inputs a trigger does not declare, and a missing required one', async () => {
    await expect(simulate(models['steps.yml']!, { trigger: 'call', inputs: { nope: 'x' } })).rejects.toThrow(/not defined/);
  });
});
