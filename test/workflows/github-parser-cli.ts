/**
 * Runs GitHub's workflow and action parsers (@actions/workflow-parser) over the files named on
 * the command line and prints `{ "<path>": ["error", ...] }` as JSON. A separate process because
 * the parser imports its JSON schemas without import attributes, which tsx loads and Vitest's
 * module runner refuses.
 *
 *   tsx test/workflows/github-parser-cli.ts workflow:.github/workflows/canary.yml action:actions/canary/action.yml
 *   tsx test/workflows/github-parser-cli.ts --stdin   (reads [{ kind, name, content }] as JSON)
 */
import { readFileSync } from 'node:fs';
import { NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { parseAction } from '@actions/workflow-parser/actions/index';

interface Item {
  kind: 'workflow' | 'action';
  name: string;
  content: string;
}

const items: Item[] =
  process.argv[2] === '--stdin'
    ? (JSON.parse(readFileSync(0, 'utf8')) as Item[])
    : process.argv.slice(2).map((arg) => {
        const [kind, name] = arg.split(/:(.*)/s) as ['workflow' | 'action', string];
        return { kind, name, content: readFileSync(name, 'utf8') };
      });

const verdicts: Record<string, string[]> = {};
for (const item of items) {
  const file = { name: item.name, content: item.content };
  const trace = new NoOperationTraceWriter();
  const result = item.kind === 'action' ? parseAction(file, trace) : parseWorkflow(file, trace);
  verdicts[item.name] = result.context.errors.getErrors().map((e) => e.message);
}
process.stdout.write(JSON.stringify(verdicts));
