/**
 * How a job summary tells a person to roll back: the rollback action of the same release as the
 * action that wrote it, as a workflow step to paste.
 */

/** The rollback action of the same release as this one (the runner says which: GITHUB_ACTION_REPOSITORY and _REF). */
export function rollbackActionOf(env: NodeJS.ProcessEnv): string {
  const repository = env.GITHUB_ACTION_REPOSITORY;
  return repository ? `${repository}/actions/rollback@${env.GITHUB_ACTION_REF || 'main'}` : '<owner>/<repo>/actions/rollback@<version>';
}

/** The step that runs `action` (see rollbackActionOf) on the service, as YAML. */
export function rollbackStepYaml(o: { action: string; namespace: string; service: string; mode: string }): string {
  return [
    `- uses: ${o.action}`,
    '  with:',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression ${{ }}, not a template
    '    kubeconfig: ${{ secrets.KUBECONFIG }}',
    `    namespace: ${o.namespace}`,
    `    service: ${o.service}`,
    `    mode: ${o.mode}`,
  ].join('\n');
}
