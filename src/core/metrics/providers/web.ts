/**
 * Argo's `web` provider (metricproviders/webmetric): fetch the URL; a JSON body gives the first
 * value `jsonPath` selects (the whole document without one); a body that is not JSON is the
 * result as text, jsonPath not applied (Argo's parseResponse: "non JSON body return as string"),
 * so `result == "OK"` can check a plain-text health endpoint. Unlike the Argo version that marks
 * such a body Successful without looking at it, the conditions decide, as for any value.
 */
import type { Value } from '../condition/evaluate.js';
import type { ResolvedProvider } from '../resolve.js';
import { request, type RequestOptions } from './http.js';
import { selectJsonPath } from './jsonpath.js';

type WebProvider = Extract<ResolvedProvider, { kind: 'web' }>;

export async function measureWeb(provider: WebProvider, options: RequestOptions = {}): Promise<{ value: Value; note?: string }> {
  const origin = new URL(provider.url).origin;
  const response = await request(
    {
      url: provider.url,
      method: provider.method,
      headers: {
        Accept: 'application/json',
        ...(provider.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        ...provider.headers,
      },
      body: provider.body,
      timeoutMs: provider.timeoutMs,
      what: `the web metric endpoint ${origin}`,
    },
    options,
  );
  let document: Value;
  try {
    document = JSON.parse(response.text) as Value;
  } catch {
    return {
      value: response.text,
      note: `the body is not JSON, so it is the result as text${provider.jsonPath ? ' (jsonPath not applied)' : ''}`,
    };
  }
  return { value: provider.jsonPath ? selectJsonPath(document, provider.jsonPath) : document };
}
