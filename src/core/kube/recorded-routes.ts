/**
 * What the journal recorded about a route, read back: the route identity a re-run of the same run
 * keeps (blue-green), and the rollback's `route-rule`, which undoes the recorded changes on another
 * route. Between the journal (journal.ts) and the routers' factory (routers/factory.ts), so that
 * neither imports the other.
 */
import type { JournalEntry } from './journal.js';
import type { RouterSpec } from './routers/factory.js';
import type { RoutePin } from './routers/route-pin.js';

/**
 * The spec with the route identity an earlier attempt of this run recorded (`entries` are the
 * journal's), so a re-run of the same run id keeps the route it started on: a route inserted in
 * front in between does not move it.
 */
export function withRecordedPin(spec: RouterSpec, entries: readonly JournalEntry[], runId: string, strategy: string): RouterSpec {
  if (spec.type !== 'istio' && spec.type !== 'gateway') return spec;
  const recorded = entries.findLast(
    (e) => e.runId === runId && e.strategy === strategy && e.change.kind === 'traffic' && sameObject(e.change.router, spec),
  );
  const pin = recorded?.change.kind === 'traffic' ? pinOf(recorded.change.router) : undefined;
  return pin ? { ...spec, pin } : spec;
}

/**
 * The rollback's `route-rule`: the recorded Istio or Gateway API traffic changes of `entries`, to
 * be undone on that route (its name or index) instead of the one recorded. Other entries as they are.
 */
export function withRouteRule(entries: JournalEntry[], rule: string | undefined): JournalEntry[] {
  if (rule === undefined) return entries;
  return entries.map((entry) => {
    const { change } = entry;
    if (change.kind !== 'traffic' || (change.router.type !== 'istio' && change.router.type !== 'gateway')) return entry;
    const { pin: _recorded, ...router } = change.router;
    const chosen: RouterSpec = router.type === 'istio' ? { ...router, route: rule } : { ...router, rule };
    return { ...entry, change: { ...change, router: chosen } };
  });
}

function pinOf(spec: RouterSpec): RoutePin | undefined {
  return spec.type === 'istio' || spec.type === 'gateway' ? spec.pin : undefined;
}

function sameObject(a: RouterSpec, b: RouterSpec): boolean {
  if ((a.type !== 'istio' && a.type !== 'gateway') || a.type !== b.type) return false;
  return a.name === b.name && a.namespace === b.namespace && JSON.stringify(a.destinations) === JSON.stringify(b.destinations);
}
