/**
 * maxSurge / maxUnavailable: int-or-percent values resolved against a replica
 * count with the rounding the Deployment controller uses.
 *
 * Source: kubernetes/kubernetes pkg/controller/deployment/util/deployment_util.go
 * (ResolveFenceposts, MaxSurge, MaxUnavailable) and
 * staging/src/k8s.io/apimachinery/pkg/util/intstr (GetScaledValueFromIntOrPercent).
 */

/** An int-or-string: an integer, or a "N%" string. Undefined when malformed. */
export function scaledValue(value: unknown, total: number, roundUp: boolean): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = /^(\d+)%$/.exec(value);
  if (!m) return undefined;
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/**
 * ResolveFenceposts: surge rounds up, unavailable rounds down; if both come to
 * 0 (possible with percentages of a small count), unavailable becomes 1.
 */
export function resolveFenceposts(maxSurge: unknown, maxUnavailable: unknown, desired: number): { surge: number; unavailable: number } {
  const surge = scaledValue(maxSurge ?? '25%', desired, true) ?? 0;
  let unavailable = scaledValue(maxUnavailable ?? '25%', desired, false) ?? 0;
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

export function isRollingUpdate(d: any): boolean {
  return (d.spec?.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
}

/** MaxSurge(d): 0 unless RollingUpdate. */
export function maxSurge(d: any): number {
  if (!isRollingUpdate(d)) return 0;
  const ru = d.spec?.strategy?.rollingUpdate ?? {};
  return resolveFenceposts(ru.maxSurge, ru.maxUnavailable, d.spec?.replicas ?? 1).surge;
}

/** MaxUnavailable(d): 0 unless RollingUpdate or with 0 replicas; never more than the replicas. */
export function maxUnavailable(d: any): number {
  const replicas = d.spec?.replicas ?? 1;
  if (!isRollingUpdate(d) || replicas === 0) return 0;
  const ru = d.spec?.strategy?.rollingUpdate ?? {};
  return Math.min(replicas, resolveFenceposts(ru.maxSurge, ru.maxUnavailable, replicas).unavailable);
}
