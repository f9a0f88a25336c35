/**
 * Which one route of several a router changes, fixed once for a whole run: its `name`, or for an
 * unnamed route the destinations it holds (and its match conditions, to tell apart two unnamed
 * routes holding the same destinations). A position is never an identity: Istio evaluates
 * VirtualService HTTP routes in order and the first match wins, so people insert routes in
 * front (a header-matched debug route), which shifts every index after it. The Gateway API ranks
 * HTTPRoute rules by how specific their matches are, falling back to list order; `name` on a rule
 * is optional (GEP-995), as it is on an Istio HTTP route.
 *
 * The identity is recorded in the journal with the RouterSpec, so every later write of the run,
 * its switch-back, its post step and the rollback action find the same route.
 */

/** A route as recorded: by name, or (unnamed) by its destinations and match conditions. */
import { canonicalJson } from '../../canonical-json.js';

export type RoutePin = { name: string } | { destinations: string[]; match?: unknown };

/** What a router knows of one of its object's routes, to identify it. */
export interface RouteView {
  name?: string;
  /** The destinations (hosts, subsets or backendRef names) it holds, as the router keys them. */
  destinations: string[];
  /** Its match conditions (Istio `match`, Gateway API `matches`), if any. */
  match?: unknown;
}

/** The identity of a route: its name if it has one, else its destinations and match. */
export function pinOf(route: RouteView): RoutePin {
  if (route.name) return { name: route.name };
  return { destinations: [...route.destinations].sort(), ...(route.match === undefined ? {} : { match: route.match }) };
}

/** `"primary"`, or `the unnamed route to a and b (match [...])`, for messages. */
export function describePin(pin: RoutePin): string {
  if ('name' in pin) return `"${pin.name}"`;
  return `the unnamed route to ${pin.destinations.join(' and ')}${pin.match === undefined ? '' : ` with match ${canonical(pin.match)}`}`;
}

/**
 * The index of the route `pin` identifies among `routes`, or a sentence saying why there is none
 * (gone, or ambiguous). An unnamed pin matches the unnamed routes holding the same destinations;
 * when several do, the match conditions decide.
 */
export function findPinned(routes: RouteView[], pin: RoutePin): number | string {
  if ('name' in pin) {
    const named = routes.flatMap((r, i) => (r.name === pin.name ? [i] : []));
    if (named.length === 1) return named[0]!;
    return named.length === 0
      ? `no route is named "${pin.name}" any more`
      : `${named.length} routes (#${named.join(', #')}) are named "${pin.name}"`;
  }
  const wanted = canonical(pin.destinations);
  const holding = routes.flatMap((r, i) => (!r.name && canonical([...r.destinations].sort()) === wanted ? [i] : []));
  if (holding.length === 1) return holding[0]!;
  if (holding.length === 0) return `no unnamed route holds exactly ${pin.destinations.join(' and ')} any more`;
  const sameMatch = holding.filter((i) => canonical(routes[i]!.match) === canonical(pin.match));
  if (sameMatch.length === 1) return sameMatch[0]!;
  return `${holding.length} unnamed routes (#${holding.join(', #')}) hold ${pin.destinations.join(' and ')}${sameMatch.length ? ' with the same match' : ', none with the recorded match'}`;
}

/** Each route as `"name"` or `#i`, with its destinations: what is there now, for messages. */
export function listRoutes(routes: RouteView[]): string {
  return routes.map((r, i) => `${r.name ? `"${r.name}"` : `#${i}`} (${r.destinations.join(', ') || 'no destinations'})`).join(', ');
}

/** Match conditions compare equal whatever their key order; an absent one reads `none`. */
function canonical(value: unknown): string {
  return canonicalJson(value) ?? 'none';
}
