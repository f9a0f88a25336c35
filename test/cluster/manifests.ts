/** Loading multi-document YAML manifests from a file or a directory. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export function parseManifests(text: string): object[] {
  const out: object[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join('; '));
    const value = doc.toJSON();
    if (value === null || value === undefined) continue;
    if (value.kind === 'List' && Array.isArray(value.items)) out.push(...value.items);
    else out.push(value);
  }
  return out;
}

/** Every object in the *.yaml / *.yml / *.json files of a directory (sorted by name), or in one file. */
export async function loadManifests(path: string): Promise<object[]> {
  const info = await stat(path);
  const files = info.isDirectory()
    ? (await readdir(path))
        .filter((f) => /\.(ya?ml|json)$/.test(f))
        .sort()
        .map((f) => join(path, f))
    : [path];
  const out: object[] = [];
  for (const file of files) out.push(...parseManifests(await readFile(file, 'utf8')));
  return out;
}
