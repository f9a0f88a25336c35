/**
 * How the core sends patches: RFC 6902 operations (JsonPatchOp) addressed with `pointer`, and the
 * per-call options JSON_PATCH and MERGE_PATCH that set the content type and
 * `fieldManager=progressive-delivery`. Never strategic merge: custom resources do not support it.
 */
import { PatchStrategy, setHeaderMiddleware, type ConfigurationOptions, type ObservableMiddleware } from '@kubernetes/client-node';
import { FIELD_MANAGER } from './field-owners.js';

/** RFC 6902 operations, as the API server applies them (`application/json-patch+json`). */
export type JsonPatchOp = { op: 'add' | 'replace' | 'test'; path: string; value: unknown } | { op: 'remove'; path: string };

/** A JSON pointer from path segments, escaping `~` and `/` (label keys such as app.kubernetes.io/version). */
export function pointer(...segments: (string | number)[]): string {
  return segments.map((s) => `/${String(s).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/**
 * Per-call options that send a patch as JSON patch or JSON merge patch (never strategic merge),
 * with `fieldManager=progressive-delivery`: the API server records us under that name in
 * managedFields (instead of the User-Agent's prefix), so that GitOps tools can be told to leave
 * the fields we own alone (README "GitOps (Argo CD, Flux)").
 */
function patchOptions(contentType: string): ConfigurationOptions<ObservableMiddleware> {
  const header = setHeaderMiddleware('Content-Type', contentType);
  const middleware: ObservableMiddleware = {
    pre: (request) => {
      request.setQueryParam('fieldManager', FIELD_MANAGER);
      return header.pre(request);
    },
    post: (response) => header.post(response),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

export const JSON_PATCH = patchOptions(PatchStrategy.JsonPatch);
export const MERGE_PATCH = patchOptions(PatchStrategy.MergePatch);
