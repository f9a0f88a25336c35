/**
 * User impersonation (`kubectl --as USER --as-group GROUP --as-uid UID`), as
 * staging/src/k8s.io/apiserver/pkg/endpoints/filters/impersonation.go does it after authentication:
 * the requester needs the `impersonate` verb on users / serviceaccounts (in the named namespace) /
 * groups / uids / userextras/KEY (authentication.k8s.io) for each thing asked for, else the 403 of
 * that check; the request then runs as the impersonated user, who gets `system:authenticated`, and
 * for a ServiceAccount without given groups the ServiceAccount groups.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { errors } from './status.js';
import { AUTHENTICATED_GROUP, serviceAccountUser, type UserInfo } from './authn.js';
import { forbidden, type Attributes, type Rbac } from './rbac.js';

const EXTRA_PREFIX = 'impersonate-extra-';

function headerValues(headers: IncomingHttpHeaders, name: string): string[] {
  const v = headers[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v])
    .flatMap((x) => x.split(','))
    .map((x) => x.trim())
    .filter((x) => x !== '');
}

function impersonate(resource: string, opts: Partial<Attributes> = {}): Attributes {
  return {
    isResourceRequest: true,
    path: '',
    verb: 'impersonate',
    apiGroup: '',
    apiVersion: 'v1',
    namespace: '',
    resource,
    subresource: '',
    name: '',
    ...opts,
  };
}

/** The user a request acts as: the requester, or whom it impersonates if allowed (403 if not). */
export function impersonatedUser(requester: UserInfo, headers: IncomingHttpHeaders, rbac: Rbac): UserInfo {
  const username = typeof headers['impersonate-user'] === 'string' ? headers['impersonate-user'] : undefined;
  const groups = headerValues(headers, 'impersonate-group');
  const uid = typeof headers['impersonate-uid'] === 'string' ? headers['impersonate-uid'] : undefined;
  const extraKeys = Object.keys(headers).filter((h) => h.startsWith(EXTRA_PREFIX));
  if (username === undefined) {
    if (groups.length || uid !== undefined || extraKeys.length) {
      throw errors.internal(`requested ${[...groups, ...(uid ? [uid] : [])].join(', ')} without impersonating a user`);
    }
    return requester;
  }
  const checks: Attributes[] = [];
  let user: UserInfo;
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username);
  if (sa) {
    checks.push(impersonate('serviceaccounts', { namespace: sa[1]!, name: sa[2]! }));
    user = groups.length
      ? { username, groups: [] }
      : {
          ...serviceAccountUser(sa[1]!, sa[2]!),
          groups: serviceAccountUser(sa[1]!, sa[2]!).groups.filter((g) => g !== AUTHENTICATED_GROUP),
        };
  } else {
    checks.push(impersonate('users', { name: username }));
    user = { username, groups: [] };
  }
  for (const g of groups) {
    checks.push(impersonate('groups', { name: g }));
    user.groups.push(g);
  }
  if (uid !== undefined) {
    checks.push(impersonate('uids', { name: uid, apiGroup: 'authentication.k8s.io' }));
    user.uid = uid;
  }
  for (const key of extraKeys) {
    const extraKey = decodeURIComponent(key.slice(EXTRA_PREFIX.length)).toLowerCase();
    for (const value of headerValues(headers, key)) {
      checks.push(impersonate('userextras', { subresource: extraKey, name: value, apiGroup: 'authentication.k8s.io' }));
      ((user.extra ??= {})[extraKey] ??= []).push(value);
    }
  }
  for (const attrs of checks) {
    const { allowed, reason } = rbac.authorize(requester, attrs);
    if (!allowed) throw forbidden(requester, attrs, reason);
  }
  if (username !== 'system:anonymous' && !user.groups.includes(AUTHENTICATED_GROUP)) user.groups.push(AUTHENTICATED_GROUP);
  return user;
}
