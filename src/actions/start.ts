/**
 * What the runner starts first (bundled alone as dist/start.cjs: CommonJS, so that Node does not
 * even start its ES module loader): the inputs' quick checks (src/core/config/quick-check.ts).
 * Bad input they are certain of ends the step here, as runAction would end it: result=failed, the
 * summary, the failed step. Anything else (valid input, an input only zod can judge, the post
 * step) loads the one bundle and runs the action (src/actions/runtime.ts).
 */
import { appendFileSync } from 'node:fs';
import { EOL } from 'node:os';
import * as core from '@actions/core';
import { InputError } from '../core/config/input-error.js';
import { quickCheckWithoutFile } from '../core/specs/delivery-file-path.js';
import { quickChecks } from '../core/specs/quick-checks.js';
import { quickSecretPieces } from '../core/secret-pieces.js';
import { failureSummary } from './failure-summary.js';

/** Runs the action called `name`; `load` brings runAction (dist/index.js, or the sources under tsx). */
export async function startAction(name: string, load: () => Promise<{ runAction(name: string): Promise<void> }>): Promise<void> {
  const quick = quickChecks[name];
  if (!quick) throw new Error(`no action "${name}"; the actions are ${Object.keys(quickChecks).join(', ')}`);
  if (core.getState('isPost') !== 'true') {
    const raw = Object.fromEntries(Object.keys(quick.inputs).map((input) => [input, core.getInput(input)]));
    try {
      quickCheckWithoutFile(name, quick, raw, process.env.GITHUB_WORKSPACE ?? process.cwd());
    } catch (error) {
      // Anything but a bad input is for runAction to report, with every secret registered.
      if (error instanceof InputError)
        return failOnInput(
          quick.title,
          error,
          Object.keys(quick.inputs)
            .filter((input) => quick.inputs[input]!.secret)
            .map((input) => raw[input]!),
        );
    }
  }
  await (await load()).runAction(name);
}

/**
 * The message names each bad input without a secret's value (formatIssues); the secrets and
 * their pieces are masked all the same, before anything is written. The state, the output and
 * the summary go to the runner's files in the form GitHub documents for a value without a
 * newline, `name=value`: @actions/core writes `name<<delimiter` records, whose random delimiter
 * loads node:crypto, a tenth of this start.
 */
function failOnInput(title: string, error: InputError, secretValues: string[]): void {
  for (const value of secretValues) for (const piece of quickSecretPieces(value)) core.setSecret(piece);
  appendRunnerFile('GITHUB_STATE', `isPost=true${EOL}`);
  appendRunnerFile('GITHUB_OUTPUT', `result=failed${EOL}`);
  appendRunnerFile('GITHUB_STEP_SUMMARY', failureSummary(title, error.message) + EOL);
  core.setFailed(error.message);
}

function appendRunnerFile(variable: string, text: string): void {
  const file = process.env[variable];
  if (file) appendFileSync(file, text, 'utf8');
}
