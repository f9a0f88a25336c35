/**
 * The authorization attributes of a request, parsed from its method, path and query exactly as
 * staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo.go (RequestInfoFactory.NewRequestInfo)
 * does it, before any routing: so a request for a type the server does not serve is still
 * authorized (and denied) like any other.
 */

export interface RequestInfo {
  isResourceRequest: boolean;
  /** The URL path, for non-resource requests (and kept for resource requests). */
  path: string;
  verb: string;
  apiPrefix: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
}

const API_PREFIXES = new Set(['api', 'apis']);
const GROUPLESS_API_PREFIXES = new Set(['api']);
/** specialVerbs: verbs given as the first path segment after the version. */
const SPECIAL_VERBS = new Set(['proxy', 'watch']);
const SPECIAL_VERBS_NO_SUBRESOURCES = new Set(['proxy']);
/** namespaceSubresources: /api/v1/namespaces/{name}/status is the namespace's status, not a resource "status" in it. */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);
/** IsValidPathSegmentName (apimachinery/pkg/api/validation/path). */
const validPathSegmentName = (name: string) => name !== '.' && name !== '..' && !name.includes('/') && !name.includes('%');

/** What Go's strconv.ParseBool reads as true (the parameter codec decodes `watch` with it). */
const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);

function verbOfMethod(method: string): string {
  switch (method) {
    case 'POST':
      return 'create';
    case 'GET':
    case 'HEAD':
      return 'get';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return '';
  }
}

/** `metadata.name=x` (or `==`) among a field selector's requirements, as fields.Selector.RequiresExactMatch finds it. */
function exactName(fieldSelector: string | null): string | undefined {
  if (!fieldSelector) return undefined;
  for (const term of fieldSelector.split(',')) {
    const m = /^\s*metadata\.name\s*==?\s*(.*?)\s*$/.exec(term);
    if (m) return m[1];
  }
  return undefined;
}

export function requestInfo(method: string, path: string, query: URLSearchParams): RequestInfo {
  const info: RequestInfo = {
    isResourceRequest: false,
    path,
    verb: method.toLowerCase(),
    apiPrefix: '',
    apiGroup: '',
    apiVersion: '',
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
  };
  let parts = path
    .replace(/^\/+|\/+$/g, '')
    .split('/')
    .filter((p) => p !== '');
  // Non-resource requests: fewer than three segments, or not under /api or /apis.
  if (parts.length < 3 || !API_PREFIXES.has(parts[0]!)) return info;
  info.apiPrefix = parts[0]!;
  parts = parts.slice(1);
  if (!GROUPLESS_API_PREFIXES.has(info.apiPrefix)) {
    if (parts.length < 3) return info; // /apis/{group}/{version}: discovery, a non-resource request
    info.apiGroup = parts[0]!;
    parts = parts.slice(1);
  }
  info.isResourceRequest = true;
  info.apiVersion = parts[0]!;
  parts = parts.slice(1);

  if (SPECIAL_VERBS.has(parts[0]!)) {
    if (parts.length < 2) throw new Error(`unable to determine kind and namespace from url, ${path}`);
    info.verb = parts[0]!;
    parts = parts.slice(1);
  } else {
    info.verb = verbOfMethod(method);
  }

  if (parts[0] === 'namespaces') {
    if (parts.length > 1) {
      info.namespace = parts[1]!;
      if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2]!)) parts = parts.slice(2);
    }
  }

  if (parts.length >= 3 && !SPECIAL_VERBS_NO_SUBRESOURCES.has(info.verb)) info.subresource = parts[2]!;
  if (parts.length >= 2) info.name = parts[1]!;
  if (parts.length >= 1) info.resource = parts[0]!;

  // No name and a get: a list or a watch (watch=true); a field selector on metadata.name names the object.
  if (info.name === '' && info.verb === 'get') {
    const watch = query.get('watch');
    info.verb = watch !== null && GO_TRUE.has(watch) ? 'watch' : 'list';
    const name = exactName(query.get('fieldSelector'));
    if (name !== undefined && validPathSegmentName(name)) info.name = name;
  }
  if (info.name === '' && info.verb === 'delete') info.verb = 'deletecollection';
  return info;
}
