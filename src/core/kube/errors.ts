/**
 * How a Kubernetes call fails: KubeApiError, a call the API server refused or never answered, named
 * by verb and object (toKubeApiError builds it from whatever client-node threw, from the HTTP status
 * and the server's Status object only); and KubeObjectError, an object that is not as the operation
 * needs. isConflict, isNotFound, isAlreadyExists and isInvalid name the statuses callers act on.
 */
import { httpStatusOf } from '../retry.js';
import { describeRef, type ObjectRef } from './object-ref.js';

/** The verbs our messages use, as kubectl says them. */
export type Verb = 'get' | 'list' | 'create' | 'update' | 'patch' | 'delete' | 'watch' | 'scale';

/**
 * A failed call to the API server, named by verb and object:
 * `patch VirtualService shop/checkout: 409 Conflict: Operation cannot be fulfilled ...`.
 * Built only from the HTTP status and the server's Status object: never from the request,
 * so the kubeconfig and its token cannot end up in it.
 */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    readonly verb: Verb,
    readonly ref: ObjectRef,
    /** HTTP status; undefined for a network failure. */
    readonly status: number | undefined,
    /** The Status reason (Conflict, NotFound, Invalid, ...) or the network error code. */
    readonly reason: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${verb} ${describeRef(ref)}: ${status !== undefined ? `${status} ` : ''}${reason}${detail ? `: ${detail}` : ''}`, options);
  }
}

/** The object or its configuration is not what the operation needs (a missing route, a third destination, ...). */
export class KubeObjectError extends Error {
  override readonly name = 'KubeObjectError';
  constructor(
    readonly ref: ObjectRef,
    problem: string,
  ) {
    super(`${describeRef(ref)}: ${problem}`);
  }
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Gone',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
};

/** Wraps whatever client-node threw into a KubeApiError naming verb and object. */
export function toKubeApiError(verb: Verb, ref: ObjectRef, error: unknown): KubeApiError {
  if (error instanceof KubeApiError) return error;
  const status = httpStatusOf(error);
  if (status !== undefined) {
    const body = statusBody(error);
    const reason = body.reason || REASONS[status] || 'Error';
    return new KubeApiError(verb, ref, status, reason, truncate(body.message ?? ''), { cause: error });
  }
  const code = networkCode(error);
  return new KubeApiError(verb, ref, undefined, code ?? 'NetworkError', truncate(messageOf(error)), { cause: error });
}

export function isConflict(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 409;
}

export function isNotFound(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 404;
}

export function isAlreadyExists(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 409 && error.reason === 'AlreadyExists';
}

/** A JSON patch whose `test` failed: the object changed since we read it (or the patch is invalid). */
export function isInvalid(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 422;
}

/** client-node 2.x ApiException: `code` is the status, `body` the Status object or its JSON text. */
function statusBody(error: unknown): { reason?: string; message?: string } {
  let body = (error as { body?: unknown }).body;
  if (typeof body === 'string') {
    const text = body;
    try {
      body = JSON.parse(text);
    } catch {
      return { message: text };
    }
  }
  if (body && typeof body === 'object') {
    const { reason, message } = body as { reason?: unknown; message?: unknown };
    return { reason: typeof reason === 'string' ? reason : undefined, message: typeof message === 'string' ? message : undefined };
  }
  return {};
}

function networkCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, name } = e as { code?: unknown; name?: unknown };
    if (typeof code === 'string') return code;
    if (name === 'TimeoutError' || name === 'AbortError') return String(name);
  }
  return undefined;
}

function messageOf(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const m = (e as { message?: unknown }).message;
    if (typeof m === 'string' && m && !parts.includes(m)) parts.push(m);
  }
  return parts.join(': ') || String(error);
}

function truncate(text: string, max = 500): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
