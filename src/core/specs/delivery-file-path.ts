/**
 * Where an action's delivery file is looked for, without loading yaml or zod: the runtime asks
 * this before its quick input checks (src/core/config/quick-check.ts), which can only judge the
 * inputs when no delivery file can fill them. The file itself is read by delivery-file.ts.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { type QuickSpec, quickCheckInputs } from '../config/quick-check.js';
import { InputError } from '../config/input-error.js';

/** The default path of a service's delivery file, relative to the repository root. */
export function defaultDeliveryFile(service: string): string {
  return `.github/delivery/${service}.yaml`;
}

/** What an input error adds when no delivery file was read, so the user knows where inputs may go. */
export function noDeliveryFileHint(raw: Record<string, string | undefined>): string {
  const service = raw.service?.trim() || '<service>';
  return `No delivery file was read (${raw['delivery-file']?.trim() || defaultDeliveryFile(service)} does not exist): give the inputs, or put them in that file.`;
}

/**
 * The quick checks of an action's raw inputs, when no delivery file can fill them: with a
 * `delivery-file` input given, or a file at the service's default path, only the full parse can
 * judge them and this returns. Its error is the one parseInputsWithFile would throw.
 */
export function quickCheckWithoutFile(name: string, quick: QuickSpec, raw: Record<string, string | undefined>, workspace: string): void {
  const readsFile = 'delivery-file' in quick.inputs;
  if (readsFile) {
    if (raw['delivery-file']?.trim()) return;
    const service = raw.service?.trim();
    if (service && existsSync(resolve(workspace, defaultDeliveryFile(service)))) return;
  }
  try {
    quickCheckInputs(name, quick, raw);
  } catch (error) {
    if (readsFile && error instanceof InputError) throw new InputError(`${error.message}\n  ${noDeliveryFileHint(raw)}`);
    throw error;
  }
}
