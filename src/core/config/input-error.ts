/**
 * An error in what the user gave us: an action input or a config file.
 * Its message names the input (or config path), what was given and what is expected,
 * so a person can fix the workflow without reading our code.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
  constructor(message: string) {
    super(message);
  }
}
