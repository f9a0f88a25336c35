import type { Value } from '../condition/evaluate.js';
import type { ResolvedProvider } from '../resolve.js';
import { request, type RequestOptions } from './http.js';
import { selectJsonPath } from './jsonpath.js';

type WebProvider = Extract<ResolvedProvider, { kind: 'web' }>;

/** Argo's `web` provider: fetch JSON, pick the value with `jsonPath` (the whole document without one). */
export async function measureWeb(provider: WebProvider, options: RequestOptions = {}): Promise<Value> {
  const origin = new URL(provider.url).origin;
  const response = await request(
    {
      url: provider.url,
      method: provider.method,
      headers: { Accept: 'application/json', ...(provider.body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...provider.headers },
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
    throw new Error(`the web metric endpoint ${origin} did not answer with JSON`);
  }
  return provider.jsonPath ? selectJsonPath(document, provider.jsonPath) : document;
}
