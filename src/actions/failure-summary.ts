/** The job summary of a step that failed before its flow had a result (bad input, or an error on the way in). */
import { Markdown } from '../core/notify/markdown.js';

export function failureSummary(title: string, message: string): string {
  return new Markdown().heading(2, `❌ ${title}: failed`).codeBlock('text', message).toString();
}
