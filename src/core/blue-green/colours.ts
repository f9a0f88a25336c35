import type { DeploymentName } from '../kube/deployment.js';
import type { Weights } from '../kube/weights.js';

export type Colour = 'blue' | 'green';

export const COLOURS: readonly Colour[] = ['blue', 'green'];

export function otherColour(colour: Colour): Colour {
  return colour === 'blue' ? 'green' : 'blue';
}

/** Each colour's router destination (host, subset, backendRef or label value) and Deployment. */
export type ColourMap<T> = Readonly<Record<Colour, T>>;

export interface Colours {
  destination: ColourMap<string>;
  workload: ColourMap<DeploymentName>;
}

/** The colour that takes all traffic, or undefined when the traffic is split (a switch stopped midway). */
export function liveColour(weights: Weights, destination: ColourMap<string>): Colour | undefined {
  return COLOURS.find((c) => weights[destination[c]] === 100);
}

/** `blue 100%, green 0%`: weights in colour words, for people. */
export function describeColourWeights(weights: Weights, destination: ColourMap<string>): string {
  return COLOURS.map((c) => `${c} ${weights[destination[c]] ?? '?'}%`).join(', ');
}
