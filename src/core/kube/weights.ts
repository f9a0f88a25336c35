/**
 * Traffic weights keyed by the router's two destination names (hosts, subsets, backendRef names,
 * selector values, Deployment names, or `stable`/`canary` for Argo Rollouts). Integers 0..100
 * summing to 100: anything else is refused before a request is sent.
 */
export type Weights = Readonly<Record<string, number>>;

/** The two destinations of a router, in the order the caller named them. */
export type Destinations = readonly [string, string];

/** `{ [first]: 100 - toSecond, [second]: toSecond }`: the one way to build weights for a router. */
export function splitWeights(destinations: Destinations, toSecond: number): Weights {
  const [first, second] = destinations;
  return { [first]: 100 - toSecond, [second]: toSecond };
}

/** Throws RangeError unless `weights` has exactly the two destinations, integers 0..100 summing to 100. */
export function checkWeights(weights: Weights, destinations: Destinations, what: string): void {
  const keys = Object.keys(weights);
  const unknown = keys.filter((k) => !destinations.includes(k));
  const missing = destinations.filter((d) => !keys.includes(d));
  if (unknown.length || missing.length) {
    throw new RangeError(
      `${what}: weights must name exactly ${destinations.join(' and ')}${unknown.length ? `; unknown ${unknown.join(', ')}` : ''}${missing.length ? `; missing ${missing.join(', ')}` : ''}`,
    );
  }
  for (const d of destinations) {
    const w = weights[d];
    if (typeof w !== 'number' || !Number.isInteger(w) || w < 0 || w > 100) {
      throw new RangeError(`${what}: weight of ${d} must be a whole number from 0 to 100, got ${String(w)}`);
    }
  }
  const sum = destinations.reduce((s, d) => s + weights[d]!, 0);
  if (sum !== 100) throw new RangeError(`${what}: weights must sum to 100, got ${formatWeights(weights)} = ${sum}`);
}

/** `blue 10%, green 90%` */
export function formatWeights(weights: Weights): string {
  return Object.entries(weights)
    .map(([name, w]) => `${name} ${w}%`)
    .join(', ');
}

export function sameWeights(a: Weights, b: Weights): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => a[k] === b[k]);
}

/**
 * Proportions (e.g. Gateway API weights 1:3) as whole percentages summing to 100 (largest remainder).
 * Returns undefined when every proportion is 0.
 */
export function toPercentages(proportions: readonly number[]): number[] | undefined {
  const total = proportions.reduce((s, p) => s + p, 0);
  if (total <= 0) return undefined;
  const exact = proportions.map((p) => (p * 100) / total);
  const out = exact.map(Math.floor);
  let left = 100 - out.reduce((s, p) => s + p, 0);
  const order = exact.map((e, i) => ({ i, rest: e - Math.floor(e) })).sort((a, b) => b.rest - a.rest);
  for (const { i } of order) {
    if (left <= 0) break;
    out[i]!++;
    left--;
  }
  return out;
}
