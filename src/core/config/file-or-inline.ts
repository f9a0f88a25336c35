/**
 * Inputs that take YAML either inline or as the path of a file in the workspace: which one
 * a value is, and reading the file without leaving the workspace.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { InputError } from './input-error.js';

/** A value that looks like a file name rather than YAML: one line, no braces or colons, ending .yaml/.yml/.json. */
const FILE = /^[^\n{}:]+\.(ya?ml|json)$/i;

export interface InputText {
  text: string;
  /** Names where the text came from in later messages: `<input> input`, or the file path. */
  source: string;
}

/**
 * An input that holds YAML inline, or the path of a .yaml/.yml/.json file inside the workspace
 * (a path outside it is refused: an input must not become a way to read the runner's files).
 */
export async function readFileOrInline(inputName: string, value: string, workspace: string): Promise<InputText> {
  const trimmed = value.trim();
  if (!FILE.test(trimmed)) return { text: value, source: `${inputName} input` };
  const path = resolve(workspace, trimmed);
  const inside = relative(resolve(workspace), path);
  if (inside.startsWith('..') || isAbsolute(inside)) {
    throw new InputError(
      `${inputName}: ${trimmed} is outside the workspace (${workspace}); give a path inside the repository, or inline YAML`,
    );
  }
  try {
    return { text: await readFile(path, 'utf8'), source: trimmed };
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new InputError(
      `${inputName}: cannot read ${trimmed} (${code ?? 'error'}) relative to ${workspace}; check the path, or give the ${inputName} inline`,
    );
  }
}
