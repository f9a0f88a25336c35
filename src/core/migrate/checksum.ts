/**
 * What a phase ran, as a checksum (as Flyway and Atlas keep one per migration): SHA-256 of its
 * argument list and of each file an argument names (`-f expand.sql`, `--file=expand.sql`,
 * `expand.js`), read relative to the working directory. Files a named file includes (`\ir`)
 * and directories are not read: name them in the command to have them counted.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

export interface CommandChecksum {
  /** `sha256:<hex>` over the argument list and the files. */
  checksum: string;
  /** The argument list's own hash and each file's, to say what changed. */
  parts: { argv: string; files: Record<string, string> };
}

export function commandChecksum(argv: readonly string[], cwd = process.cwd()): CommandChecksum {
  const files: Record<string, string> = {};
  for (const arg of argv) {
    for (const candidate of [arg, arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : undefined]) {
      if (!candidate || candidate.startsWith('$') || files[candidate]) continue;
      const content = readRegularFile(resolve(cwd, candidate));
      if (content) files[candidate] = sha256(content);
    }
  }
  const parts = { argv: sha256(JSON.stringify(argv)), files };
  const all = [
    parts.argv,
    ...Object.keys(files)
      .sort()
      .map((name) => `${name}\0${files[name]}`),
  ].join('\n');
  return { checksum: `sha256:${sha256(all)}`, parts };
}

/** What differs between a recorded checksum and this one, in words ("the argument list", "file expand.sql"). */
export function describeChange(recorded: CommandChecksum['parts'] | null, now: CommandChecksum['parts']): string {
  if (!recorded) return 'the recorded row has no details';
  const changes: string[] = [];
  if (recorded.argv !== now.argv) changes.push('the argument list');
  for (const name of new Set([...Object.keys(recorded.files), ...Object.keys(now.files)])) {
    if (recorded.files[name] !== now.files[name]) changes.push(`file ${name}`);
  }
  return changes.length ? `changed: ${changes.join(', ')}` : 'same argument list and files';
}

function readRegularFile(path: string): Buffer | undefined {
  try {
    return statSync(path).isFile() ? readFileSync(path) : undefined;
  } catch {
    return undefined;
  }
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
