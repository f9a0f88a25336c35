import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

/** RFC 6902 operations, as the API server applies them (`application/json-patch+json`). */
export type JsonPatchOp =
  | { op: 'add' | 'replace' | 'test'; path: string; value: unknown }
  | { op: 'remove'; path: string };

/** A JSON pointer from path segments, escaping `~` and `/` (label keys such as app.kubernetes.io/version). */
export function pointer(...segments: (string | number)[]): string {
  return segments.map((s) => `/${String(s).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/** Per-call options that send a patch as JSON patch or JSON merge patch (never strategic merge). */
export const JSON_PATCH = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
export const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
