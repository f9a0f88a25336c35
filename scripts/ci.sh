#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine, then typechecks, checks
# that the committed bundles match the sources, and runs every test.
# This is the one command README.md names; .ci/run runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

need_apt=()
command -v prometheus >/dev/null && command -v promtool >/dev/null || need_apt+=(prometheus)
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || need_apt+=(postgresql)
command -v psql >/dev/null || need_apt+=(postgresql-client)
command -v kubectl >/dev/null || need_apt+=(kubernetes-client)
# shellcheck source=scripts/hold-services.sh
. scripts/hold-services.sh
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The tests start their own servers on 127.0.0.1: packaged services must not start. An existing
  # /usr/sbin/policy-rc.d is kept and put back (see hold-services.sh); no process is ever killed.
  hold_services apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

log "versions"
node --version
kubectl version --client 2>/dev/null | head -1
prometheus --version 2>&1 | head -1
for pg in /usr/lib/postgresql/*/bin/postgres; do "$pg" --version; done

log "npm ci"
npm ci --no-audit --no-fund

log "node24, the runtime GitHub runs our bundles on (for the tests that run them there)"
npm run setup:node24

log "node22, the oldest Node package.json engines admits (the packed command line is tested on it)"
npm run setup:node22

log "typecheck"
npm run typecheck

log "lint and formatting (Biome, biome.json; npm run format rewrites the files)"
npm run lint

log "bundles match the sources"
npm run build -- --check

log "tests"
rm -f .tmp/vitest-results.json
status=0
npm test || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(".tmp/vitest-results.json", "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`Tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' || echo "Tests: 0 passed, 1 failed"
exit $status
