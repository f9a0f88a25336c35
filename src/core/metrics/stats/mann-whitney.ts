/**
 * Mann-Whitney U test (Wilcoxon rank-sum) of canary against baseline, with the Hodges–Lehmann
 * estimate of the shift and its confidence interval, as Kayenta's MannWhitney (a port of R's
 * wilcox.test(conf.int = TRUE)) gives them.
 *
 * - U and its p-value use the normal approximation with the tie correction of the variance and
 *   R's continuity correction.
 * - The estimate is the median of all n·m differences canary_i − baseline_j; the interval is
 *   [D(k), D(nm+1−k)], its real confidence 1 − 2·P(U ≤ k−1):
 *   - exact, as R's wilcox.test(exact = TRUE, conf.int = TRUE) when there are no ties and both
 *     sizes are below 50: k = qwilcox(α/2, n, m) from the exact distribution of U, so the
 *     confidence is at least the one asked for. When even k = 1 is not enough (3 against 3:
 *     P(U = 0) = 1/20, so the widest interval is 90%), there is no interval at that confidence
 *     (lower and upper are NaN; R clamps to k = 1 and warns);
 *   - otherwise k = round(nm/2 − z·σ_U) (Lehmann's order-statistic form of the normal
 *     approximation; R finds it by root-finding, the two agree to about one order statistic),
 *     and the confidence reported is the normal approximation of that k's coverage, not the one asked for.
 * - The differences are never materialised: the k-th smallest is found by bisecting on the value
 *   and counting with two pointers over the sorted samples, O((n+m) log n + (n+m)·iterations),
 *   so 10,000 per side costs milliseconds, not 10^8 differences.
 */
import { normalCdf, normalQuantile, twoSidedP } from './normal.js';

export interface MannWhitneyResult {
  /** Sizes: canary, baseline. */
  n: number;
  m: number;
  /** U of the canary sample: how many (canary, baseline) pairs have canary > baseline (ties count 1/2). */
  u: number;
  z: number;
  pValue: number;
  /** Hodges–Lehmann estimate of canary − baseline. */
  estimate: number;
  /** The interval [lower, upper] of canary − baseline; NaN when none reaches the confidence asked for. */
  lower: number;
  upper: number;
  /** The confidence asked for. */
  confidence: number;
  /** The interval's own confidence (what [lower, upper] really covers); see `method`. */
  achieved: number;
  /** How the interval was found: the exact distribution of U, or its normal approximation. */
  method: 'exact' | 'normal';
}

/** R's rule for the exact interval: no ties, and both samples smaller than 50. */
const EXACT_BELOW = 50;

export function mannWhitney(canary: readonly number[], baseline: readonly number[], confidence = 0.95): MannWhitneyResult {
  if (canary.length === 0 || baseline.length === 0) throw new RangeError('mannWhitney needs at least one value on each side');
  if (![...canary, ...baseline].every(Number.isFinite)) throw new RangeError('mannWhitney needs finite values (drop NaN and Inf first)');
  const x = Float64Array.from(canary).sort();
  const y = Float64Array.from(baseline).sort();
  const n = x.length;
  const m = y.length;
  const { rankSumX, tieTerm } = rankSum(x, y);
  const u = rankSumX - (n * (n + 1)) / 2;
  const total = n + m;
  const variance = ((n * m) / 12) * (total + 1 - tieTerm / (total * (total - 1)));
  const sigma = Math.sqrt(Math.max(0, variance));
  const centred = u - (n * m) / 2;
  const z = sigma === 0 ? 0 : (centred - 0.5 * Math.sign(centred)) / sigma;
  const pairs = n * m;
  const kth = (k: number) => kthDifference(x, y, Math.min(pairs, Math.max(1, k)));
  const estimate = pairs % 2 === 1 ? kth((pairs + 1) / 2) : (kth(pairs / 2) + kth(pairs / 2 + 1)) / 2;
  const alpha = 1 - confidence;
  const base = { n, m, u, z, pValue: sigma === 0 ? 1 : twoSidedP(z), estimate, confidence };
  if (tieTerm === 0 && n < EXACT_BELOW && m < EXACT_BELOW) {
    const cdf = exactCdf(n, m);
    // qwilcox(alpha/2, n, m), then R's `if (qu == 0) qu <- 1`: kept only if it still reaches the confidence.
    const k = Math.max(
      1,
      cdf.findIndex((p) => p >= alpha / 2 - 1e-12),
    );
    if (1 - 2 * cdf[k - 1]! < confidence - 1e-9)
      return { ...base, lower: Number.NaN, upper: Number.NaN, achieved: 1 - 2 * cdf[0]!, method: 'exact' };
    return { ...base, lower: kth(k), upper: kth(pairs + 1 - k), achieved: 1 - 2 * cdf[k - 1]!, method: 'exact' };
  }
  const zq = normalQuantile(1 - alpha / 2);
  const k = Math.round(pairs / 2 - zq * sigma);
  const coverage = (at: number) => (sigma === 0 ? 0 : 1 - 2 * normalCdf((at - 0.5 - pairs / 2) / sigma));
  if (k < 1) return { ...base, lower: Number.NaN, upper: Number.NaN, achieved: coverage(1), method: 'normal' };
  return { ...base, lower: kth(k), upper: kth(pairs + 1 - k), achieved: coverage(k), method: 'normal' };
}

/**
 * P(U ≤ u) for u = 0..n·m under the null hypothesis, no ties. The frequencies of U are the
 * coefficients of the Gaussian binomial ∏_{i=1..a} (1 − q^{b+i}) / (1 − q^i) (a ≤ b the two sizes),
 * built factor by factor as SciPy's _MWU.build_u_freqs_array does (Harding 1984): O(a·n·m).
 */
export function exactCdf(n: number, m: number): Float64Array {
  const [a, b] = n <= m ? [n, m] : [m, n];
  const size = n * m;
  const freq = new Float64Array(size + 1);
  freq[0] = 1;
  for (let i = 1; i <= a; i++) {
    for (let j = size; j >= i + b; j--) freq[j]! -= freq[j - i - b]!; // × (1 − q^{b+i})
    for (let j = i; j <= size; j++) freq[j]! += freq[j - i]!; // ÷ (1 − q^i)
  }
  let total = 0;
  for (const f of freq) total += f;
  const cdf = new Float64Array(size + 1);
  let running = 0;
  for (let u = 0; u <= size; u++) cdf[u] = (running += freq[u]!) / total;
  return cdf;
}

/** Sum of the canary's mid-ranks in the pooled sample, and Σ(t³ − t) over groups of ties. */
function rankSum(x: Float64Array, y: Float64Array): { rankSumX: number; tieTerm: number } {
  let i = 0;
  let j = 0;
  let rank = 0;
  let rankSumX = 0;
  let tieTerm = 0;
  while (i < x.length || j < y.length) {
    const value = j >= y.length || (i < x.length && x[i]! <= y[j]!) ? x[i]! : y[j]!;
    let inX = 0;
    let inY = 0;
    for (; i < x.length && x[i] === value; i++) inX++;
    for (; j < y.length && y[j] === value; j++) inY++;
    const t = inX + inY;
    const midRank = rank + (t + 1) / 2;
    rankSumX += inX * midRank;
    tieTerm += t * t * t - t;
    rank += t;
  }
  return { rankSumX, tieTerm };
}

/** #{(i, j) : x[i] − y[j] <= t}, both sorted ascending. */
function countAtMost(x: Float64Array, y: Float64Array, t: number): number {
  let count = 0;
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    while (s < y.length && xi - y[s]! > t) s++;
    count += y.length - s;
  }
  return count;
}

/** The smallest difference x[i] − y[j] strictly above t (Infinity if none). */
function smallestAbove(x: Float64Array, y: Float64Array, t: number): number {
  let best = Infinity;
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    while (s < y.length && xi - y[s]! > t) s++;
    if (s > 0) best = Math.min(best, xi - y[s - 1]!);
  }
  return best;
}

/** The k-th smallest (1-based) of the n·m differences x[i] − y[j]. */
export function kthDifference(x: Float64Array, y: Float64Array, k: number): number {
  let lo = x[0]! - y[y.length - 1]!;
  let hi = x[x.length - 1]! - y[0]!;
  if (countAtMost(x, y, lo) >= k) return lo;
  // Invariant: count(lo) < k <= count(hi).
  for (let iteration = 0; iteration < 2000; iteration++) {
    const next = smallestAbove(x, y, lo);
    if (countAtMost(x, y, next) >= k) return next;
    lo = next;
    const mid = lo + (hi - lo) / 2;
    if (mid > lo && mid < hi) {
      if (countAtMost(x, y, mid) >= k) hi = mid;
      else lo = mid;
    }
  }
  return hi;
}
