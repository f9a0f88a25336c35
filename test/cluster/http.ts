/**
 * The HTTP front end: request log, fault injection, bearer-token auth, routing
 * of discovery and resource paths, body decoding and Status error answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { ApiError, errors, failureStatus, messageForCode, reasonForCode, successStatus } from './status.js';
import { findByPlural, type ResourceType } from './resources.js';
import type { Api, Target } from './api.js';
import { CREATED } from './apply.js';
import { warningHeaders } from './schemas.js';
import type { WatchHub } from './watch.js';
import type { FaultInjector } from './faults.js';
import type { AccessControl } from './access.js';
import type { ServedApis } from './served-apis.js';
import {
  AGGREGATED_DISCOVERY_CONTENT_TYPE,
  aggregatedDiscovery,
  apiGroup,
  apiGroupList,
  apiResourceList,
  legacyApiVersions,
  versionInfo,
  wantsAggregated,
} from './discovery.js';
import { toTable, wantsTable } from './table.js';
import { openApiV3GroupVersion, openApiV3Root } from './openapi.js';
import { decodeProtobufObject, PROTOBUF_CONTENT_TYPE } from './protobuf.js';

export interface RequestRecord {
  method: string;
  path: string;
  query: string;
  status: number;
  at: number;
}

export interface HttpContext {
  api: Api;
  watches: WatchHub;
  faults: FaultInjector;
  /** Authentication, authorization (RBAC) and the auth endpoints (access.ts). */
  access: AccessControl;
  /** The groups and versions served (option omitApis). */
  served: ServedApis;
  requests: RequestRecord[];
}

const PUBLIC_PATHS = new Set(['/version', '/healthz', '/readyz', '/livez']);
const MAX_BODY_BYTES = 3 * 1024 * 1024;

function sendJson(
  res: ServerResponse,
  code: number,
  body: unknown,
  contentType = 'application/json',
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, err: unknown): void {
  if (err instanceof ApiError) {
    sendJson(res, err.code, err.toStatus(), 'application/json', err.headers);
    return;
  }
  const message = err instanceof Error ? err.message : String(err);
  sendJson(res, 500, errors.internal(message).toStatus());
}

function readBodyBytes(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function readBody(req: IncomingMessage): Promise<string> {
  return (await readBodyBytes(req)).toString('utf8');
}

/** Read and decode an object body: JSON, YAML, or (for a few kinds) protobuf. */
async function readObjectBody(req: IncomingMessage): Promise<unknown> {
  const bytes = await readBodyBytes(req);
  const type = (req.headers['content-type'] ?? 'application/json').split(';')[0]!.trim().toLowerCase();
  if (type === PROTOBUF_CONTENT_TYPE) return decodeProtobufObject(bytes);
  return decodeObjectBody(type, bytes.toString('utf8'));
}

function decodeObjectBody(contentType: string | undefined, text: string): unknown {
  const type = (contentType ?? 'application/json').split(';')[0]!.trim().toLowerCase();
  if (text.trim() === '') throw errors.badRequest('the body of the request was empty');
  if (type === 'application/json' || type === '' || type === '*/*') {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw errors.badRequest(`the object provided is unrecognized (must be of type JSON): ${(err as Error).message}`);
    }
  }
  if (type === 'application/yaml') {
    try {
      return parseYaml(text);
    } catch (err) {
      throw errors.badRequest(`error converting YAML to JSON: ${(err as Error).message}`);
    }
  }
  throw errors.unsupportedMediaType(type, ['application/json', 'application/yaml']);
}

interface ResourceRoute extends Target {
  watch: boolean;
}

/** Map a resource path to its type, namespace, name and subresource. */
export function parseResourcePath(pathname: string): ResourceRoute | undefined {
  const parts = pathname
    .split('/')
    .filter((p) => p.length > 0)
    .map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 2) {
    group = '';
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  let watch = false;
  if (rest[0] === 'watch') {
    watch = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && findByPlural(group, version, rest[2]!)?.namespaced) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, subresource, ...extra] = rest;
  if (!plural || extra.length > 0) return undefined;
  const type = findByPlural(group, version, plural);
  if (!type) return undefined;
  if (subresource && !type.subresources.includes(subresource as 'status' | 'scale' | 'token')) return undefined;
  return { type, version, namespace, name, subresource, watch };
}

function boolParam(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === 'true' || v === '1';
}

export function createRequestHandler(ctx: HttpContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    const record: RequestRecord = { method, path: url.pathname, query: url.search.slice(1), status: 0, at: Date.now() };
    ctx.requests.push(record);
    const originalWriteHead = res.writeHead.bind(res);
    res.writeHead = ((code: number, ...args: any[]) => {
      record.status = code;
      return (originalWriteHead as any)(code, ...args);
    }) as typeof res.writeHead;

    void handle(ctx, req, res, url, method).catch((err) => {
      if (!res.headersSent) sendError(res, err);
      else res.destroy();
    });
  };
}

async function applyFault(ctx: HttpContext, req: IncomingMessage, res: ServerResponse, url: URL, method: string): Promise<boolean> {
  const hit = ctx.faults.match(method, url.pathname, url.search.slice(1));
  if (!hit) return false;
  const { rule } = hit;
  if (rule.delayMs && rule.delayMs > 0) await new Promise((r) => setTimeout(r, rule.delayMs));
  if (rule.drop) {
    req.socket.destroy();
    return true;
  }
  if (rule.status !== undefined) {
    const details = rule.retryAfterSeconds !== undefined ? { retryAfterSeconds: rule.retryAfterSeconds } : undefined;
    const headers: Record<string, string> = rule.retryAfterSeconds !== undefined ? { 'Retry-After': String(rule.retryAfterSeconds) } : {};
    sendJson(
      res,
      rule.status,
      failureStatus(rule.status, reasonForCode(rule.status), messageForCode(rule.status), details),
      'application/json',
      headers,
    );
    return true;
  }
  return false;
}

async function handle(ctx: HttpContext, req: IncomingMessage, res: ServerResponse, url: URL, method: string): Promise<void> {
  if (await applyFault(ctx, req, res, url, method)) return;
  const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;

  if (PUBLIC_PATHS.has(path)) {
    if (path === '/version') return sendJson(res, 200, versionInfo());
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('ok');
    return;
  }
  const user = ctx.access.authenticate(req); // 401
  const info = ctx.access.authorize(user, method, url.pathname, url.searchParams); // 403
  if (await ctx.access.serve(user, info, req, res)) return; // TokenRequest, access reviews

  if (method === 'GET' && (await serveDiscovery(req, res, path, ctx.served.types))) return;

  const route = parseResourcePath(path);
  if (!route || !ctx.served.serves(route.type.group, route.version)) throw errors.pathNotFound();
  await serveResource(ctx, req, res, url, method, route);
}

async function serveDiscovery(req: IncomingMessage, res: ServerResponse, path: string, types: ResourceType[]): Promise<boolean> {
  const accept = req.headers.accept;
  if (path === '/api' || path === '/apis') {
    if (wantsAggregated(accept)) {
      sendJson(res, 200, aggregatedDiscovery(path === '/api', types), AGGREGATED_DISCOVERY_CONTENT_TYPE);
    } else {
      sendJson(res, 200, path === '/api' ? legacyApiVersions() : apiGroupList(types));
    }
    return true;
  }
  if (path === '/openapi/v3') {
    sendJson(res, 200, openApiV3Root(types));
    return true;
  }
  const parts = path.split('/').filter(Boolean);
  if (parts[0] === 'openapi' && parts[1] === 'v3') {
    const rest = parts.slice(2);
    const doc =
      rest[0] === 'api' && rest.length === 2
        ? openApiV3GroupVersion('', rest[1]!, types)
        : rest[0] === 'apis' && rest.length === 3
          ? openApiV3GroupVersion(rest[1]!, rest[2]!, types)
          : undefined;
    if (!doc) throw errors.pathNotFound();
    sendJson(res, 200, doc);
    return true;
  }
  if (parts[0] === 'api' && parts.length === 2) {
    const list = apiResourceList('', parts[1]!, types);
    if (!list) throw errors.pathNotFound();
    sendJson(res, 200, list);
    return true;
  }
  if (parts[0] === 'apis' && parts.length === 2) {
    const group = apiGroup(parts[1]!, types);
    if (!group) throw errors.pathNotFound();
    sendJson(res, 200, group);
    return true;
  }
  if (parts[0] === 'apis' && parts.length === 3) {
    const list = apiResourceList(parts[1]!, parts[2]!, types);
    if (!list) throw errors.pathNotFound();
    sendJson(res, 200, list);
    return true;
  }
  return false;
}

async function serveResource(
  ctx: HttpContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  method: string,
  route: ResourceRoute,
): Promise<void> {
  const q = url.searchParams;
  const dryRun = q.getAll('dryRun').includes('All');
  const writeCtx = {
    fieldManager: q.get('fieldManager') ?? undefined,
    force: q.get('force'),
    userAgent: req.headers['user-agent'],
    fieldValidation: q.get('fieldValidation') ?? undefined,
    warnings: [] as string[],
  };
  const t: ResourceType = route.type;
  const isCollection = route.name === undefined;
  const listOpts = { labelSelector: q.get('labelSelector'), fieldSelector: q.get('fieldSelector') };
  const pageOpts = { limit: q.get('limit') ? Number(q.get('limit')) : undefined, continue: q.get('continue') };
  const respond = (code: number, body: any) => {
    if (wantsTable(req.headers.accept)) sendJson(res, code, toTable(t, body), 'application/json;as=Table;v=v1;g=meta.k8s.io');
    else sendJson(res, code, body);
  };

  if (method === 'GET' && (route.watch || boolParam(q, 'watch'))) {
    const watchTarget = { ...route };
    let fieldSelector = listOpts.fieldSelector;
    if (!isCollection) {
      // legacy /watch/.../<name>
      fieldSelector = `metadata.name=${route.name}`;
      watchTarget.name = undefined;
    }
    const timeout = q.get('timeoutSeconds');
    ctx.watches.serve(
      watchTarget,
      {
        labelSelector: listOpts.labelSelector,
        fieldSelector,
        resourceVersion: q.get('resourceVersion'),
        timeoutSeconds: timeout ? Number(timeout) : undefined,
        allowWatchBookmarks: boolParam(q, 'allowWatchBookmarks'),
        sendInitialEvents: boolParam(q, 'sendInitialEvents'),
      },
      res,
    );
    return;
  }

  if (isCollection) {
    switch (method) {
      case 'GET':
        return respond(200, ctx.api.list(route, { ...listOpts, ...pageOpts }));
      case 'POST': {
        const body = await readObjectBody(req);
        return sendJson(res, 201, ctx.api.create(route, body, dryRun, writeCtx), 'application/json', warningHeaders(writeCtx));
      }
      case 'DELETE':
        await readBody(req);
        return sendJson(res, 200, ctx.api.deleteCollection(route, listOpts));
      default:
        throw errors.methodNotAllowed(method);
    }
  }

  switch (method) {
    case 'GET':
      return respond(200, ctx.api.get(route));
    case 'PUT': {
      const body = await readObjectBody(req);
      return sendJson(res, 200, ctx.api.update(route, body, dryRun, writeCtx), 'application/json', warningHeaders(writeCtx));
    }
    case 'PATCH': {
      const text = await readBody(req);
      const patched = ctx.api.patch(route, req.headers['content-type'] ?? '', text, dryRun, writeCtx);
      return sendJson(res, (patched as any)[CREATED] ? 201 : 200, patched, 'application/json', warningHeaders(writeCtx));
    }
    case 'DELETE': {
      if (route.subresource) throw errors.methodNotAllowed(method);
      const text = await readBody(req);
      let options: any = {};
      if (text.trim()) options = decodeObjectBody(req.headers['content-type'], text);
      const policy = q.get('propagationPolicy');
      if (policy) options = { ...options, propagationPolicy: policy };
      const deleted = ctx.api.delete(route, options, dryRun);
      if (t.kind === 'Pod') return sendJson(res, 200, deleted);
      return sendJson(res, 200, successStatus({ name: deleted.metadata.name, group: t.group, kind: t.plural, uid: deleted.metadata.uid }));
    }
    default:
      throw errors.methodNotAllowed(method);
  }
}
