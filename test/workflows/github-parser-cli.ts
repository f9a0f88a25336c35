/**
 * Runs GitHub's workflow and action parsers (@actions/workflow-parser) over the files named on
 * the command line and prints `{ "<path>": ["error", ...] }` as JSON. A separate process because
 * the parser imports its JSON schemas without import attributes, which tsx loads and Vitest's
 * module runner refuses.
 *
 *   tsx test/workflows/github-parser-cli.ts workflow:.github/workflows/canary.yml action:actions/canary/action.yml
 *   tsx test/workflows/github-parser-cli.ts --stdin   (reads [{ kind, name, content }] as JSON)
 *   tsx test/workflows/github-parser-cli.ts --model   (reads [{ name, content }]; prints each
 *       workflow as GitHub's converter sees it: see workflow-model.ts)
 */
import { readFileSync } from 'node:fs';
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { parseAction } from '@actions/workflow-parser/actions/index';
import { plain, type WorkflowModel } from './workflow-model.js';

interface Item {
  kind: 'workflow' | 'action';
  name: string;
  content: string;
}

if (process.argv[2] === '--model') {
  const items = JSON.parse(readFileSync(0, 'utf8')) as Item[];
  const models: Record<string, WorkflowModel> = {};
  for (const item of items) models[item.name] = await model(item);
  process.stdout.write(JSON.stringify(models));
} else {
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
}

/**
 * The converter's jobs (with `if:` as GitHub runs it: a condition without a status function is
 * wrapped in `success() && (…)`), plus what the converter leaves out (`with:` of steps and calls,
 * permissions), taken from the parsed template of the same file.
 */
async function model(item: Item): Promise<WorkflowModel> {
  const parsed = parseWorkflow({ name: item.name, content: item.content }, new NoOperationTraceWriter());
  const errors = parsed.context.errors.getErrors().map((e) => e.message);
  if (errors.length > 0 || !parsed.value) throw new Error(`${item.name}: ${errors.join('; ')}`);
  const template = await convertWorkflowTemplate(parsed.context, parsed.value);
  const raw = plain(JSON.parse(JSON.stringify(parsed.value))) as any;
  const converted = JSON.parse(JSON.stringify(template)) as any;
  return {
    name: item.name,
    events: converted.events,
    concurrency: raw.concurrency === undefined ? undefined : raw.concurrency,
    permissions: raw.permissions,
    jobs: converted.jobs.map((job: any) => {
      const rawJob = raw.jobs[job.id];
      return {
        id: job.id,
        needs: job.needs ?? [],
        if: plain(job.if).expr,
        environment: rawJob.environment,
        concurrency: rawJob.concurrency,
        permissions: rawJob.permissions,
        outputs: rawJob.outputs,
        env: rawJob.env,
        uses: typeof rawJob.uses === 'string' ? rawJob.uses : undefined,
        with: rawJob.with,
        secrets: rawJob.secrets,
        steps: (job.steps ?? []).map((step: any, i: number) => {
          const rawStep = rawJob.steps[i];
          return {
            id: step.id,
            name: rawStep.name,
            if: plain(step.if).expr,
            uses: step.uses,
            run: rawStep.run,
            with: rawStep.with,
            env: rawStep.env,
            continueOnError: rawStep['continue-on-error'] === true,
          };
        }),
      };
    }),
  };
}
