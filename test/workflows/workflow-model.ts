/**
 * A workflow as GitHub's parser and converter see it, in plain JSON, so that Vitest can
 * evaluate it (the parser itself only loads outside Vitest: see github-parser-cli.ts).
 * A value is a literal, an array, an object, or `{ expr }`: an expression GitHub evaluates
 * (a string with `${{ }}` inside becomes one `format(…)` expression, as GitHub does).
 */
export type Value = string | number | boolean | null | { expr: string } | Value[] | { [key: string]: Value };

export interface StepModel {
  id: string;
  name?: Value;
  /** The condition as GitHub runs it (status function added when missing). */
  if: string;
  uses?: string;
  run?: Value;
  with?: Record<string, Value>;
  env?: Record<string, Value>;
  continueOnError: boolean;
}

export interface JobModel {
  id: string;
  needs: string[];
  if: string;
  environment?: Value;
  concurrency?: Value;
  permissions?: Value;
  outputs?: Record<string, Value>;
  env?: Record<string, Value>;
  /** A call of a reusable workflow. */
  uses?: string;
  with?: Record<string, Value>;
  secrets?: Value;
  steps: StepModel[];
}

export interface InputDef {
  type: 'string' | 'boolean' | 'number' | 'choice' | 'environment';
  required?: boolean;
  default?: string | boolean | number;
  options?: string[];
  description?: string;
}

export interface WorkflowModel {
  name: string;
  events: {
    workflow_call?: { inputs?: Record<string, InputDef>; secrets?: Record<string, { required?: boolean }>; outputs?: unknown };
    workflow_dispatch?: { inputs?: Record<string, InputDef> };
    [event: string]: unknown;
  };
  concurrency?: Value;
  permissions?: Value;
  jobs: JobModel[];
}

/** The parser's serialised tokens (`{ type, expr }`, `{ type, map }`, `{ type, seq }`) as plain values. */
export function plain(token: any): any {
  if (token === null || typeof token !== 'object') return token;
  if (Array.isArray(token)) return token.map(plain);
  if (typeof token.expr === 'string') return { expr: token.expr };
  if (Array.isArray(token.map)) {
    const out: Record<string, unknown> = {};
    for (const pair of token.map) out[typeof pair.Key === 'string' ? pair.Key : String(plain(pair.Key))] = plain(pair.Value);
    return out;
  }
  if (Array.isArray(token.seq)) return token.seq.map(plain);
  if ('lit' in token) return token.lit;
  return token;
}
