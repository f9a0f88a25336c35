/**
 * JSON with every object's keys sorted, so two equal values give the same text whatever their key
 * order: how templates, route matches and recorded configs are compared. With `dropNull`, a null
 * field is left out as if absent (the API server treats them alike in a pod template).
 */
export function canonicalJson(value: unknown, options: { dropNull?: boolean } = {}): string | undefined {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
    const fields = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(fields)
        .sort()
        .filter((k) => !(options.dropNull && fields[k] === null))
        .map((k) => [k, fields[k]]),
    );
  });
}
