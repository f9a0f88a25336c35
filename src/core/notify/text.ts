/** Text helpers shared by the Slack and Markdown renderers. */

export const ELLIPSIS = '…';

/**
 * Cut `text` to at most `max` characters (UTF-16 code units, as Slack counts them), ending
 * with an ellipsis when cut. Never splits a surrogate pair.
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  let cut = max - ELLIPSIS.length;
  if (cut > 0 && isHighSurrogate(text.charCodeAt(cut - 1))) cut--;
  return text.slice(0, Math.max(0, cut)) + ELLIPSIS;
}

/** Bytes of `text` in UTF-8. */
export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** The longest prefix of `text` that fits in `maxBytes` of UTF-8, cut at a character boundary. */
export function utf8Prefix(text: string, maxBytes: number): string {
  if (utf8Bytes(text) <= maxBytes) return text;
  const buffer = Buffer.from(text, 'utf8').subarray(0, Math.max(0, maxBytes));
  // A cut inside a multi-byte sequence decodes to U+FFFD at the end: drop it.
  return buffer.toString('utf8').replace(/\uFFFD+$/, '');
}

/** http(s) URLs only: anything else is not linked. */
export function isWebUrl(value: string | undefined): value is string {
  if (!value) return false;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
