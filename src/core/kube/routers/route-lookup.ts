/**
 * Finding the one route a router changes among its object's routes, written once for the two
 * routers that change one route of several: Istio (an HTTP route of a VirtualService's
 * spec.http) and the Gateway API (a rule of an HTTPRoute's spec.rules). Once the run has fixed
 * the route's identity (route-pin.ts) it is found by that; before, by the name or index given,
 * else the first route holding both destinations.
 */
import { KubeObjectError } from '../errors.js';
import type { ObjectRef } from '../object-ref.js';
import { describePin, findPinned, listRoutes, type RoutePin, type RouteView } from './route-pin.js';

/** How one kind of route list is read and named. */
export interface RouteList {
  ref: ObjectRef;
  /** What one route is called in messages: `HTTP route`, `rule`. */
  noun: string;
  /** The short word for it in advice (`which route to use`): `route`, `rule`. */
  short: string;
  /** Where the list is, for the message when it is empty: `spec.http`, `spec.rules`. */
  path: string;
  /** A route as route-pin sees it. */
  viewOf(route: unknown): RouteView;
  /** Whether a route routes to both destinations (the default choice). */
  holdsBoth(route: unknown): boolean;
}

/** The route found: its index, the route itself and its label for messages (`rule "primary"`, `HTTP route #1`). */
export interface FoundRoute {
  index: number;
  route: any;
  label: string;
}

/**
 * The route `pin` identifies, else the one `wanted` names (its name, or its index), else the first
 * holding both destinations (else the first). Throws KubeObjectError naming what is there when the
 * list is empty or the route cannot be found.
 */
export function lookupRoute(list: RouteList, routes: unknown, wanted: string | number | undefined, pin: RoutePin | undefined): FoundRoute {
  if (!Array.isArray(routes) || routes.length === 0) throw new KubeObjectError(list.ref, `has no ${list.noun}s (${list.path} is empty)`);
  const index = pin ? pinnedIndex(list, routes, pin) : selectedIndex(list, routes, wanted);
  const route = routes[index];
  return { index, route, label: route.name ? `${list.noun} "${route.name}"` : `${list.noun} #${index}` };
}

/** For describe(): `rule "primary"`, `unnamed rule`, `the first rule holding both`, `rule 2`. */
export function describeChoice(noun: string, wanted: string | number | undefined, pin: RoutePin | undefined): string {
  if (pin) return 'name' in pin ? `${noun} ${describePin(pin)}` : `unnamed ${noun}`;
  return wanted === undefined ? `the first ${noun} holding both` : `${noun} ${JSON.stringify(wanted)}`;
}

/** Refuses a route that does not hold exactly two destinations (`what`: `destination`, `backendRef`), listing those it holds. */
export function expectTwo(ref: ObjectRef, label: string, what: string, listed: string[], destinations: readonly string[]): void {
  if (listed.length === 2) return;
  throw new KubeObjectError(
    ref,
    `${label} has ${listed.length} ${what}${listed.length === 1 ? '' : 's'} (${listed.join(', ') || 'none'}); expected exactly two: ${destinations.join(' and ')}`,
  );
}

function selectedIndex(list: RouteList, routes: unknown[], wanted: string | number | undefined): number {
  const named = (r: unknown) => (r as { name?: string } | undefined)?.name;
  if (wanted === undefined)
    return Math.max(
      0,
      routes.findIndex((r) => list.holdsBoth(r)),
    );
  const index =
    typeof wanted === 'number'
      ? wanted
      : /^\d+$/.test(wanted) && !routes.some((r) => named(r) === wanted)
        ? Number(wanted)
        : routes.findIndex((r) => named(r) === wanted);
  if (index < 0 || !routes[index]) {
    const names = routes.map((r, i) => (named(r) ? `"${named(r)}"` : `#${i}`)).join(', ');
    throw new KubeObjectError(list.ref, `has no ${list.noun} ${JSON.stringify(wanted)}; its ${list.short}s are ${names}`);
  }
  return index;
}

function pinnedIndex(list: RouteList, routes: unknown[], pin: RoutePin): number {
  const views = routes.map((r) => list.viewOf(r));
  const found = findPinned(views, pin);
  if (typeof found === 'number') return found;
  throw new KubeObjectError(
    list.ref,
    `the ${list.noun} recorded at the start of the run, ${describePin(pin)}, cannot be found: ${found}. Its ${list.noun}s now are ${listRoutes(views)}. ` +
      `Give route-rule (the ${list.short}'s name or index) to say which ${list.short} to use`,
  );
}
