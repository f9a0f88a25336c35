/**
 * Kubernetes `Status` objects and the error type the HTTP layer turns into them.
 * Reasons and messages follow k8s.io/apimachinery/pkg/api/errors.
 */

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toStatus(): Status {
    return failureStatus(this.code, this.reason, this.message, this.details);
  }
}

export function failureStatus(code: number, reason: string, message: string, details?: StatusDetails): Status {
  const status: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details && Object.keys(details).length > 0) status.details = details;
  return status;
}

export function successStatus(details?: StatusDetails): Status {
  const status: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 200 };
  if (details) status.details = details;
  return status;
}

/** "deployments.apps" or "pods" for the core group, as used in error messages. */
export function qualifiedResource(plural: string, group: string): string {
  return group ? `${plural}.${group}` : plural;
}

export const errors = {
  notFound(plural: string, group: string, name: string): ApiError {
    return new ApiError(404, 'NotFound', `${qualifiedResource(plural, group)} "${name}" not found`, { name, group, kind: plural });
  },
  alreadyExists(plural: string, group: string, name: string): ApiError {
    return new ApiError(409, 'AlreadyExists', `${qualifiedResource(plural, group)} "${name}" already exists`, {
      name,
      group,
      kind: plural,
    });
  },
  conflict(plural: string, group: string, name: string): ApiError {
    return new ApiError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${qualifiedResource(plural, group)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      { name, group, kind: plural },
    );
  },
  invalid(kind: string, group: string, name: string, causes: StatusCause[]): ApiError {
    const groupKind = group ? `${kind}.${group}` : kind;
    const list = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
    const summary = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
    return new ApiError(422, 'Invalid', `${groupKind} "${name}" is invalid: ${summary}`, {
      name,
      group,
      kind,
      causes,
    });
  },
  badRequest(message: string): ApiError {
    return new ApiError(400, 'BadRequest', message);
  },
  unauthorized(): ApiError {
    return new ApiError(401, 'Unauthorized', 'Unauthorized');
  },
  methodNotAllowed(method: string): ApiError {
    return new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`, {
      causes: [{ message: `method ${method} is not allowed` }],
    });
  },
  unsupportedMediaType(contentType: string, supported: string[]): ApiError {
    return new ApiError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${supported.join(', ')}`,
      { causes: [{ reason: 'UnsupportedMediaType', message: `unsupported media type "${contentType}"` }] },
    );
  },
  pathNotFound(): ApiError {
    return new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  },
  gone(message: string): ApiError {
    return new ApiError(410, 'Expired', message);
  },
  internal(message: string): ApiError {
    return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, {
      causes: [{ message }],
    });
  },
};

/** The reason the real server uses for a fault's status code. */
export function reasonForCode(code: number): string {
  switch (code) {
    case 400:
      return 'BadRequest';
    case 401:
      return 'Unauthorized';
    case 403:
      return 'Forbidden';
    case 404:
      return 'NotFound';
    case 405:
      return 'MethodNotAllowed';
    case 409:
      return 'Conflict';
    case 410:
      return 'Expired';
    case 415:
      return 'UnsupportedMediaType';
    case 422:
      return 'Invalid';
    case 429:
      return 'TooManyRequests';
    case 500:
      return 'InternalError';
    case 503:
      return 'ServiceUnavailable';
    case 504:
      return 'Timeout';
    default:
      return code >= 500 ? 'InternalError' : 'BadRequest';
  }
}

export function messageForCode(code: number): string {
  switch (code) {
    case 429:
      return 'Too many requests, please try again later.';
    case 503:
      return 'the server is currently unable to handle the request';
    case 504:
      return 'the server was unable to return a response in the time allotted, but may still be processing the request';
    case 500:
      return 'Internal error occurred: injected fault';
    default:
      return `injected fault (HTTP ${code})`;
  }
}
