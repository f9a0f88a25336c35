/**
 * The two colors, blue and green: each one's router destination and Deployment, which takes all
 * traffic, and weights in color words.
 */
import type { DeploymentName } from '../kube/deployment.js';
import type { Weights } from '../kube/weights.js';

export type Color = 'blue' | 'green';

export const COLORS: readonly Color[] = ['blue', 'green'];

export function otherColor(color: Color): Color {
  return color === 'blue' ? 'green' : 'blue';
}

/** Each color's router destination (host, subset, backendRef or label value) and Deployment. */
export type ColorMap<T> = Readonly<Record<Color, T>>;

export interface Colors {
  destination: ColorMap<string>;
  workload: ColorMap<DeploymentName>;
}

/** The color that takes all traffic, or undefined when the traffic is split (a switch stopped midway). */
export function liveColor(weights: Weights, destination: ColorMap<string>): Color | undefined {
  return COLORS.find((c) => weights[destination[c]] === 100);
}

/** `blue 100%, green 0%`: weights in color words, for people. */
export function describeColorWeights(weights: Weights, destination: ColorMap<string>): string {
  return COLORS.map((c) => `${c} ${weights[destination[c]] ?? '?'}%`).join(', ');
}
