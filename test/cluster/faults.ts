/**
 * Fault injection: rules that make matching requests fail, slow down or drop.
 */

export interface FaultRule {
  /** HTTP method to match (case-insensitive); any when omitted. */
  method?: string;
  /** A string matches the request path exactly or as a path-segment prefix ("/api/v1/pods" matches "/api/v1/pods/x"); a RegExp is tested against path + query. */
  path?: string | RegExp;
  /** Answer with this status code and a proper Status object. */
  status?: number;
  /** Adds `Retry-After` (and details.retryAfterSeconds) to the faulted answer. */
  retryAfterSeconds?: number;
  /** Wait this long before answering (alone: the request is then served normally). */
  delayMs?: number;
  /** Destroy the socket without answering. */
  drop?: boolean;
  /** How many matching requests this rule hits; unlimited when omitted. */
  times?: number;
  /** Chance (0..1) that a matching request is hit, drawn from the injector's seeded RNG. */
  probability?: number;
}

export interface FaultDecision {
  rule: FaultRule;
  id: number;
}

/** mulberry32: a small, seedable PRNG so probabilistic faults are deterministic in tests. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultInjector {
  private readonly rules = new Map<number, { rule: FaultRule; remaining: number; hits: number }>();
  private nextId = 1;
  private random: () => number;

  constructor(seed = 1) {
    this.random = mulberry32(seed);
  }

  /** Re-seed the RNG used for `probability`. */
  seed(seed: number): void {
    this.random = mulberry32(seed);
  }

  add(rule: FaultRule): number {
    const id = this.nextId++;
    this.rules.set(id, { rule, remaining: rule.times ?? Number.POSITIVE_INFINITY, hits: 0 });
    return id;
  }

  remove(id: number): boolean {
    return this.rules.delete(id);
  }

  clear(): void {
    this.rules.clear();
  }

  /** How many requests the rule has hit so far (0 for unknown ids). */
  hits(id: number): number {
    return this.rules.get(id)?.hits ?? 0;
  }

  /** The first rule that hits this request, consuming one of its `times`. */
  match(method: string, path: string, query: string): FaultDecision | undefined {
    for (const [id, entry] of this.rules) {
      const { rule } = entry;
      if (entry.remaining <= 0) continue;
      if (rule.method && rule.method.toUpperCase() !== method.toUpperCase()) continue;
      if (rule.path !== undefined && !pathMatches(rule.path, path, query)) continue;
      if (rule.probability !== undefined && this.random() >= rule.probability) continue;
      entry.remaining--;
      entry.hits++;
      return { rule, id };
    }
    return undefined;
  }
}

function pathMatches(pattern: string | RegExp, path: string, query: string): boolean {
  if (pattern instanceof RegExp) {
    pattern.lastIndex = 0;
    return pattern.test(query ? `${path}?${query}` : path);
  }
  const p = pattern.endsWith('/') && pattern.length > 1 ? pattern.slice(0, -1) : pattern;
  return path === p || path.startsWith(`${p}/`);
}
